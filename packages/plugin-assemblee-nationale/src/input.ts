import { createReadStream } from 'node:fs';
import { open as openFile, lstat, readdir, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { basename, join, relative, sep } from 'node:path';
import yauzl from 'yauzl';
import { RECORD_KINDS, type RecordKind } from './model.ts';
import { jsonElements } from './stream-json.ts';
import { isRecord } from './text.ts';

/** One record read from the input, or a file that could not be used. */
export type InputItem =
  | { type: 'record'; kind: RecordKind; raw: unknown; file: string }
  | { type: 'problem'; kind: string; uid: string; file: string; reason: string };

export interface InputReader {
  /** Files (or zip entries) to read, for progress. */
  readonly total: number;
  items(signal?: AbortSignal): AsyncGenerator<InputItem>;
  close(): Promise<void>;
}

/** Thrown when the input itself cannot be read (missing, not a dataset, broken zip). */
export class InputError extends Error {
  override name = 'InputError';
}

const KIND_RANK: Record<RecordKind, number> = { organe: 0, acteur: 1, reunion: 2 };

/** Guesses a file's kind from its path (`json/organe/PO….json`, `PA….json`…) for ordering and for naming problems. */
export function kindOfPath(path: string): RecordKind | undefined {
  const parts = path.split(/[\\/]/).map((p) => p.toLowerCase());
  for (const kind of RECORD_KINDS) if (parts.slice(0, -1).some((p) => p === kind || p === `${kind}s`)) return kind;
  const name = parts.at(-1) ?? '';
  if (/^po\d/.test(name)) return 'organe';
  if (/^pa\d/.test(name)) return 'acteur';
  if (/^ru[a-z]/.test(name)) return 'reunion';
  return undefined;
}

function rank(path: string): number {
  const kind = kindOfPath(path);
  return kind === undefined ? 3 : KIND_RANK[kind];
}

function uidOfPath(path: string): string {
  const name = basename(path).replace(/\.json$/i, '');
  return /^[A-Za-z0-9_-]{2,128}$/.test(name) ? name : path;
}

/**
 * The records in one parsed JSON document: `{organe}`, `{acteur}`, `{reunion}` (one record per file,
 * as in the AN zips), or an aggregated export (`{export: {organes: {organe: […]}, acteurs: …}}`,
 * `{reunions: {reunion: […]}}`), in the order organes → acteurs → réunions.
 */
export function* recordsOf(doc: unknown, file: string): Generator<InputItem> {
  if (!isRecord(doc)) {
    yield { type: 'problem', kind: kindOfPath(file) ?? 'file', uid: uidOfPath(file), file, reason: 'not a JSON object' };
    return;
  }
  let found = false;
  for (const kind of RECORD_KINDS) {
    if (kind in doc) {
      found = true;
      yield { type: 'record', kind, raw: doc[kind], file };
    }
  }
  if (found) return;
  const root = isRecord(doc.export) ? doc.export : doc;
  for (const kind of RECORD_KINDS) {
    const group = root[`${kind}s`];
    if (!isRecord(group)) continue;
    const list = group[kind];
    for (const raw of Array.isArray(list) ? list : list === undefined || list === null ? [] : [list]) {
      found = true;
      yield { type: 'record', kind, raw, file };
    }
  }
  if (!found) yield { type: 'problem', kind: kindOfPath(file) ?? 'file', uid: uidOfPath(file), file, reason: 'not an AN record: expected a top-level "organe", "acteur" or "reunion" (or an export of them)' };
}

function* parse(text: string, file: string): Generator<InputItem> {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    yield { type: 'problem', kind: kindOfPath(file) ?? 'file', uid: uidOfPath(file), file, reason: `invalid JSON: ${(err as Error).message}` };
    return;
  }
  yield* recordsOf(doc, file);
}

function uidInText(text: string): string | undefined {
  return /"uid"\s*:\s*(?:\{[^}]*?"#text"\s*:\s*)?"([A-Za-z0-9_-]{2,128})"/.exec(text)?.[1];
}

/**
 * A large document read as a stream, once per record kind (organes, then acteurs, then réunions),
 * so that memory holds one record at a time whatever the size of the file.
 */
async function* streamed(open: () => AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>, file: string, maxRecordBytes: number): AsyncGenerator<InputItem> {
  let found = 0;
  for (const kind of RECORD_KINDS) {
    for await (const el of jsonElements(await open(), kind, maxRecordBytes)) {
      if (el.type === 'error') {
        if (kind === RECORD_KINDS[0] || !/truncated/.test(el.reason)) yield { type: 'problem', kind, uid: uidOfPath(file), file, reason: el.reason };
        continue;
      }
      found++;
      let raw: unknown;
      try {
        raw = JSON.parse(el.text);
      } catch (err) {
        yield { type: 'problem', kind, uid: uidInText(el.text) ?? `${uidOfPath(file)}#${kind}[${el.index}]`, file, reason: `invalid JSON: ${(err as Error).message}` };
        continue;
      }
      yield { type: 'record', kind, raw, file };
    }
  }
  if (found === 0) yield { type: 'problem', kind: kindOfPath(file) ?? 'file', uid: uidOfPath(file), file, reason: 'not an AN record: no "organe", "acteur" or "reunion" object found' };
}

async function isZip(path: string): Promise<boolean> {
  const handle = await openFile(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.readUInt32LE(0) === 0x04034b50;
  } finally {
    await handle.close();
  }
}

async function walk(root: string, dir: string, out: string[], depth: number): Promise<void> {
  if (depth > 8) return;
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(root, full, out, depth + 1);
    else if (e.isFile() && /\.json$/i.test(e.name)) out.push(full); // symbolic links are not followed
  }
}

function folderReader(root: string, maxFileBytes: number, streamThresholdBytes: number): InputReader & { files: string[] } {
  const files: string[] = [];
  return {
    files,
    get total() {
      return files.length;
    },
    async *items(signal) {
      for (const file of files) {
        signal?.throwIfAborted();
        const name = relative(root, file).split(sep).join('/') || basename(file);
        const info = await lstat(file);
        if (info.size > Math.min(streamThresholdBytes, maxFileBytes)) yield* streamed(() => createReadStream(file, { highWaterMark: 1024 * 1024 }), name, maxFileBytes);
        else yield* parse(await readFile(file, 'utf8'), name);
      }
    },
    async close() {},
  };
}

type ZipFile = yauzl.ZipFile;
type Entry = yauzl.Entry;

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => (err || !zip ? reject(err ?? new Error('cannot open zip')) : resolve(zip))));
}

function listEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      if (!entry.fileName.endsWith('/') && /\.json$/i.test(entry.fileName)) entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function entryStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err ?? new Error('cannot read entry')) : resolve(stream))));
}

function readEntry(zip: ZipFile, entry: Entry, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('cannot read entry'));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          stream.destroy(new Error(`entry larger than the ${maxBytes} bytes accepted`));
          return;
        }
        chunks.push(chunk);
      });
      stream.once('error', reject);
      stream.once('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

async function zipReader(path: string, maxFileBytes: number, streamThresholdBytes: number): Promise<InputReader> {
  let zip: ZipFile;
  let entries: Entry[];
  try {
    zip = await openZip(path);
    entries = await listEntries(zip);
  } catch (err) {
    throw new InputError(`cannot read the zip ${basename(path)}: ${(err as Error).message}`);
  }
  // the central directory lists every entry first: read organes, then acteurs, then réunions, one entry at a time
  entries.sort((a, b) => rank(a.fileName) - rank(b.fileName) || a.fileName.localeCompare(b.fileName));
  return {
    total: entries.length,
    async *items(signal) {
      for (const entry of entries) {
        signal?.throwIfAborted();
        const name = entry.fileName;
        if (entry.uncompressedSize > Math.min(streamThresholdBytes, maxFileBytes)) {
          // a whole dataset in one entry: read it as a stream, once per record kind
          try {
            yield* streamed(() => entryStream(zip, entry), name, maxFileBytes);
          } catch (err) {
            yield { type: 'problem', kind: kindOfPath(name) ?? 'file', uid: uidOfPath(name), file: name, reason: `cannot read the entry: ${(err as Error).message}` };
          }
          continue;
        }
        let buf: Buffer;
        try {
          buf = await readEntry(zip, entry, maxFileBytes);
        } catch (err) {
          yield { type: 'problem', kind: kindOfPath(name) ?? 'file', uid: uidOfPath(name), file: name, reason: `cannot read the entry: ${(err as Error).message}` };
          continue;
        }
        yield* parse(buf.toString('utf8'), name);
      }
    },
    async close() {
      zip.close();
    },
  };
}

export interface InputLimits {
  /** Largest record (streamed documents) or file parsed whole. */
  maxFileBytes: number;
  /** Files and zip entries larger than this are read as a stream instead of parsed whole. */
  streamThresholdBytes: number;
}

/** Opens a local folder, JSON file or zip of the AN open data. */
export async function openInput(path: string, limits: InputLimits): Promise<InputReader> {
  const { maxFileBytes, streamThresholdBytes } = limits;
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`);
  }
  if (info.isSymbolicLink()) {
    const { stat } = await import('node:fs/promises');
    info = await stat(path);
  }
  if (info.isDirectory()) {
    const reader = folderReader(path, maxFileBytes, streamThresholdBytes);
    await walk(path, path, reader.files, 0);
    reader.files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    if (reader.files.length === 0) throw new InputError(`no .json file under ${path}`);
    return reader;
  }
  if (!info.isFile()) throw new InputError(`${path} is neither a file nor a folder`);
  if (await isZip(path)) return zipReader(path, maxFileBytes, streamThresholdBytes);
  const name = basename(path);
  const handle = await openFile(path, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buf, 0, 64, 0);
    head = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const first = head.replace(/^\ufeff/, '').trimStart()[0];
  if (first !== '{' && first !== '[') throw new InputError(`${path} is neither a zip nor a JSON file`);
  const big = info.size > Math.min(streamThresholdBytes, maxFileBytes);
  return {
    total: 1,
    async *items() {
      if (big) yield* streamed(() => createReadStream(path, { highWaterMark: 1024 * 1024 }), name, maxFileBytes);
      else yield* parse(await readFile(path, 'utf8'), name);
    },
    async close() {},
  };
}
