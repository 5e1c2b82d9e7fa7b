import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, type TestEnvironment } from '@robian/test-support';
import { createRobian, type Robian } from '../src/app.ts';
import { backup, restoreAudio, restoreDatabase, tableCounts, verifyBackup } from '../src/backup.ts';
import { checkIntegrity } from '../src/integrity.ts';
import { seedDemo } from '../src/seed.ts';
import { officialPlugins } from '../src/official.ts';
import { runCli } from './cli.ts';

async function withRobian<T>(env: TestEnvironment, fn: (r: Robian) => Promise<T>): Promise<T> {
  const robian = createRobian({ config: loadConfig({ ...env.env, AUDIO_WORKERS: 'false' }), plugins: officialPlugins(), workers: false, defaultMetrics: false });
  await robian.start();
  try {
    return await fn(robian);
  } finally {
    await robian.close();
  }
}

/** Every row of every table, ordered, as JSON: what "the same database" means here. */
async function dump(env: TestEnvironment): Promise<Record<string, unknown[]>> {
  const tables = Object.keys(await tableCounts(env.config)).sort();
  return withRobian(env, async (r) => {
    const out: Record<string, unknown[]> = {};
    const conn = r.kernel.em().getConnection();
    for (const t of tables) {
      const rows = await conn.execute<Record<string, unknown>[]>(`select * from "${t}"`);
      out[t] = rows.map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Date ? v.toISOString() : v))).sort();
    }
    return out;
  });
}

/** Two audio files of two seeded debates, with rows and checksums as an extraction leaves them. */
async function addAudio(env: TestEnvironment): Promise<Map<string, Buffer>> {
  return withRobian(env, async (r) => {
    const conn = r.kernel.em().getConnection();
    const debates = await conn.execute<{ id: number }[]>('select id from debate order by id limit 2');
    const files = new Map<string, Buffer>();
    const audio = r.kernel.services.get('audio');
    for (const { id } of debates) {
      const key = `${id}/mp3-128k.mp3`;
      const bytes = randomBytes(200_000 + id);
      mkdirSync(join(env.dataDir, 'audio', String(id)), { recursive: true });
      writeFileSync(join(env.dataDir, 'audio', ...key.split('/')), bytes);
      const checksum = await audio.library.checksum(key);
      const now = new Date().toISOString();
      await conn.execute(
        'insert into audio_file (debate_id, format, quality, storage_key, mime_type, file_size, duration_seconds, checksum, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [id, 'mp3', '128k', key, 'audio/mpeg', bytes.length, 12.5, checksum, now, now],
      );
      files.set(key, bytes);
    }
    return files;
  });
}

for (const mode of STORAGE_MODES) {
  describe(`backup, restore, integrity (${mode.name})`, { skip: mode.skip }, () => {
    it('round-trips the database and the audio files byte for byte; restore refuses a database with rows; integrity finds what is wrong', async () => {
      const env = await createTestEnvironment(mode.name);
      const backupDir = join(env.dataDir, '..', `${env.dataDir.split('/').pop()}-backup`);
      try {
        await withRobian(env, (r) => seedDemo(r.kernel));
        const files = await addAudio(env);
        assert.equal(files.size, 2);
        const before = await dump(env);
        assert.ok((before.debate ?? []).length >= 2);
        const clean = await withRobian(env, (r) => checkIntegrity(r));
        assert.deepEqual([clean.ok, clean.audio_rows, clean.stored_files, clean.checksums_verified], [true, 2, 2, 2], JSON.stringify(clean.problems));

        // the command itself, once
        const made = await runCli(['backup', backupDir], env.env);
        assert.equal(made.code, 0, made.stderr);
        const manifest = await verifyBackup(backupDir);
        assert.equal(manifest.database.kind, mode.name === 'sqlite' ? 'sqlite' : 'postgresql');
        assert.deepEqual(manifest.audio.map((a) => a.key).sort(), [...files.keys()].sort());
        await assert.rejects(
          withRobian(env, (r) => backup(r, backupDir)),
          /is not empty/,
          'a backup never goes into a folder that holds one',
        );

        // onto the live database: refused, and the command says so with exit 1
        const refused = await runCli(['restore', backupDir], env.env);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /database is not empty \(.*rows.*\): restore refuses to overwrite it without --force/);

        // lose everything: tables dropped and migrated again (`db reset`), audio gone
        await withRobian(env, async (r) => {
          await r.kernel.orm.migrator.down({ to: 0 });
          await r.kernel.orm.migrator.up();
        });
        rmSync(join(env.dataDir, 'audio'), { recursive: true, force: true });
        await restoreDatabase(env.config, backupDir, manifest, false);
        await withRobian(env, (r) => restoreAudio(r, backupDir, manifest));
        assert.deepEqual(await dump(env), before);
        for (const [key, bytes] of files) assert.ok(readFileSync(join(env.dataDir, 'audio', ...key.split('/'))).equals(bytes), `${key} byte for byte`);
        // forced onto the (now full) database
        await restoreDatabase(env.config, backupDir, manifest, true);
        assert.deepEqual(await dump(env), before);

        // a damaged backup is refused before anything is touched
        const [firstKey, firstBytes] = [...files][0]!;
        const damaged = Buffer.from(firstBytes);
        damaged[100] = damaged[100]! ^ 0xff;
        writeFileSync(join(backupDir, 'audio', ...firstKey.split('/')), damaged);
        await assert.rejects(verifyBackup(backupDir), /different from the manifest/);

        // integrity: a flipped byte, a file gone, a stray file → exit 1 with the three problems
        writeFileSync(join(env.dataDir, 'audio', ...firstKey.split('/')), damaged);
        const [secondKey] = [...files.keys()].slice(1);
        rmSync(join(env.dataDir, 'audio', ...secondKey!.split('/')));
        mkdirSync(join(env.dataDir, 'audio', '999999'), { recursive: true });
        writeFileSync(join(env.dataDir, 'audio', '999999', 'mp3-128k.mp3'), 'stray');
        const found = await runCli(['integrity', '--json'], env.env);
        assert.equal(found.code, 1, found.stderr);
        const report = JSON.parse(found.stdout) as { ok: boolean; problems: { kind: string; key?: string }[] };
        assert.equal(report.ok, false);
        assert.deepEqual(report.problems.map((p) => `${p.kind} ${p.key ?? ''}`).sort(), [
          `checksum-mismatch ${firstKey}`,
          'file-without-row 999999/mp3-128k.mp3',
          `row-without-file ${secondKey}`,
        ]);
      } finally {
        if (existsSync(backupDir)) rmSync(backupDir, { recursive: true, force: true });
        await env.cleanup();
      }
    });
  });
}
