import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Context } from 'koa';
import rangeParser from 'range-parser';
import type { AudioStorage, RangeReader, StoredFile } from './storage.ts';

/**
 * Reads for the stream-free path: one read of up to 256 KiB per chunk into a buffer taken from a
 * small free list and given back once the socket has taken the bytes. A typical player range
 * (≤ 256 KiB) is then one read and one write, where a file stream made four reads, four `data`
 * events and four writes (docs/decisions.md § Audio; docs/performance.md).
 */
const CHUNK = 256 * 1024;
const FREE_MAX = 64;
const free: Buffer[] = [];
const takeBuffer = () => free.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const giveBuffer = (b: Buffer) => {
  if (free.length < FREE_MAX) free.push(b);
};

/**
 * Writes `length` bytes from `position` to `res` with positional reads; ends the response. A buffer
 * goes back to the free list only once `res.write`'s callback says the socket took its bytes; if the
 * client goes away first, the buffer is left to the garbage collector. Resolves when done or when the
 * client went away; rejects on a read error (the response is then destroyed).
 */
async function sendRange(res: ServerResponse, reader: RangeReader, position: number, length: number): Promise<void> {
  let left = length;
  let at = position;
  try {
    while (left > 0 && !res.destroyed) {
      const buffer = takeBuffer();
      let n: number;
      try {
        n = await reader.read(buffer, Math.min(CHUNK, left), at);
        if (n === 0) throw Object.assign(new Error('file shorter than its recorded size'), { code: 'ESHORT' });
      } catch (err) {
        giveBuffer(buffer);
        throw err;
      }
      left -= n;
      at += n;
      const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
      const taken = await new Promise<boolean>((resolve) => {
        let settled = false;
        const settle = (ok: boolean) => {
          if (settled) return;
          settled = true;
          res.off('close', gone);
          resolve(ok);
        };
        const gone = () => settle(false);
        res.once('close', gone);
        const done = (err?: Error | null) => settle(!err);
        if (left === 0) res.end(chunk, done);
        else res.write(chunk, done);
      });
      if (!taken) return;
      giveBuffer(buffer);
    }
  } catch (err) {
    res.destroy(err as Error);
    throw err;
  } finally {
    reader.close();
  }
}

/**
 * Pipes a storage stream to the response without `stream.pipeline`, which makes an AbortController
 * per call and aborts it at the end (a DOMException with its stack for every response: ~2 % of the
 * proxy's CPU in a profile). A failing stream destroys the response; a client gone destroys the stream.
 */
function sendStream(res: ServerResponse, stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    const failed = (err: Error) => {
      res.destroy(err);
      resolve();
    };
    // kept after the end: an error of a stream destroyed meanwhile must not go unhandled
    stream.on('error', failed);
    res.once('close', () => {
      if (!stream.destroyed) stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

export interface ServeOptions {
  storage: AudioStorage;
  file: StoredFile;
  contentType: string;
  /** `inline` or `attachment` with a filename. */
  disposition?: string;
  cacheControl?: string;
  /** Called when bytes are about to be sent (not for HEAD, 304 or 416): from which offset, how many, of what size. */
  onPlay?: (sent: { start: number; length: number; size: number }) => void;
}

/** A strong validator: renditions are immutable once renamed in, so size + mtime identify the bytes. */
export function etagOf(file: StoredFile): string {
  return `"${file.size.toString(16)}-${Math.floor(file.mtime.getTime()).toString(16)}"`;
}

const lastModified = (file: StoredFile) => new Date(Math.floor(file.mtime.getTime() / 1000) * 1000);

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  // If-None-Match uses the weak comparison: W/"x" matches "x"
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Serves one file with byte ranges: `Accept-Ranges`, strong `ETag`, `Last-Modified`,
 * `If-None-Match`/`If-Modified-Since` (304), `If-Range`, single ranges (206, opened at the offset),
 * unsatisfiable ranges (416 + `Content-Range: bytes *\/size`). Multiple ranges are answered with the
 * whole file (allowed by RFC 9110). Writes the response itself (`ctx.respond = false`).
 */
export async function serveFile(ctx: Context, o: ServeOptions): Promise<void> {
  const { file } = o;
  const etag = etagOf(file);
  const modified = lastModified(file);
  const res = ctx.res;
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': modified.toUTCString(),
    'Cache-Control': o.cacheControl ?? 'public, max-age=604800, immutable',
    'Content-Type': o.contentType,
    ...(o.disposition ? { 'Content-Disposition': o.disposition } : {}),
  };

  const inm = ctx.get('if-none-match');
  const ims = ctx.get('if-modified-since');
  const notModified = inm ? etagMatches(inm, etag) : ims ? !Number.isNaN(Date.parse(ims)) && modified.getTime() <= Date.parse(ims) : false;
  if (notModified) {
    ctx.status = 304;
    ctx.respond = false;
    res.writeHead(304, { ETag: etag, 'Last-Modified': headers['Last-Modified'] as string, 'Cache-Control': headers['Cache-Control'] as string, 'Accept-Ranges': 'bytes' });
    res.end();
    return;
  }

  let range: { start: number; end: number } | undefined;
  const rangeHeader = ctx.get('range');
  if (rangeHeader) {
    const ifRange = ctx.get('if-range');
    let useRange = true;
    if (ifRange) {
      // a strong ETag must match exactly; a date must equal Last-Modified
      if (ifRange.startsWith('"') || ifRange.startsWith('W/')) useRange = ifRange === etag;
      else useRange = !Number.isNaN(Date.parse(ifRange)) && Date.parse(ifRange) === modified.getTime();
    }
    if (useRange) {
      // RFC 9110 § 14.1.2: a suffix longer than the file selects the whole file (range-parser 1.3 says -1)
      const suffix = /^bytes=\s*-(\d+)\s*$/.exec(rangeHeader);
      const header = suffix && Number(suffix[1]) >= file.size && Number(suffix[1]) > 0 && file.size > 0 ? 'bytes=0-' : rangeHeader;
      const parsed = rangeParser(file.size, header, { combine: true });
      if (parsed === -1) {
        ctx.status = 416;
        ctx.respond = false;
        res.writeHead(416, { 'Content-Range': `bytes */${file.size}`, 'Accept-Ranges': 'bytes', ETag: etag, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (Array.isArray(parsed) && parsed.type === 'bytes' && parsed.length === 1) range = { start: parsed[0]!.start, end: parsed[0]!.end };
      // -2 (malformed), another unit or several ranges: the whole file
    }
  }

  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : file.size;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${file.size}`;
  headers['Content-Length'] = length;
  if (ctx.method === 'HEAD' || length === 0) {
    ctx.status = status;
    ctx.respond = false;
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const start = range ? range.start : 0;
  // open (or load) first: a file that vanished is still answered through Koa (the caller turns ENOENT into a 404)
  if (o.storage.load && length <= (o.storage.loadMaxBytes ?? 0)) {
    const chunks = await o.storage.load(file.key, { start, end: start + length - 1 }, file);
    const got = chunks.reduce((n, c) => n + c.length, 0);
    if (got !== length) throw Object.assign(new Error(`${file.key}: read ${got} of ${length} bytes`), { code: 'ESHORT' });
    ctx.status = status;
    ctx.respond = false;
    res.writeHead(status, headers);
    o.onPlay?.({ start, length, size: file.size });
    // corked: the headers and every chunk leave in one writev
    res.cork();
    for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]);
    res.end(chunks[chunks.length - 1]);
    res.uncork();
    return;
  }
  if (o.storage.reader) {
    const reader = await o.storage.reader(file.key, file);
    ctx.status = status;
    ctx.respond = false;
    res.writeHead(status, headers);
    o.onPlay?.({ start, length, size: file.size });
    try {
      await sendRange(res, reader, start, length);
    } catch {
      // a read failed mid-body: the response was destroyed, which is all a client can be told then
    }
    return;
  }
  const stream = await o.storage.open(file.key, range ?? { start: 0, end: file.size - 1 }, file);
  ctx.status = status;
  ctx.respond = false;
  res.writeHead(status, headers);
  o.onPlay?.({ start, length, size: file.size });
  await sendStream(res, stream);
}

/** RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name in `filename*`. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A file name from a debate title: letters (accents kept), digits, spaces → dashes; no path characters. */
export function safeFileName(title: string, id: number, ext: string): string {
  const base = title
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120)
    .replace(/-+$/, '');
  return `${base || `debat-${id}`}.${ext}`;
}
