import { randomInt } from 'node:crypto';
import type { Robian } from './app.ts';
import { sha256OfStream } from './backup.ts';

/**
 * `robian integrity`: what a backup or an operator needs to trust the data. Every audio_file row
 * has its file at the recorded size; every stored file has a row (temp files aside); a random sample
 * of files is read whole and compared with the checksum recorded at extraction (`audio_file.checksum`,
 * `sha256:<hex>`); the search index holds what the tables hold. Read-only.
 */
export interface IntegrityProblem {
  kind: 'row-without-file' | 'size-mismatch' | 'file-without-row' | 'checksum-mismatch' | 'search-index';
  key?: string;
  detail: string;
}

export interface IntegrityReport {
  ok: boolean;
  audio_rows: number;
  stored_files: number;
  checksums_verified: number;
  checksums_missing: number;
  search: { debates: number; indexed: number } | null;
  problems: IntegrityProblem[];
}

export async function checkIntegrity(robian: Robian, options: { sample?: number } = {}): Promise<IntegrityReport> {
  const sample = options.sample ?? 20;
  const problems: IntegrityProblem[] = [];
  const rows = (
    await robian.kernel
      .em()
      .getConnection()
      .execute<{ storage_key: string; file_size: number | string; checksum: string | null }[]>('select storage_key, file_size, checksum from audio_file order by id')
  ).map((r) => ({ key: r.storage_key, bytes: Number(r.file_size), checksum: r.checksum }));
  const storage = robian.kernel.services.maybe('audio')?.storage;
  let stored = 0;
  let verified = 0;
  let missing = 0;
  if (storage) {
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const present = new Set<string>();
    for await (const f of storage.list()) {
      if (f.key.endsWith('.tmp')) continue; // in-flight extractions; `audio cleanup` removes stale ones
      stored++;
      present.add(f.key);
      const row = byKey.get(f.key);
      if (!row) problems.push({ kind: 'file-without-row', key: f.key, detail: `${f.size} bytes on storage that no audio_file row points to (robian audio cleanup removes them)` });
      else if (row.bytes !== f.size) problems.push({ kind: 'size-mismatch', key: f.key, detail: `row says ${row.bytes} bytes, storage holds ${f.size}` });
    }
    for (const r of rows) if (!present.has(r.key)) problems.push({ kind: 'row-without-file', key: r.key, detail: 'audio_file row whose file is not on storage' });
    const checkable = rows.filter((r) => present.has(r.key) && r.checksum?.startsWith('sha256:'));
    missing = rows.filter((r) => present.has(r.key) && !r.checksum).length;
    // a uniform random sample without replacement (partial Fisher–Yates)
    for (let i = 0; i < Math.min(sample, checkable.length); i++) {
      const j = i + randomInt(checkable.length - i);
      [checkable[i], checkable[j]] = [checkable[j]!, checkable[i]!];
      const r = checkable[i]!;
      const { sha256 } = await sha256OfStream(await storage.open(r.key));
      verified++;
      if (`sha256:${sha256}` !== r.checksum) problems.push({ kind: 'checksum-mismatch', key: r.key, detail: `recorded ${r.checksum}, read sha256:${sha256}` });
    }
  }
  const search = robian.kernel.services.maybe('search');
  let searchStatus: IntegrityReport['search'] = null;
  if (search) {
    searchStatus = await search.status();
    if (searchStatus.debates !== searchStatus.indexed) {
      problems.push({ kind: 'search-index', detail: `${searchStatus.debates} debates in the tables, ${searchStatus.indexed} in the search index (robian search reindex repairs it)` });
    }
  }
  return { ok: problems.length === 0, audio_rows: rows.length, stored_files: stored, checksums_verified: verified, checksums_missing: missing, search: searchStatus, problems };
}
