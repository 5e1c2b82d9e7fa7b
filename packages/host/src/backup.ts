import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkSchema, openSessionPool, type RobianConfig } from '@robian/core';
import type { AudioStorage } from '@robian/plugin-audio';
import type { Robian } from './app.ts';
import { HOST_VERSION } from './version.ts';

/**
 * `robian backup <dir>` / `robian restore <dir>`: the database (SQLite's online backup API, or
 * pg_dump's custom format) and every audio file a row points to, with a manifest of their sizes and
 * SHA-256 sums. A restore checks the backup before it touches anything, refuses a database that
 * holds rows unless forced, and writes each audio file through the storage's own atomic put.
 */

export const BACKUP_FORMAT = 'robian-backup/1';
const MANIFEST = 'manifest.json';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  created_at: string;
  robian_version: string;
  database: { kind: 'sqlite' | 'postgresql'; file: string; bytes: number; sha256: string; migrations: string[] };
  tables: Record<string, number>;
  audio: { key: string; bytes: number; sha256: string }[];
}

export class BackupError extends Error {}

export async function sha256OfStream(stream: NodeJS.ReadableStream): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

const sha256OfFile = (path: string) => sha256OfStream(createReadStream(path));

/** libpq's variables for a postgresql:// URL, so that no password shows in a process list. */
function pgEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: u.hostname.replace(/^\[|\]$/g, ''), PGPORT: u.port || '5432', PGDATABASE: decodeURIComponent(u.pathname.slice(1)) };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(bin, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new BackupError(`${bin} failed: ${String(stderr).trim() || err.message}`));
      else resolvePromise();
    });
  });
}

/** Row counts of every table but the migrations' own (and SQLite's internal ones). */
/** Tables that hold no data of the catalogue: the migrations' journal, the cache's generations (embedded mode). */
const NOT_DATA = "('robian_migrations', 'cache_generation')";

export async function tableCounts(config: RobianConfig): Promise<Record<string, number>> {
  const db = config.database;
  const counts: Record<string, number> = {};
  if (db.kind === 'sqlite') {
    if (db.path === ':memory:' || !existsSync(db.path)) return counts;
    const { DatabaseSync } = await import('node:sqlite');
    const conn = new DatabaseSync(db.path, { readOnly: true });
    try {
      const tables = conn.prepare(`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not in ${NOT_DATA}`).all() as { name: string; sql: string | null }[];
      // virtual tables (the FTS5 search index) and their shadow tables are derived from the others
      const virtual = tables.filter((t) => /^create virtual table/i.test(t.sql ?? '')).map((t) => t.name);
      for (const { name } of tables) {
        if (virtual.some((v) => name === v || name.startsWith(`${v}_`))) continue;
        const row = conn.prepare(`select count(*) as n from "${name.replace(/"/g, '""')}"`).get() as { n: number };
        counts[name] = Number(row.n);
      }
    } finally {
      conn.close();
    }
    return counts;
  }
  const pool = await openSessionPool(config, { name: 'robian-backup', settings: {}, max: 1 });
  try {
    const tables = await pool.query<{ name: string }>(
      `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not in ${NOT_DATA}`,
    );
    for (const { name } of tables) {
      const [row] = await pool.query<{ n: string }>(`select count(*) as n from "${name.replace(/"/g, '""')}"`);
      counts[name] = Number(row?.n ?? 0);
    }
  } finally {
    await pool.close();
  }
  return counts;
}

async function audioRows(robian: Robian): Promise<{ key: string; bytes: number }[]> {
  const rows = await robian.kernel
    .em()
    .getConnection()
    .execute<{ storage_key: string; file_size: number | string }[]>('select storage_key, file_size from audio_file order by id');
  return rows.map((r) => ({ key: r.storage_key, bytes: Number(r.file_size) }));
}

function audioStorage(robian: Robian): AudioStorage | undefined {
  return robian.kernel.services.maybe('audio')?.storage;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Writes a backup of a started Robian into `dir` (which must be empty or absent). */
export async function backup(robian: Robian, dir: string): Promise<BackupManifest> {
  const target = resolve(dir);
  if (!(await isEmptyDir(target))) throw new BackupError(`${target} is not empty: a backup goes into a new or empty folder`);
  await mkdir(join(target, 'audio'), { recursive: true });
  const config = robian.config;
  const db = config.database;
  const migrations = (await checkSchema(robian.kernel.orm)).executed;
  let file: string;
  if (db.kind === 'sqlite') {
    if (db.path === ':memory:') throw new BackupError('an in-memory database cannot be backed up');
    file = 'database.sqlite';
    const { DatabaseSync, backup: sqliteBackup } = await import('node:sqlite');
    const source = new DatabaseSync(db.path, { readOnly: true });
    try {
      // SQLite's online backup API: a consistent copy while the server goes on writing
      await sqliteBackup(source, join(target, file));
    } finally {
      source.close();
    }
  } else {
    file = 'database.pgdump';
    await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', join(target, file)], pgEnv(db.url));
  }
  const storage = audioStorage(robian);
  const audio: BackupManifest['audio'] = [];
  if (storage) {
    for (const row of await audioRows(robian)) {
      const stored = await storage.stat(row.key);
      if (!stored) continue; // integrity reports it; a backup keeps what exists
      const out = join(target, 'audio', ...row.key.split('/'));
      await mkdir(dirname(out), { recursive: true });
      const hash = createHash('sha256');
      let bytes = 0;
      const source = await storage.open(row.key);
      source.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      await pipeline(source, createWriteStream(out));
      audio.push({ key: row.key, bytes, sha256: hash.digest('hex') });
    }
  }
  const dbFile = await sha256OfFile(join(target, file));
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    created_at: new Date().toISOString(),
    robian_version: HOST_VERSION,
    database: { kind: db.kind, file, bytes: dbFile.bytes, sha256: dbFile.sha256, migrations },
    tables: await tableCounts(config),
    audio,
  };
  // the manifest last, through a rename: a backup without one is visibly incomplete
  await writeFile(join(target, `${MANIFEST}.tmp`), JSON.stringify(manifest, null, 2) + '\n');
  await rename(join(target, `${MANIFEST}.tmp`), join(target, MANIFEST));
  return manifest;
}

const SAFE_KEY = /^\d{1,12}\/[a-z0-9]+-[a-z0-9]+\.[a-z0-9]{2,4}$/;

/** Reads a backup's manifest and checks every file it lists against its size and SHA-256 sum. */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  const target = resolve(dir);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(join(target, MANIFEST), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new BackupError(`${join(target, MANIFEST)}: ${(err as Error).message} (not a complete Robian backup)`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new BackupError(`unknown backup format "${String(manifest.format)}" (expected ${BACKUP_FORMAT})`);
  if (!['database.sqlite', 'database.pgdump'].includes(manifest.database.file)) throw new BackupError(`unexpected database file "${manifest.database.file}"`);
  const dbFile = await sha256OfFile(join(target, manifest.database.file));
  if (dbFile.sha256 !== manifest.database.sha256) throw new BackupError(`${manifest.database.file}: checksum differs from the manifest`);
  for (const a of manifest.audio) {
    if (!SAFE_KEY.test(a.key)) throw new BackupError(`manifest lists an unexpected audio key "${a.key}"`);
    const got = await sha256OfFile(join(target, 'audio', ...a.key.split('/'))).catch(() => undefined);
    if (!got || got.sha256 !== a.sha256 || got.bytes !== a.bytes) throw new BackupError(`audio/${a.key}: missing or different from the manifest`);
  }
  return manifest;
}

export interface RestoreReport {
  database: 'sqlite' | 'postgresql';
  tables: Record<string, number>;
  audio_files: number;
  audio_bytes: number;
}

/**
 * Restores the database of a backup (the server must be stopped). Refused when the target database
 * holds rows, unless `force`. The audio files are written afterwards by `restoreAudio`.
 */
export async function restoreDatabase(config: RobianConfig, dir: string, manifest: BackupManifest, force: boolean): Promise<void> {
  const target = resolve(dir);
  const db = config.database;
  if (db.kind !== manifest.database.kind) throw new BackupError(`the backup holds a ${manifest.database.kind} database, the configuration points to ${db.kind}`);
  const counts = await tableCounts(config);
  const filled = Object.entries(counts).filter(([, n]) => n > 0);
  if (filled.length && !force) {
    throw new BackupError(
      `the database is not empty (${filled
        .slice(0, 5)
        .map(([t, n]) => `${t}: ${n} rows`)
        .join(', ')}${filled.length > 5 ? ', …' : ''}): restore refuses to overwrite it without --force`,
    );
  }
  const source = join(target, manifest.database.file);
  if (db.kind === 'sqlite') {
    if (db.path === ':memory:') throw new BackupError('cannot restore into an in-memory database');
    await mkdir(dirname(db.path), { recursive: true });
    const { DatabaseSync, backup: sqliteBackup } = await import('node:sqlite');
    const from = new DatabaseSync(source, { readOnly: true });
    try {
      // the backup API again, into the live path: pages are replaced under SQLite's own locks
      await sqliteBackup(from, db.path);
    } finally {
      from.close();
    }
    return;
  }
  await run('pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', '--dbname', pgEnv(db.url).PGDATABASE!, source], pgEnv(db.url));
}

/** Writes the backup's audio files into the storage of a started Robian, each through a temp file and an atomic put. */
export async function restoreAudio(robian: Robian, dir: string, manifest: BackupManifest): Promise<{ files: number; bytes: number }> {
  const storage = audioStorage(robian);
  if (!storage) {
    if (manifest.audio.length) throw new BackupError('the backup holds audio files but the audio plugin is not installed');
    return { files: 0, bytes: 0 };
  }
  let bytes = 0;
  for (const a of manifest.audio) {
    const tmp = await storage.tempPath(a.key);
    try {
      await pipeline(createReadStream(join(resolve(dir), 'audio', ...a.key.split('/'))), createWriteStream(tmp));
      await storage.put(a.key, tmp);
    } finally {
      await rm(tmp, { force: true });
    }
    bytes += (await stat(join(resolve(dir), 'audio', ...a.key.split('/')))).size;
  }
  await robian.kernel.cache.invalidateAll();
  return { files: manifest.audio.length, bytes };
}
