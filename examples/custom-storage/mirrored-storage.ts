import { copyFile, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LocalAudioStorage, type AudioStorage, type StoredFile } from '@robian/plugin-audio';

/**
 * Renditions kept on two disks: `put` writes the replica first, then moves the file in on the
 * primary, so a rendition is visible only once both copies exist; reads come from the primary and
 * fall back to the replica when the primary lost the file (a disk replaced, a file deleted by hand).
 * A fallback is checked by size (the copies' mtimes differ), and `repair()` copies back what one disk lacks.
 *
 * It has no positional `reader`, so the audio routes serve it through `open` streams: a custom
 * storage only has to implement the interface's required methods.
 */
export class MirroredAudioStorage implements AudioStorage {
  readonly kind = 'mirrored';
  readonly primary: LocalAudioStorage;
  readonly replica: LocalAudioStorage;
  fallbacks = 0;

  constructor(primaryRoot: string, replicaRoot: string) {
    this.primary = new LocalAudioStorage(primaryRoot);
    this.replica = new LocalAudioStorage(replicaRoot);
  }

  tempPath(key: string): Promise<string> {
    return this.primary.tempPath(key);
  }

  async put(key: string, fromPath: string): Promise<StoredFile> {
    const copy = await this.replica.tempPath(key);
    try {
      await copyFile(fromPath, copy);
      await this.replica.put(key, copy);
    } catch (err) {
      await rm(copy, { force: true });
      throw err;
    }
    return this.primary.put(key, fromPath);
  }

  async open(key: string, range?: { start: number; end: number }, expected?: StoredFile): Promise<Readable> {
    if (await this.primary.stat(key)) return this.primary.open(key, range, expected);
    const copy = await this.replica.stat(key);
    if (!copy || (expected && copy.size !== expected.size)) throw Object.assign(new Error(`${key}: no copy of this version`), { code: 'ENOENT' });
    this.fallbacks++;
    return this.replica.open(key, range);
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    return (await this.primary.stat(key)) ?? (await this.replica.stat(key));
  }

  async delete(key: string): Promise<boolean> {
    const [a, b] = await Promise.all([this.primary.delete(key), this.replica.delete(key)]);
    return a || b;
  }

  async *list(): AsyncIterable<StoredFile> {
    const seen = new Set<string>();
    for await (const file of this.primary.list()) {
      seen.add(file.key);
      yield file;
    }
    for await (const file of this.replica.list()) if (!seen.has(file.key)) yield file;
  }

  /** Copies every finished rendition one disk has and the other lacks; returns the keys copied. */
  async repair(): Promise<string[]> {
    const copied: string[] = [];
    for (const [from, to] of [
      [this.primary, this.replica],
      [this.replica, this.primary],
    ] as const) {
      for await (const file of from.list()) {
        if (file.key.endsWith('.tmp') || (await to.stat(file.key))) continue;
        const temp = await to.tempPath(file.key);
        await copyFile(from.path(file.key), temp);
        await to.put(file.key, temp);
        copied.push(file.key);
      }
    }
    return copied;
  }
}
