import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestEnvironment, type TestHost } from '@robian/test-support';
import { audioPlugin, whichSync } from '../src/index.ts';
import { FFMPEG, FFPROBE, createDebate, extract, hlsFixture, startMediaServer, waitRendition, type MediaServer } from './helpers.ts';

const exec = promisify(execFile);
const fixture = await hlsFixture();
const CLI = fileURLToPath(new URL('../../host/src/cli.ts', import.meta.url));

interface Health {
  status: string;
  plugins: { audio: { status: string; binaries: Record<string, { found: boolean; version: string | null; path: string | null; origin: string; error?: string }>; allowed_hosts: string[] } };
}

describe('/health/detailed', () => {
  it('names the binaries found and their versions', async () => {
    const host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: 'media.example.org,*.example.net' }, plugins: [audioPlugin] });
    try {
      const h = (await (await host.request('/health/detailed')).json()) as Health;
      const a = h.plugins.audio;
      assert.equal(a.status, 'ok');
      assert.equal(a.binaries.ffmpeg!.found, true);
      assert.match(a.binaries.ffmpeg!.version ?? '', /^\d+\.\d+/);
      assert.equal(a.binaries.ffprobe!.found, true);
      assert.equal(a.binaries['yt-dlp']!.found, true);
      assert.match(a.binaries['yt-dlp']!.version ?? '', /^\d{4}\.\d{2}\.\d{2}/);
      assert.deepEqual(a.allowed_hosts.sort(), ['*.example.net', 'media.example.org']);
    } finally {
      await host.close();
    }
  });

  it('is under the host’s strict rate limit: extraction requests per client and minute (429 with Retry-After)', async () => {
    const host = await startTestHost({ env: { RATE_LIMIT_STRICT_PER_MINUTE: '2', MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', AUDIO_WORKERS: 'false' }, plugins: [audioPlugin] });
    try {
      const id = await createDebate(host, { video_url: 'http://127.0.0.1:9/media/master.m3u8' });
      assert.equal((await extract(host, id, { format: 'mp3' }, { admin: false })).status, 202);
      assert.equal((await extract(host, id, { format: 'mp3' }, { admin: false })).status, 202);
      const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'mp3' } });
      assert.equal(res.status, 429);
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    } finally {
      await host.close();
    }
  });

  it('documents its routes in /openapi.json', async () => {
    const host = await startTestHost({ plugins: [audioPlugin] });
    try {
      const doc = (await (await host.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      assert.ok(doc.paths['/api/debats/{id}/streaming']?.get);
      assert.ok(doc.paths['/api/debats/{id}/extract']?.post?.responses['202']);
      assert.ok(doc.paths['/api/debats/{id}/extract']?.delete);
      assert.ok(doc.paths['/api/debats/{id}/audio']?.get?.responses['206']);
      assert.ok(doc.paths['/api/debats/{id}/download']?.get);
    } finally {
      await host.close();
    }
  });

  it('finds ffmpeg and ffprobe installed after the start, without a restart (issue #11 item 14)', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'robian-bin-'));
    const media = await startMediaServer(fixture);
    const host = await startTestHost({
      env: { FFMPEG_PATH: join(bin, 'ffmpeg'), FFPROBE_PATH: join(bin, 'ffprobe'), BINARIES_RECHECK_SECONDS: '0', MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100' },
      plugins: [audioPlugin],
    });
    try {
      const before = (await (await host.request('/health/detailed')).json()) as Health;
      assert.equal(before.plugins.audio.status, 'degraded');
      assert.equal(before.plugins.audio.binaries.ffmpeg!.found, false);
      // the operator installs them while the server runs
      symlinkSync(whichSync(FFMPEG)!, join(bin, 'ffmpeg'));
      symlinkSync(whichSync(FFPROBE)!, join(bin, 'ffprobe'));
      const now = (await (await host.request('/health/detailed')).json()) as Health;
      assert.equal(now.plugins.audio.status, 'ok');
      assert.equal(now.plugins.audio.binaries.ffmpeg!.found, true);
      assert.match(now.plugins.audio.binaries.ffprobe!.version ?? '', /\d/);
      const id = await createDebate(host, { video_url: `${media.url}/media/audio-64k.mp3` });
      assert.equal((await extract(host, id, { format: 'mp3', quality: '64k' })).status, 202);
      const done = await waitRendition(host, id, 'mp3', '64k', ['ready', 'failed']);
      assert.equal(done.status, 'ready', done.error ?? '');
    } finally {
      await host.close();
      await media.close();
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('reports a missing FFMPEG_PATH as degraded, naming the variable', async () => {
    const host = await startTestHost({ env: { FFMPEG_PATH: '/nonexistent/ffmpeg', YTDLP_PATH: '/nonexistent/yt-dlp' }, plugins: [audioPlugin] });
    try {
      const h = (await (await host.request('/health/detailed')).json()) as Health;
      assert.equal(h.plugins.audio.status, 'degraded');
      assert.equal(h.plugins.audio.binaries.ffmpeg!.found, false);
      assert.match(h.plugins.audio.binaries.ffmpeg!.error ?? '', /FFMPEG_PATH=\/nonexistent\/ffmpeg/);
      assert.match(h.plugins.audio.binaries['yt-dlp']!.error ?? '', /YTDLP_PATH/);
    } finally {
      await host.close();
    }
  });
});

for (const mode of STORAGE_MODES) {
  describe(`robian audio cleanup (${mode.name})`, { skip: mode.skip }, () => {
    let media: MediaServer;
    let env: TestEnvironment;
    let host: TestHost;
    before(async () => {
      media = await startMediaServer(fixture);
      env = await createTestEnvironment(mode.name, { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100' });
      host = await startTestHost({ environment: env, plugins: [audioPlugin] });
    });
    after(async () => {
      await host?.close();
      await env?.cleanup();
      await media?.close();
    });

    it('removes expired renditions, orphans and stale temp files and reports the bytes freed', async () => {
      const played = await createDebate(host, { video_url: `${media.url}/media/master.m3u8` });
      const idle = await createDebate(host, { video_url: `${media.url}/media/master.m3u8` });
      for (const id of [played, idle]) {
        await extract(host, id, { format: 'aac' });
        assert.equal((await waitRendition(host, id, 'aac', 'source', ['ready', 'failed'])).status, 'ready');
      }
      const conn = host.robian.kernel.orm.em.fork().getConnection();
      const long = new Date(Date.now() - 40 * 86_400_000);
      await conn.execute('update audio_file set last_played_at = ?, created_at = ? where debate_id = ?', [long, long, idle]);
      await conn.execute('update audio_file set last_played_at = ? where debate_id = ?', [new Date(), played]);
      const root = join(env.dataDir, 'audio');
      mkdirSync(join(root, '999999'), { recursive: true });
      writeFileSync(join(root, '999999', 'mp3-64k.mp3'), Buffer.alloc(1234));
      const stale = join(root, String(played), 'mp3-128k.mp3.1abc.tmp');
      writeFileSync(stale, Buffer.alloc(777));
      utimesSync(stale, long, long);
      const fresh = join(root, String(played), 'mp3-96k.mp3.2abc.tmp');
      writeFileSync(fresh, Buffer.alloc(55));

      const cli = (args: string[]) =>
        exec(process.execPath, ['--conditions=robian-source', CLI, 'audio', 'cleanup', '--json', ...args], { env: { PATH: process.env.PATH ?? '', ...env.env } });
      const dry = JSON.parse((await cli(['--dry-run', '--ttl-days', '30'])).stdout) as { removed: { key: string; reason: string; bytes: number }[]; freed_bytes: number };
      assert.equal(dry.removed.length, 3);
      assert.ok(existsSync(join(root, '999999', 'mp3-64k.mp3')), 'a dry run removes nothing');

      const report = JSON.parse((await cli(['--ttl-days', '30'])).stdout) as typeof dry;
      const byReason = Object.fromEntries(report.removed.map((r) => [r.reason, r]));
      assert.equal(byReason.expired?.key, `${idle}/aac-source.m4a`);
      assert.equal(byReason.orphan?.key, '999999/mp3-64k.mp3');
      assert.equal(byReason.orphan?.bytes, 1234);
      assert.equal(byReason.temp?.bytes, 777);
      assert.equal(report.freed_bytes, report.removed.reduce((n, r) => n + r.bytes, 0));
      assert.ok(!existsSync(join(root, String(idle), 'aac-source.m4a')));
      assert.ok(!existsSync(stale));
      assert.ok(existsSync(fresh), 'a temp file being written is left alone');
      assert.ok(existsSync(join(root, String(played), 'aac-source.m4a')), 'a rendition played recently stays');
      const idleDebate = (await (await host.request(`/api/debats/${idle}`)).json()) as { has_audio: boolean; audio_files: unknown[] };
      assert.equal(idleDebate.has_audio, false);
      assert.equal((await host.request(`/api/debats/${idle}/audio?format=aac`)).status, 404);
      // the rendition can be extracted again
      assert.equal((await extract(host, idle, { format: 'aac' })).status, 202);
      assert.equal((await waitRendition(host, idle, 'aac', 'source', ['ready', 'failed'])).status, 'ready');
    });
  });
}
