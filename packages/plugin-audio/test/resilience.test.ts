import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin } from '../src/index.ts';
import { MEDIA_SECONDS, createDebate, extract, hlsFixture, probe, startMediaServer, streaming, testSourcePlugin, waitRendition, type MediaServer } from './helpers.ts';
import { spawnHost } from './spawn-host.ts';

const fixture = await hlsFixture();
const FAST = { EXTRACTION_RETRY_BASE_MS: '50', EXTRACTION_POLL_INTERVAL_MS: '100', EXTRACTION_LEASE_SECONDS: '1' };

async function jobRow(host: TestHost, id: number): Promise<{ status: string; attempts: number; error: string | null; owner: string | null }> {
  const rows = await host.robian.kernel.orm.em
    .fork()
    .getConnection()
    .execute<{ status: string; attempts: number; error: string | null; owner: string | null }[]>('select status, attempts, error, owner from audio_extraction_job where debate_id = ?', [id]);
  return rows[0]!;
}

for (const mode of STORAGE_MODES) {
  describe(`extraction resilience (${mode.name})`, { skip: mode.skip }, () => {
    let media: MediaServer;
    before(async () => {
      media = await startMediaServer(fixture);
    });
    after(async () => {
      await media?.close();
    });

    it('resumes a job whose host was killed mid-way, after a restart', async () => {
      const env = await createTestEnvironment(mode.name, { ...FAST, MAX_CONCURRENT_EXTRACTIONS: '1' });
      // only the test environment: DATABASE_URL / REDIS_URL of the parent must not leak into SQLite mode
      const first = await spawnHost({ ...env.env, TEST_MEDIA_URL: media.url });
      let second: TestHost | undefined;
      try {
        const id = await createDebate(first, { video_url: `${media.url}/source/slow-crash` });
        assert.equal((await extract(first, id, { format: 'mp3', quality: '64k' })).status, 202);
        await waitRendition(first, id, 'mp3', '64k', ['running']);
        // mid-way: the row carries progress (written with the lease renewals), not yet done
        let progress = 0;
        while (progress === 0) {
          progress = (await streaming(first, id)).renditions.find((r) => r.format === 'mp3')!.progress;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(progress > 0 && progress < 100, `progress ${progress}`);
        await first.kill();
        // a second host on the same database and DATA_DIR takes the job back once the lease ran out
        second = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
        const done = await waitRendition(second, id, 'mp3', '64k', ['ready', 'failed']);
        assert.equal(done.status, 'ready', done.error ?? '');
        // the rendition is ready (its file row written) a moment before the job row is marked done
        let row = await jobRow(second, id);
        for (let i = 0; i < 50 && row.status === 'running'; i++) {
          await new Promise((r) => setTimeout(r, 20));
          row = await jobRow(second, id);
        }
        assert.equal(row.status, 'completed');
        assert.equal(row.attempts, 2, 'the killed attempt and the one that finished');
        const p = await probe(join(env.dataDir, 'audio', String(id), 'mp3-64k.mp3'));
        assert.ok(Math.abs(p.duration - MEDIA_SECONDS) <= 0.5);
      } finally {
        await first.kill();
        await second?.close();
        await env.cleanup();
      }
    });

    it('gives a running job back to the queue on a graceful stop, without counting the attempt', async () => {
      const env = await createTestEnvironment(mode.name, FAST);
      const host = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      let closed = false;
      try {
        const id = await createDebate(host, { video_url: `${media.url}/source/slow-graceful` });
        await extract(host, id, { format: 'aac' });
        await waitRendition(host, id, 'aac', 'source', ['running']);
        await host.close();
        closed = true;
        const again = await startTestHost({ environment: env, env: {}, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
        try {
          const { readdirSync, existsSync } = await import('node:fs');
          const dir = join(env.dataDir, 'audio', String(id));
          assert.deepEqual(existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tmp')) : [], [], 'no partial file left by the stop');
          const done = await waitRendition(again, id, 'aac', 'source', ['ready', 'failed']);
          assert.equal(done.status, 'ready', done.error ?? '');
          assert.equal((await jobRow(again, id)).attempts, 1, 'the interrupted attempt was not counted');
        } finally {
          await again.close();
        }
      } finally {
        if (!closed) await host.close();
        await env.cleanup();
      }
    });

    it('runs one job for concurrent requests reaching two instances that share the database', async () => {
      const env = await createTestEnvironment(mode.name, { ...FAST, EXTRACTION_LEASE_SECONDS: '30' });
      const a = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      const b = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      try {
        const id = await createDebate(a, { video_url: `${media.url}/source/two-instances` });
        const answers = await Promise.all([a, b, a, b, a, b].map((h) => extract(h, id, { format: 'opus', quality: '24k' })));
        assert.equal(new Set(answers.map((x) => x.job.extraction_id)).size, 1);
        const done = await waitRendition(b, id, 'opus', '24k', ['ready', 'failed']);
        assert.equal(done.status, 'ready', done.error ?? '');
        assert.equal((await jobRow(a, id)).attempts, 1, 'claimed once');
      } finally {
        await a.close();
        await b.close();
        await env.cleanup();
      }
    });

    it('cancels a job running on another instance (its owner notices at the next lease renewal)', async () => {
      const env = await createTestEnvironment(mode.name, FAST);
      const worker = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      const api = await startTestHost({ environment: { ...env, config: { ...env.config, env: { ...env.config.env, AUDIO_WORKERS: 'false' } } }, env: {}, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      const cancelled: unknown[] = [];
      worker.robian.kernel.events.on('extraction.cancelled', (e) => void cancelled.push(e));
      try {
        const health = (await (await api.request('/health/detailed')).json()) as { plugins: { audio: { workers: { concurrency: number } } } };
        assert.equal(health.plugins.audio.workers.concurrency, 0, 'the API instance runs no job');
        const id = await createDebate(api, { video_url: `${media.url}/source/slow-remote-cancel` });
        assert.equal((await extract(api, id, { format: 'aac' })).status, 202);
        await waitRendition(api, id, 'aac', 'source', ['running']);
        const res = await api.request(`/api/debats/${id}/extract`, { method: 'DELETE', admin: true });
        assert.equal(res.status, 200);
        while (cancelled.length === 0) await new Promise((r) => setTimeout(r, 50));
        const dir = join(env.dataDir, 'audio', String(id));
        const { readdirSync, existsSync } = await import('node:fs');
        for (let i = 0; i < 100 && existsSync(dir) && readdirSync(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], 'the partial file is removed by the instance that wrote it');
        assert.equal((await jobRow(api, id)).status, 'cancelled');
      } finally {
        await api.close();
        await worker.close();
        await env.cleanup();
      }
    });

    it('kills a job that exceeds EXTRACTION_TIMEOUT and fails it after the bounded retries', async () => {
      const host = await startTestHost({ mode: mode.name, env: { ...FAST, EXTRACTION_TIMEOUT: '1', EXTRACTION_MAX_ATTEMPTS: '2' }, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      try {
        const id = await createDebate(host, { video_url: `${media.url}/source/slow-timeout` });
        await extract(host, id, { format: 'aac' });
        const r = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
        assert.equal(r.status, 'failed');
        assert.match(r.error ?? '', /timed out after 1 s/);
        const row = await jobRow(host, id);
        assert.equal(row.attempts, 2);
        assert.equal(row.owner, null);
      } finally {
        await host.close();
      }
    });

    it('retries a transient failure with backoff and then succeeds', async () => {
      const host = await startTestHost({ mode: mode.name, env: { ...FAST, MEDIA_ALLOWED_HOSTS: '127.0.0.1:*' }, plugins: [audioPlugin] });
      try {
        const id = await createDebate(host, { video_url: `${media.url}/flaky/media/master.m3u8` });
        await extract(host, id, { format: 'aac' });
        const r = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
        assert.equal(r.status, 'ready', r.error ?? '');
        assert.equal((await jobRow(host, id)).attempts, 2);
        const s = await streaming(host, id);
        // not the default rendition (mp3/128k), but the one ready: /streaming offers it
        assert.equal(s.audio_available, true);
        assert.equal(s.format, 'aac');
        assert.equal(s.renditions[0]!.status, 'ready');
      } finally {
        await host.close();
      }
    });
  });
}
