import { randomBytes } from 'node:crypto';
import { close, createReadStream, fstat, open as openFd, read as readFd } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredFile {
  key: string;
  size: number;
  mtime: Date;
  /** The server's own validator where there is one (S3's ETag): reads check it. */
  etag?: string;
  /** SHA-256 (hex) of the bytes, when the storage computed it on the way in (S3 `put`). */
  sha256?: string;
}

export interface UrlOptions {
  /** The Content-Disposition the storage server is to answer with (downloads). */
  disposition?: string;
  contentType?: string;
  /** Life of a presigned URL; also forces one where a public base URL would do (FFmpeg inputs). */
  ttlSeconds?: number;
}

/** A multipart upload that never completed (a process killed mid-upload), as `abortStaleUploads` found it. */
export interface StaleUpload {
  /** The rendition key (without the storage's prefix). */
  key: string;
  uploadId: string;
  initiated: Date;
  /** What its parts hold on the server (ListParts). */
  bytes: number;
}

export interface StaleUploadReport {
  /** False when the server cannot list uploads (ListMultipartUploads not implemented): nothing was checked. */
  supported: boolean;
  /** Aborted (or, in a dry run, that would be). */
  uploads: StaleUpload[];
  detail?: string;
}

/**
 * Where renditions live. Keys are built by the plugin from a debate id and a rendition
 * (`42/mp3-128k.mp3`), never from user input; implementations still refuse anything else.
 */
export interface AudioStorage {
  readonly kind: string;
  /** A local path where a producer (FFmpeg) may write a file that `put` then moves in. */
  tempPath(key: string): Promise<string>;
  /** Moves a complete file in under `key` (atomically for the local filesystem: rename). */
  put(key: string, fromPath: string): Promise<StoredFile>;
  /**
   * A stream of the bytes `start`..`end` (inclusive), read from `start`. With `expected`, the
   * bytes are those of that version of the file (same size and mtime), or the stream fails with ENOENT.
   */
  open(key: string, range?: { start: number; end: number }, expected?: StoredFile): Readable | Promise<Readable>;
  /**
   * Optional: positional reads of a stored file, for storages that have them (the local filesystem).
   * The audio route then answers a range with plain reads into reused buffers and socket writes, no
   * stream (see serve.ts). Same `expected` rule as `open`. `close` exactly once.
   */
  reader?(key: string, expected?: StoredFile): Promise<RangeReader>;
  /**
   * Optional: the bytes `range.start`..`range.end` (inclusive) as the buffers they arrived in, once
   * all arrived, for storages where a read is a request (object storage: one GET). The audio route
   * uses it for answers of up to `loadMaxBytes` and writes them corked with the headers: one socket
   * write, no stream (see serve.ts). Same `expected` rule as `open`.
   */
  load?(key: string, range: { start: number; end: number }, expected?: StoredFile): Promise<Buffer[]>;
  /** With `load`: the longest answer read with it; longer ones are streamed with `open`. */
  readonly loadMaxBytes?: number;
  stat(key: string): Promise<StoredFile | undefined>;
  delete(key: string): Promise<boolean>;
  /** Every stored file (temp files included, their key ends in `.tmp`). */
  list(): AsyncIterable<StoredFile>;
  /**
   * Optional: a URL the bytes can be fetched from without Robian (object storage: a presigned GET
   * or a public/CDN URL). The redirect delivery mode answers 302 to it; FFmpeg reads a master from it.
   */
  url?(key: string, o?: UrlOptions): Promise<string>;
  /** Optional: where a key is, for messages and logs (never credentials). */
  describe?(key: string): string;
  /** Optional: the `host:port` origins `url` points to (FFmpeg reaches them through the egress proxy). */
  readonly origins?: string[];
  /**
   * Optional: aborts the multipart uploads under this storage's keys started before `olderThan`
   * (object storage: a killed upload's parts stay on the server, invisible but billed).
   */
  abortStaleUploads?(o: { olderThan: Date; dryRun?: boolean }): Promise<StaleUploadReport>;
  /** Optional: releases sockets / descriptors at stop. */
  close?(): void;
}

/** Positional reads of one stored file (`AudioStorage.reader`). */
export interface RangeReader {
  /** Reads up to `length` bytes at `position` into the start of `buffer`; resolves with the count (0 at the end). */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  close(): void;
}

/**
 * Bytes read per syscall for a response, and what each response may hold in memory. Node's default
 * (64 KiB): 128 and 512 KiB measured no faster with 500 clients and cost ~100 MiB more RSS
 * (docs/performance.md).
 */
const STREAM_CHUNK = 64 * 1024;

interface SharedFd {
  fd: number;
  refs: number;
  size: number;
  mtimeMs: number;
  closing: boolean;
  private?: boolean;
  timer: NodeJS.Timeout | undefined;
}

const KEY = /^\d{1,12}\/[a-z0-9]+-[a-z0-9]+\.[a-z0-9]{2,4}(?:\.[a-z0-9]+\.tmp)?$/;

export function assertKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid storage key "${key}"`);
}

/** Renditions as files under a root folder (DATA_DIR/audio by default). */
export class LocalAudioStorage implements AudioStorage {
  readonly kind = 'local';
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  path(key: string): string {
    assertKey(key);
    return join(this.root, ...key.split('/'));
  }

  async tempPath(key: string): Promise<string> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // same folder as the final file, so `put` is a rename on the same filesystem
    return `${path}.${process.pid}${randomBytes(4).toString('hex')}.tmp`;
  }

  async put(key: string, fromPath: string): Promise<StoredFile> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    await rename(fromPath, path);
    const s = await stat(path);
    return { key, size: s.size, mtime: s.mtime };
  }

  readonly #fds = new Map<string, SharedFd>();
  /** How long an unused file descriptor stays open for the next range request of the same file. */
  fdIdleMs = 10_000;

  async open(key: string, range?: { start: number; end: number }, expected?: StoredFile): Promise<Readable> {
    const length = range ? range.end - range.start + 1 : Infinity;
    const highWaterMark = Math.max(16 * 1024, Math.min(STREAM_CHUNK, length));
    const shared = await this.#acquire(key, expected);
    // positional reads on a descriptor kept open across requests: no open/close per range
    const stream = createReadStream('', { fd: shared.fd, autoClose: false, highWaterMark, ...(range ? { start: range.start, end: range.end } : { start: 0 }) });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#release(key, shared);
    };
    stream.once('close', release);
    stream.once('end', release);
    stream.once('error', release);
    return stream;
  }

  async reader(key: string, expected?: StoredFile): Promise<RangeReader> {
    const shared = await this.#acquire(key, expected);
    let closed = false;
    return {
      read: (buffer, length, position) =>
        new Promise<number>((resolve, reject) => {
          if (closed) reject(new Error(`${key}: reader closed`));
          else readFd(shared.fd, buffer, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
        }),
      close: () => {
        if (closed) return;
        closed = true;
        this.#release(key, shared);
      },
    };
  }

  async #acquire(key: string, expected?: StoredFile): Promise<SharedFd> {
    const existing = this.#fds.get(key);
    if (existing && !existing.closing && (!expected || (existing.size === expected.size && existing.mtimeMs === expected.mtime.getTime()))) {
      existing.refs++;
      if (existing.timer) clearTimeout(existing.timer);
      existing.timer = undefined;
      return existing;
    }
    if (existing && existing.refs === 0) this.#close(key, existing);
    const fd = await new Promise<number>((resolve, reject) => openFd(this.path(key), 'r', (err, n) => (err ? reject(err) : resolve(n))));
    const st = await new Promise<{ size: number; mtime: Date }>((resolve, reject) => fstat(fd, (err, s) => (err ? reject(err) : resolve(s))));
    const mtimeMs = st.mtime.getTime(); // the same rounding as StoredFile.mtime (from stat)
    if (expected && (st.size !== expected.size || mtimeMs !== expected.mtime.getTime())) {
      close(fd, () => {});
      throw Object.assign(new Error(`${key} changed since it was looked up`), { code: 'ENOENT' });
    }
    const shared: SharedFd = { fd, refs: 1, size: st.size, mtimeMs, closing: false, timer: undefined };
    if (!this.#fds.has(key) || this.#fds.get(key)!.refs === 0) this.#fds.set(key, shared);
    else shared.private = true; // an older version is still being read: this one is not shared
    return shared;
  }

  #release(key: string, shared: SharedFd): void {
    shared.refs--;
    if (shared.refs > 0) return;
    if (shared.private || this.#fds.get(key) !== shared) {
      this.#close(key, shared);
      return;
    }
    shared.timer = setTimeout(() => this.#close(key, shared), this.fdIdleMs);
    shared.timer.unref();
  }

  #close(key: string, shared: SharedFd): void {
    if (shared.closing) return;
    shared.closing = true;
    if (shared.timer) clearTimeout(shared.timer);
    if (this.#fds.get(key) === shared) this.#fds.delete(key);
    close(shared.fd, () => {});
  }

  /** Closes the descriptors kept open (at stop). Streams still reading keep theirs until they end. */
  closeIdle(): void {
    for (const [key, shared] of this.#fds) if (shared.refs === 0) this.#close(key, shared);
  }

  close(): void {
    this.closeIdle();
  }

  describe(key: string): string {
    return this.path(key);
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, mtime: s.mtime } : undefined;
    } catch {
      return undefined;
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.path(key);
    const shared = this.#fds.get(key);
    if (shared) {
      this.#fds.delete(key);
      if (shared.refs === 0) this.#close(key, shared);
      else shared.private = true;
    }
    try {
      await rm(path);
      return true;
    } catch {
      return false;
    }
  }

  async *list(): AsyncIterable<StoredFile> {
    let dirs: string[];
    try {
      dirs = await readdir(this.root);
    } catch {
      return;
    }
    for (const d of dirs) {
      if (!/^\d+$/.test(d)) continue;
      let files: string[];
      try {
        files = await readdir(join(this.root, d));
      } catch {
        continue;
      }
      for (const f of files) {
        const full = join(this.root, d, f);
        const key = relative(this.root, full).split(sep).join('/');
        if (!KEY.test(key)) continue;
        try {
          const s = await stat(full);
          if (s.isFile()) yield { key, size: s.size, mtime: s.mtime };
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
}
