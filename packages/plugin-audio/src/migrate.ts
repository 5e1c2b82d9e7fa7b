import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3AudioStorage } from './s3-storage.ts';
import type { LocalAudioStorage, StoredFile } from './storage.ts';

/** Written in the local library once every file is on S3: a local-storage host then refuses to start (storage-config.ts). */
export const MIGRATED_MARKER = '.migrated-to-s3.json';
/** One line per object copied and verified: a second run skips them (resumable). */
export const MIGRATION_JOURNAL = '.migrate-s3.jsonl';

export interface MigrationReport {
  to: string;
  /** Renditions in the local library. */
  files: number;
  /** Uploaded by this run. */
  copied: number;
  /** Already on S3 and verified by an earlier run (journal) or found there with the same SHA-256. */
  skipped: number;
  bytes_copied: number;
  verified: number;
  failed: { key: string; error: string }[];
  /** True when every file is on S3 and verified: the marker is written, AUDIO_STORAGE=s3 is due. */
  switched: boolean;
  marker: string | null;
}

interface JournalEntry {
  key: string;
  size: number;
  sha256: string;
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * `robian audio migrate --to s3`: copies every rendition of the local library to the bucket, each
 * one verified by reading it back from S3 and comparing its SHA-256 with the local file's, journaled
 * once verified (a killed run starts again where it stopped), then — when nothing failed — writes
 * the marker that switches the library: hosts must run with AUDIO_STORAGE=s3 from then on. The
 * keys do not change (the rows' storage_key stays valid); local files are left in place (rollback:
 * remove the marker) until the operator deletes them.
 */
export class LibraryMigration {
  readonly from: LocalAudioStorage;
  readonly to: S3AudioStorage;
  readonly onFile: ((key: string, outcome: 'copied' | 'skipped' | 'failed') => void) | undefined;

  constructor(o: { from: LocalAudioStorage; to: S3AudioStorage; onFile?: (key: string, outcome: 'copied' | 'skipped' | 'failed') => void }) {
    this.from = o.from;
    this.to = o.to;
    this.onFile = o.onFile;
  }

  get journalPath(): string {
    return join(this.from.root, MIGRATION_JOURNAL);
  }

  get markerPath(): string {
    return join(this.from.root, MIGRATED_MARKER);
  }

  journal(): Map<string, JournalEntry> {
    const done = new Map<string, JournalEntry>();
    if (!existsSync(this.journalPath)) return done;
    for (const line of readFileSync(this.journalPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as JournalEntry;
        done.set(e.key, e);
      } catch {
        /* a line cut by a kill: that object is verified again */
      }
    }
    return done;
  }

  async run(): Promise<MigrationReport> {
    const report: MigrationReport = { to: '', files: 0, copied: 0, skipped: 0, bytes_copied: 0, verified: 0, failed: [], switched: false, marker: null };
    report.to = `s3://${this.to.bucket}/${this.to.prefix}`;
    const journal = this.journal();
    const files: StoredFile[] = [];
    for await (const f of this.from.list()) if (!f.key.endsWith('.tmp')) files.push(f);
    report.files = files.length;
    for (const f of files) {
      try {
        const outcome = await this.one(f, journal.get(f.key));
        if (outcome.copied) {
          report.copied++;
          report.bytes_copied += f.size;
        } else report.skipped++;
        report.verified++;
        this.onFile?.(f.key, outcome.copied ? 'copied' : 'skipped');
      } catch (err) {
        report.failed.push({ key: f.key, error: (err as Error).message });
        this.onFile?.(f.key, 'failed');
      }
    }
    if (report.failed.length === 0) {
      const marker = { bucket: this.to.bucket, prefix: this.to.prefix, endpoint: this.to.config.endpoint ?? null, files: report.files, at: new Date().toISOString() };
      const tmp = `${this.markerPath}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`);
      await rename(tmp, this.markerPath);
      report.switched = true;
      report.marker = this.markerPath;
    }
    return report;
  }

  /** One file: skip it when verified before (same size and hash), else upload, read back, compare, journal. */
  async one(f: StoredFile, done: JournalEntry | undefined): Promise<{ copied: boolean }> {
    const path = this.from.path(f.key);
    const local = await sha256Of(createReadStream(path));
    if (done && done.size === local.size && done.sha256 === local.sha256) {
      const there = await this.to.stat(f.key);
      if (there?.size === local.size) return { copied: false };
    }
    let copied = false;
    // an object a previous run uploaded but did not get to verify: verified now, not uploaded again
    const there = await this.to.stat(f.key);
    if (!there || there.size !== local.size || (await this.to.checksum(f.key)) !== local.sha256) {
      await this.to.upload(f.key, path, { sha256: local.sha256 });
      copied = true;
    }
    const remote = await sha256Of(await this.to.open(f.key));
    if (remote.size !== local.size || remote.sha256 !== local.sha256) {
      await this.to.delete(f.key);
      throw new Error(`${f.key}: read back ${remote.size} bytes with SHA-256 ${remote.sha256}, the local file has ${local.size} bytes and ${local.sha256}; the object was removed`);
    }
    await appendFile(this.journalPath, `${JSON.stringify({ key: f.key, size: local.size, sha256: local.sha256 } satisfies JournalEntry)}\n`);
    return { copied };
  }
}

/** The marker of a migrated library, if there is one. */
export function migratedMarker(localRoot: string): { bucket: string; prefix: string; at: string } | undefined {
  const path = join(localRoot, MIGRATED_MARKER);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { bucket: string; prefix: string; at: string };
  } catch {
    return { bucket: '?', prefix: '', at: '?' };
  }
}
