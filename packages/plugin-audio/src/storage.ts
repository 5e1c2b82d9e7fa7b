import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredFile {
  key: string;
  size: number;
  mtime: Date;
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
  /** A stream of the bytes `start`..`end` (inclusive), opened at `start`. */
  open(key: string, range?: { start: number; end: number }): Readable;
  stat(key: string): Promise<StoredFile | undefined>;
  delete(key: string): Promise<boolean>;
  /** Every stored file (temp files included, their key ends in `.tmp`). */
  list(): AsyncIterable<StoredFile>;
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

  open(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
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
