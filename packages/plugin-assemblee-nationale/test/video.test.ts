import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DebateSchema, type DebateView, type EntityManager } from '@robian/core';
import { DEFAULT_BASES, PoliteFetcher, assembleeNationalePlugin, optionsSchema, rebase } from '@robian/plugin-assemblee-nationale';
import { ADMIN_KEY, STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { FIXTURES_JSON, FIXTURES_SKIP, INTERFACE_UID, localBases, localVideoFiles, serve, type TestServer } from './helpers.ts';

const PAGE_PATH = `/video.${INTERFACE_UID}.2eme-seance--reponse-integrale-6-octobre-2026`;
/** A réunion of the samples: the served NVS names it as its meeting, so the link can be checked. */
const MEETING = 'RUANR5L17S2025IDS29505';

for (const mode of STORAGE_MODES) {
  describe(`video page → media, chapters and speakers on ${mode.name}`, { skip: FIXTURES_SKIP || mode.skip }, () => {
    let server: TestServer;
    let host: TestHost;
    let files: { page: string; nvs: string };
    let throttle = false;
    let meeting = MEETING;

    before(async () => {
      server = await serve((req, res, hit) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (throttle && hit === 1 && path.startsWith('/video.')) {
          res.writeHead(429, { 'retry-after': '1' });
          res.end();
          return;
        }
        if (path === '/video.6666_abcdef66.noog') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(files.page.replace(/<meta property="og:video"[^>]*>/, '').replace(/<meta itemprop="contentURL"[^>]*>/, ''));
          return;
        }
        if (path === '/video.5555_abcdef55.foreign') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(files.page.replaceAll(`${server.url}/vod/`, 'http://media.example.org/vod/'));
          return;
        }
        if (/^\/video\.\d+_[0-9a-f]+\./.test(path) && !path.endsWith('.gone')) {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(files.page);
        } else if (/^\/Datas\/an\/\d+_[0-9a-f]+\/content\/data\.nvs$/.test(path)) {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end(localVideoFiles(server.url, meeting).nvs);
        } else if (path === '/redirect-away') {
          res.writeHead(302, { location: 'http://localhost:9/elsewhere' });
          res.end();
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      files = localVideoFiles(server.url, MEETING);
      host = await startTestHost({ mode: mode.name, plugins: [assembleeNationalePlugin], env: localBases(server.url) });
      await host.robian.kernel.services.get('assemblee.import')(FIXTURES_JSON);
    });
    after(async () => {
      await host?.close();
      await server?.close();
    });

    it('the source declares its hosts (from the base URLs) and recognises video pages', () => {
      const source = host.robian.kernel.sources.get('assemblee-nationale');
      assert.ok(source);
      assert.deepEqual(source.mediaHosts, [new URL(server.url).host]);
      assert.ok(source.canResolve(new URL(server.url + PAGE_PATH)));
      assert.ok(source.canResolve(new URL(`https://videos.assemblee-nationale.fr${PAGE_PATH}`)), 'the published address maps to the mirror');
      assert.equal(source.canResolve(new URL(`${server.url}/autre-page`)), false);
      assert.equal(source.canResolve(new URL(`https://example.org${PAGE_PATH}`)), false);
      assert.ok(host.robian.kernel.sources.mediaHosts().includes(new URL(server.url).host));
    });

    it('resolves cheapest first: published MP3, MP4 (AAC), HLS master; chapters, speakers, meeting', async () => {
      const source = host.robian.kernel.sources.get('assemblee-nationale')!;
      const media = await source.resolve(new URL(server.url + PAGE_PATH));
      assert.deepEqual(
        media.candidates.map((c) => [c.kind, c.audioCodec, c.url]),
        [
          ['mp3', 'mp3', `${server.url}/vod/mp4/ida/domain1/2026/10/hemi_20261006211505.mp3`],
          ['mp4', 'aac', `${server.url}/vod/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4`],
          ['hls', 'aac', `${server.url}/videos/definst/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4/master.m3u8`],
        ],
      );
      assert.equal(media.candidates[0]!.verified, false, 'the MP3 address is derived, not read from the page');
      assert.equal(media.meetingExternalId, MEETING);
      assert.equal(media.chapters?.length, 26);
      assert.equal(media.speakers?.length, 43);
      assert.equal(media.legislature, 17);
      assert.equal(media.debateType, 'seance_publique');
      assert.equal(media.thumbnailUrl, `${server.url}/Datas/an/${INTERFACE_UID}/files/seances.jpg`);
      assert.equal(media.captionsUrl, `${server.url}/Datas/an/${INTERFACE_UID}/files/hemi_20261006211505_1.srt`);
    });

    it('fetches a page once: later resolutions come from the cache', async () => {
      const source = host.robian.kernel.sources.get('assemblee-nationale')!;
      const before = server.hits.get(PAGE_PATH) ?? 0;
      await source.resolve(new URL(server.url + PAGE_PATH));
      await source.resolve(new URL(server.url + PAGE_PATH));
      assert.equal(server.hits.get(PAGE_PATH) ?? 0, before);
    });

    it('links the video to its réunion: page, MP4, chapters and speakers on the debate', async () => {
      const link = host.robian.kernel.services.get('assemblee.linkVideo');
      const result = await link(server.url + PAGE_PATH);
      assert.equal(result.created, false);
      assert.equal(result.meeting_id, MEETING);
      assert.equal(result.chapters, 26);
      assert.equal(result.speakers_linked, 43);
      // 6 of the 43 speakers are among the 20 acteurs of the samples; the others are created from the NVS names
      assert.equal(result.speakers_created, 37);
      const res = await host.request(`/api/debats/${result.debate_id}`);
      assert.equal(res.status, 200);
      const debate = (await res.json()) as DebateView;
      assert.equal(debate.external_id, MEETING);
      assert.equal(debate.source_url, server.url + PAGE_PATH);
      assert.equal(debate.video_url, `${server.url}/vod/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4`);
      assert.equal(debate.chapters.length, 26);
      assert.equal(debate.chapters.find((c) => c.speaker_external_id === 'PA720560')?.title, 'Mme Perrine Goulet');
      assert.equal(debate.speakers.length, 43);
      const goulet = debate.deputies.find((s) => s.external_id === 'PA720560');
      assert.equal(goulet?.political_group_short, 'Dem', 'a known deputy is linked, not duplicated');
      assert.equal(debate.title.startsWith('3e séance'), true, 'the agenda title is kept');
      // linking again changes nothing and creates nobody
      const again = await link(server.url + PAGE_PATH);
      assert.equal(again.speakers_created, 0);
      assert.equal(again.debate_id, result.debate_id);
      // the agenda import does not undo the link
      const reimport = await host.robian.kernel.services.get('assemblee.import')(FIXTURES_JSON);
      assert.equal(reimport.report.debates.created, 0);
      const after = (await (await host.request(`/api/debats/${result.debate_id}`)).json()) as DebateView;
      assert.equal(after.chapters.length, 26);
      assert.equal(after.source_url, server.url + PAGE_PATH);
    });

    it('creates the debate of a réunion the agenda has not listed yet', async () => {
      meeting = 'RUANR5L17S2027IDS30927';
      try {
        const result = await host.robian.kernel.services.get('assemblee.linkVideo')(`${server.url}/video.1234_abcdef01.other`);
        assert.equal(result.created, true);
        assert.equal(result.debate.external_id, 'RUANR5L17S2027IDS30927');
        assert.equal(result.debate.type, 'seance_publique');
        assert.equal(result.debate.date, '2026-10-06');
        assert.equal(result.debate.date_time, '2026-10-06T19:15:05.000Z');
        assert.match(result.debate.title, /^2ème séance : Réponse intégrale/);
      } finally {
        meeting = MEETING;
      }
    });

    it('POST /api/assemblee/videos: admin only, names a bad field, 502 when the site fails', async () => {
      const anonymous = await host.request('/api/assemblee/videos', { method: 'POST', json: { url: server.url + PAGE_PATH } });
      assert.equal(anonymous.status, 401);
      const ok = await host.request('/api/assemblee/videos', { method: 'POST', admin: true, json: { url: server.url + PAGE_PATH } });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { meeting_id: string }).meeting_id, MEETING);
      const wrong = await host.request('/api/assemblee/videos', { method: 'POST', admin: true, json: { url: 'https://example.org/video.1_ab' } });
      assert.equal(wrong.status, 422);
      assert.match(((await wrong.json()) as { detail: string }).detail, /url/);
      const missing = await host.request('/api/assemblee/videos', { method: 'POST', admin: true, json: { url: `${server.url}/video.9999_abcdef99.gone` } });
      assert.equal(missing.status, 502);
      assert.match(((await missing.json()) as { detail: string }).detail, /HTTP 404/);
      assert.ok(ADMIN_KEY);
      const openapi = (await (await host.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
      assert.ok(openapi.paths['/api/assemblee/videos']?.post, 'the route is documented');
    });

    it('offers no URL outside the plugin hosts (the allow-list holds for what a page says)', async () => {
      const result = await host.robian.kernel.services.get('assemblee.linkVideo')(`${server.url}/video.5555_abcdef55.foreign`);
      assert.deepEqual(result.candidates.map((c) => c.kind), ['hls'], 'the MP3 and MP4 on media.example.org are dropped');
      assert.ok(result.warnings.some((w) => /media\.example\.org is not one of the plugin's hosts/.test(w)));
      assert.equal(result.debate.video_url, result.candidates[0]!.url);
    });

    it('falls back on the NVS source file when the page has no og:video', async () => {
      const media = await host.robian.kernel.sources.get('assemblee-nationale')!.resolve(new URL(`${server.url}/video.6666_abcdef66.noog`));
      assert.deepEqual(
        media.candidates.map((c) => [c.kind, c.origin, c.url]),
        [
          ['mp3', 'nvs:audio', `${server.url}/vod/mp4/ida/domain1/2026/10/hemi_20261006211505.mp3`],
          ['mp4', 'nvs:source', `${server.url}/vod/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4`],
        ],
      );
    });

    it('refuses to give a video page to a second debate (409)', async () => {
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      await em.nativeUpdate(DebateSchema, { externalId: 'RUANR5L17S2025IDS29501' }, { sourceUrl: `${server.url}/video.7777_abcdef77.taken` });
      const res = await host.request('/api/assemblee/videos', { method: 'POST', admin: true, json: { url: `${server.url}/video.7777_abcdef77.taken` } });
      assert.equal(res.status, 409);
      assert.match(((await res.json()) as { detail: string }).detail, /already has this video page/);
    });

    it('waits as a 429 Retry-After asks, then succeeds', async () => {
      const fresh = `${server.url}/video.1234_abcdef01.other?throttled=1`;
      throttle = true;
      server.hits.clear();
      try {
        const media = await host.robian.kernel.sources.get('assemblee-nationale')!.resolve(new URL(fresh));
        assert.equal(media.candidates.length, 3);
        assert.equal(server.hits.get('/video.1234_abcdef01.other'), 2);
      } finally {
        throttle = false;
      }
    });
  });
}

describe('polite fetching', () => {
  let server: TestServer;
  let inFlight = 0;
  let maxInFlight = 0;
  before(async () => {
    server = await serve((req, res, hit) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/slow') {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.end('ok');
        }, 30);
      } else if (path === '/busy') {
        res.writeHead(503, { 'retry-after': '3600' });
        res.end();
      } else if (path === '/flaky') {
        if (hit < 3) res.writeHead(500);
        res.end('ok');
      } else if (path === '/away') {
        res.writeHead(302, { location: 'http://localhost:9/x' });
        res.end();
      } else if (path === '/big') {
        res.end('x'.repeat(5000));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  after(() => server.close());
  const fetcher = (extra: Partial<ConstructorParameters<typeof PoliteFetcher>[0]> = {}) =>
    new PoliteFetcher({
      allowedHosts: () => new Set([new URL(server.url).host]),
      maxConcurrent: 2,
      maxRetries: 3,
      retryBaseMs: 5,
      maxRetryAfterSeconds: 60,
      userAgent: 'robian-test',
      ...extra,
    });
  const opts = { timeoutMs: 5000, maxBytes: 1024 * 1024 };

  it('keeps at most maxConcurrent requests in flight', async () => {
    const f = fetcher();
    await Promise.all(Array.from({ length: 6 }, () => f.text(`${server.url}/slow`, opts)));
    assert.equal(maxInFlight, 2);
    assert.equal(f.active, 0);
  });

  it('retries a 5xx with backoff, and gives up on a Retry-After longer than accepted', async () => {
    const f = fetcher();
    assert.equal((await f.text(`${server.url}/flaky`, opts)).text, 'ok');
    assert.equal(server.hits.get('/flaky'), 3);
    const waits: number[] = [];
    const g = fetcher({ sleep: async (ms) => void waits.push(ms) });
    await assert.rejects(g.text(`${server.url}/busy`, opts), /Retry-After 3600s/);
    assert.deepEqual(waits, []);
  });

  it('refuses hosts outside the list, redirects included, and bodies over the cap', async () => {
    const f = fetcher();
    await assert.rejects(f.text('http://localhost:9/x', opts), /not one of the plugin's hosts/);
    await assert.rejects(f.text(`${server.url}/away`, opts), /localhost:9 is not one of the plugin's hosts/);
    await assert.rejects(f.text(`${server.url}/big`, { ...opts, maxBytes: 100 }), /larger than the 100/);
    await assert.rejects(f.text('file:///etc/passwd', opts), /refusing a file: URL/);
  });

  it('downloads to a temporary name and leaves nothing when the size cap is passed', async () => {
    const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'robian-an-dl-'));
    try {
      const f = fetcher();
      const target = join(dir, 'data.zip');
      const done = await f.download(`${server.url}/big`, target, { timeoutMs: 5000, maxBytes: 10_000 });
      assert.equal(done.bytes, 5000);
      assert.equal(readFileSync(target, 'utf8').length, 5000);
      await assert.rejects(f.download(`${server.url}/big`, join(dir, 'small.zip'), { timeoutMs: 5000, maxBytes: 1000 }), /larger than the 1000/);
      assert.deepEqual(readdirSync(dir), ['data.zip'], 'no partial file left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps the published hosts to configured mirrors', () => {
    const options = optionsSchema.parse({ originBaseUrl: 'http://127.0.0.1:8080/mirror' });
    assert.equal(rebase('http://anorigin.vodalys.com/vod/a.mp4', options), 'http://127.0.0.1:8080/mirror/vod/a.mp4');
    assert.equal(rebase('http://videos-an.vodalys.com/videos/x', options), 'http://videos-an.vodalys.com/videos/x', 'not configured: unchanged');
    assert.equal(DEFAULT_BASES.hlsBaseUrl, 'http://videos-an.vodalys.com/');
  });
});
