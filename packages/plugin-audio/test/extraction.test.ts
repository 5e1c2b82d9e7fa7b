import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkSchema } from '@robian/core';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin } from '../src/index.ts';
import { MEDIA_SECONDS, createDebate, extract, hlsFixture, pcmMd5, probe, startMediaServer, streaming, testSourcePlugin, waitRendition, type MediaServer } from './helpers.ts';

const fixture = await hlsFixture();

for (const mode of STORAGE_MODES) {
  describe(`extraction jobs (${mode.name})`, { skip: mode.skip }, () => {
    let media: MediaServer;
    let host: TestHost;
    const events: { name: string; payload: Record<string, unknown> }[] = [];

    before(async () => {
      media = await startMediaServer(fixture);
      host = await startTestHost({
        mode: mode.name,
        plugins: [testSourcePlugin(() => media.url), audioPlugin],
        env: { MAX_CONCURRENT_EXTRACTIONS: '2', EXTRACTION_RETRY_BASE_MS: '50', EXTRACTION_POLL_INTERVAL_MS: '100', EXTRACTION_PROGRESS_INTERVAL_MS: '0' },
      });
      host.robian.kernel.events.onAny((name, payload) => {
        if (name.startsWith('extraction.')) events.push({ name, payload: payload as Record<string, unknown> });
      });
    });
    after(async () => {
      await host?.close();
      await media?.close();
    });

    it('migrates to a schema without drift', async () => {
      const report = await checkSchema(host.robian.kernel.orm);
      assert.deepEqual(report.pending, []);
      assert.ok(report.executed.includes('audio-0001-extraction-job'));
      assert.equal(report.drift, '');
    });

    it('keeps the source AAC by stream copy as the master, then derives mp3, opus and wav with the right durations', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/source/seance-1` });
      // read (and cache) the debate and a list before: the audio must invalidate both
      assert.equal(((await (await host.request(`/api/debats/${id}`)).json()) as { has_audio: boolean }).has_audio, false);
      const listBefore = (await (await host.request('/api/debats/?has_audio=true&per_page=100')).json()) as { items?: { id: number }[]; debates?: { id: number }[] };
      assert.ok(!JSON.stringify(listBefore).includes(`"id":"${id}"`));
      const first = await extract(host, id, { format: 'mp3', quality: '64k' });
      assert.equal(first.status, 202);
      assert.equal(first.job.status, 'queued');
      const mp3 = await waitRendition(host, id, 'mp3', '64k', ['ready', 'failed']);
      assert.equal(mp3.status, 'ready', mp3.error ?? '');
      const s = await streaming(host, id);
      const master = s.renditions.find((r) => r.format === 'aac' && r.quality === 'source');
      assert.ok(master, 'the AAC master is a rendition too');
      assert.equal(master.status, 'ready');
      const dir = join(host.env.dataDir, 'audio', String(id));
      // stream copy: the master's AAC packets are the source's (same codec, no re-encode at another bitrate)
      const m = await probe(join(dir, 'aac-source.m4a'));
      assert.equal(m.codec, 'aac');
      assert.ok(Math.abs(m.duration - MEDIA_SECONDS) <= 0.5, `master duration ${m.duration}`);
      assert.equal(await pcmMd5(join(dir, 'aac-source.m4a')), await pcmMd5(join(fixture, 'master.m3u8')), 'the master decodes to the very samples of the source (no re-encode)');
      const p = await probe(join(dir, 'mp3-64k.mp3'));
      assert.equal(p.codec, 'mp3');
      assert.ok(Math.abs(p.duration - MEDIA_SECONDS) <= 0.5, `mp3 duration ${p.duration}`);
      assert.ok(Math.abs((mp3.duration_seconds ?? 0) - MEDIA_SECONDS) <= 0.5);

      for (const [format, quality, codec, file] of [
        ['opus', '32k', 'opus', 'opus-32k.opus'],
        ['wav', 'pcm', 'pcm_s16le', 'wav-pcm.wav'],
        ['mp3', '192k', 'mp3', 'mp3-192k.mp3'],
      ] as const) {
        const before = media.hits.length;
        const r = await extract(host, id, { format, quality });
        assert.equal(r.status, 202);
        const done = await waitRendition(host, id, format, quality, ['ready', 'failed']);
        assert.equal(done.status, 'ready', done.error ?? '');
        const info = await probe(join(dir, file));
        assert.equal(info.codec, codec);
        assert.ok(Math.abs(info.duration - MEDIA_SECONDS) <= 0.5, `${format} duration ${info.duration}`);
        assert.equal(media.hits.length, before, `${format} was derived from the local master, without fetching the source again`);
      }
      // the master was made on the way, without a job of its own: asking for it does not extract it again
      const hitsBefore = media.hits.length;
      const masterAgain = await extract(host, id, { format: 'aac' });
      assert.equal(masterAgain.status, 200);
      assert.equal(masterAgain.job.status, 'completed');
      assert.equal(media.hits.length, hitsBefore);
      // nothing half-written left behind
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
      const debate = (await (await host.request(`/api/debats/${id}`)).json()) as { has_audio: boolean; audio_files: { format: string }[] };
      assert.equal(debate.has_audio, true, 'the debates cache was invalidated');
      assert.deepEqual(debate.audio_files.map((a) => a.format).sort(), ['aac', 'mp3', 'mp3', 'opus', 'wav'], 'every rendition is listed');
      const names = new Set(events.filter((e) => e.payload.debate_id === id).map((e) => e.name));
      for (const n of ['extraction.started', 'extraction.progress', 'extraction.completed']) assert.ok(names.has(n), n);
      const progress = events.filter((e) => e.name === 'extraction.progress' && e.payload.debate_id === id).map((e) => e.payload.progress as number);
      assert.ok(progress.every((x) => x >= 0 && x <= 100));
    });

    it('copies a published MP3 at the requested bitrate instead of re-encoding, and skips a dead candidate', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/source/mp3-offer` });
      await extract(host, id, { format: 'mp3', quality: '64k' });
      const r = await waitRendition(host, id, 'mp3', '64k', ['ready', 'failed']);
      assert.equal(r.status, 'ready', r.error ?? '');
      const out = join(host.env.dataDir, 'audio', String(id), 'mp3-64k.mp3');
      assert.equal(await pcmMd5(out), await pcmMd5(join(fixture, 'audio-64k.mp3')), 'same samples: copied');
      const s = await streaming(host, id);
      assert.equal(s.renditions.length, 1, 'no AAC master: the MP3 was enough');

      const fb = await createDebate(host, { video_url: `${media.url}/source/fallback` });
      await extract(host, fb, { format: 'aac' });
      const f = await waitRendition(host, fb, 'aac', 'source', ['ready', 'failed']);
      assert.equal(f.status, 'ready', f.error ?? '');
      assert.ok(media.hits.includes('/media/missing.m4a'), 'the cheapest candidate was tried first');
    });

    it('answers an extract request for a ready rendition with 200 and the rendition', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/media/master.m3u8` });
      assert.equal((await extract(host, id, { format: 'aac' })).status, 202);
      const ready = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
      assert.equal(ready.status, 'ready', ready.error ?? '');
      const again = await extract(host, id, { format: 'aac' });
      assert.equal(again.status, 200);
      assert.equal(again.job.status, 'completed');
    });

    it('creates one job for concurrent requests of the same rendition', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/source/slow-dedup` });
      const answers = await Promise.all(Array.from({ length: 8 }, () => extract(host, id, { format: 'mp3', quality: '96k', priority: 'high' })));
      for (const a of answers) assert.equal(a.status, 202);
      assert.equal(new Set(answers.map((a) => a.job.extraction_id)).size, 1);
      const s = await streaming(host, id);
      assert.equal(s.renditions.filter((r) => r.format === 'mp3').length, 1);
      const cancel = await host.request(`/api/debats/${id}/extract`, { method: 'DELETE', admin: true });
      assert.equal(cancel.status, 200);
    });

    it('resolves an unknown page with yt-dlp', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/page.html` });
      assert.equal((await extract(host, id, { format: 'aac' })).status, 202);
      const r = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
      assert.equal(r.status, 'ready', r.error ?? '');
      assert.ok(Math.abs((r.duration_seconds ?? 0) - MEDIA_SECONDS) <= 0.5);
    });

    it('fails a job whose source is missing or not media, with the tool’s own error and no retry loop', async () => {
      const missing = await createDebate(host, { video_url: `${media.url}/media/nothing-here.m3u8` });
      const broken = await createDebate(host, { video_url: `${media.url}/broken/master.m3u8` });
      await extract(host, missing, { format: 'aac' });
      await extract(host, broken, { format: 'aac' });
      const a = await waitRendition(host, missing, 'aac', 'source', ['ready', 'failed']);
      const b = await waitRendition(host, broken, 'aac', 'source', ['ready', 'failed']);
      assert.equal(a.status, 'failed');
      assert.match(a.error ?? '', /404/);
      assert.equal(b.status, 'failed');
      assert.match(b.error ?? '', /Invalid data|ffprobe could not read/);
      const failed = events.filter((e) => e.name === 'extraction.failed' && (e.payload.debate_id === missing || e.payload.debate_id === broken));
      assert.equal(failed.length, 2);
      const s = await streaming(host, missing);
      assert.equal(s.audio_available, false);
      assert.equal(s.extraction_status, 'error', "the original's word");
      assert.equal(s.rendition_status, 'failed');
    });

    it('refuses a host outside the allow-list with 422 naming it, before any job exists', async () => {
      const port = new URL(media.url).port;
      const id = await createDebate(host, { video_url: `http://localhost:${port}/media/master.m3u8` });
      const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'mp3' } });
      assert.equal(res.status, 422);
      const problem = (await res.json()) as { detail: string; host: string };
      assert.equal(problem.host, `localhost:${port}`);
      assert.match(problem.detail, new RegExp(`"localhost:${port}"`));
      assert.deepEqual((await streaming(host, id)).renditions, []);
    });

    it('validates the rendition and the debate', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/media/master.m3u8` });
      const badQ = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'mp3', quality: '999k' } });
      assert.equal(badQ.status, 422);
      assert.equal(((await badQ.json()) as { errors: { field: string }[] }).errors[0]!.field, 'quality');
      const badF = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'flac' } });
      assert.equal(badF.status, 422);
      assert.equal(((await badF.json()) as { errors: { field: string }[] }).errors[0]!.field, 'format');
      assert.equal((await host.request('/api/debats/999999/extract', { method: 'POST', json: {} })).status, 404);
      const noVideo = await createDebate(host, {});
      assert.equal((await host.request(`/api/debats/${noVideo}/extract`, { method: 'POST', json: {} })).status, 422);
      assert.equal((await host.request('/api/debats/999999/streaming')).status, 404);
    });

    it('cancels a running job: processes killed, partial files removed (admin only)', async () => {
      const id = await createDebate(host, { video_url: `${media.url}/source/slow-cancel` });
      await extract(host, id, { format: 'aac' });
      await waitRendition(host, id, 'aac', 'source', ['running']);
      // let FFmpeg write some of the file
      const dir = join(host.env.dataDir, 'audio', String(id));
      for (let i = 0; i < 200 && !(existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp'))); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await host.request(`/api/debats/${id}/extract`, { method: 'DELETE' })).status, 401);
      const res = await host.request(`/api/debats/${id}/extract`, { method: 'DELETE', admin: true });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { cancelled: { status: string }[] };
      assert.equal(body.cancelled[0]!.status, 'cancelled');
      assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
      assert.ok(events.some((e) => e.name === 'extraction.cancelled' && e.payload.debate_id === id));
      const s = await streaming(host, id);
      assert.equal(s.renditions[0]!.status, 'cancelled');
      assert.equal((await host.request(`/api/debats/${id}/extract`, { method: 'DELETE', admin: true })).status, 404);
    });
  });
}
