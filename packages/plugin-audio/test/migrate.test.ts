import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestEnvironment, startTestHost, type TestEnvironment } from '@robian/test-support';
import { MIGRATED_MARKER, MIGRATION_JOURNAL, S3AudioStorage, audioPlugin, type MigrationReport } from '../src/index.ts';
import { createDebate, extract, hlsFixture, startMediaServer, waitRendition, type MediaServer } from './helpers.ts';
import { S3_KEY, startS3Server, uniquePrefix, type S3Server } from './s3-server.ts';

const exec = promisify(execFile);
const fixture = await hlsFixture();
const CLI = fileURLToPath(new URL('../../host/src/cli.ts', import.meta.url));

describe('robian audio migrate --to s3', () => {
  let media: MediaServer;
  let s3: S3Server;
  let env: TestEnvironment;
  let prefix: string;
  let s3Env: Record<string, string>;
  before(async () => {
    media = await startMediaServer(fixture);
    s3 = await startS3Server();
    prefix = uniquePrefix('migrate');
    const { AUDIO_STORAGE: _local, ...rest } = s3.env(prefix);
    s3Env = rest; // the S3 settings, while the hosts still run with local storage
    env = await createTestEnvironment('sqlite', { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100', ...s3Env });
  });
  after(async () => {
    await env?.cleanup();
    await media?.close();
    await s3?.close();
  });

  const migrate = async () => JSON.parse((await exec(process.execPath, ['--conditions=robian-source', CLI, 'audio', 'migrate', '--to', 's3', '--json'], { env: { PATH: process.env.PATH ?? '', ...env.env } })).stdout) as MigrationReport;

  it('copies and verifies every file, resumes, switches, and the S3 host serves the same bytes', async () => {
    const local = await startTestHost({ environment: env, plugins: [audioPlugin] });
    let id: number;
    const root = join(env.dataDir, 'audio');
    try {
      id = await createDebate(local, { video_url: `${media.url}/media/master.m3u8` });
      await extract(local, id, { format: 'aac' });
      assert.equal((await waitRendition(local, id, 'aac', 'source', ['ready', 'failed'])).status, 'ready');
      await extract(local, id, { format: 'opus', quality: '24k' });
      assert.equal((await waitRendition(local, id, 'opus', '24k', ['ready', 'failed'])).status, 'ready');
      assert.equal(local.robian.kernel.services.get('audio').storage.kind, 'local');
    } finally {
      await local.close();
    }
    const master = readFileSync(join(root, String(id), 'aac-source.m4a'));

    const first = await migrate();
    assert.equal(first.files, 2);
    assert.equal(first.copied, 2);
    assert.equal(first.verified, 2);
    assert.deepEqual(first.failed, []);
    assert.equal(first.switched, true);
    assert.ok(existsSync(join(root, MIGRATED_MARKER)));

    // resumable: a run killed after one file left one journal line; the next run copies only the other
    const journal = join(root, MIGRATION_JOURNAL);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    writeFileSync(journal, `${lines.find((l) => l.includes('aac-source'))}\n{"key":"cut by a ki`);
    const s3Storage = new S3AudioStorage({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, prefix, tempDir: join(env.dataDir, 'tmp', 'check') });
    try {
      await s3Storage.delete(`${id}/opus-24k.opus`);
      const second = await migrate();
      assert.deepEqual({ copied: second.copied, skipped: second.skipped, verified: second.verified, switched: second.switched }, { copied: 1, skipped: 1, verified: 2, switched: true });
      // an object uploaded by a run that died before verifying it is verified, not uploaded again
      writeFileSync(journal, '');
      const third = await migrate();
      assert.deepEqual({ copied: third.copied, skipped: third.skipped, verified: third.verified }, { copied: 0, skipped: 2, verified: 2 });
      assert.equal((await s3Storage.stat(`${id}/aac-source.m4a`))?.size, master.length);
    } finally {
      s3Storage.close();
    }

    // switched: a host with local storage refuses to start on the migrated library, naming the setting
    await assert.rejects(startTestHost({ environment: env, plugins: [audioPlugin] }), /migrated to s3:\/\/.*AUDIO_STORAGE=s3/s);
    const onS3 = await startTestHost({ environment: { ...env, config: { ...env.config, env: { ...env.config.env, AUDIO_STORAGE: 's3' } } }, plugins: [audioPlugin] });
    try {
      assert.equal(onS3.robian.kernel.services.get('audio').storage.kind, 's3');
      const res = await onS3.request(`/api/debats/${id}/audio?format=aac`, { headers: { range: 'bytes=100-1099' } });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(master.subarray(100, 1100)));
      const opus = await onS3.request(`/api/debats/${id}/audio?format=opus&quality=24k`, { method: 'HEAD' });
      assert.equal(opus.status, 200);
    } finally {
      await onS3.close();
    }
  });
});
