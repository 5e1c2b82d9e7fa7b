import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseFeed } from 'podcast-partytime';
import { CommissionSchema, DebateSchema, DeputySchema, PLUGIN_API_VERSION, definePlugin, replaceTranscript, type EntityManager } from '@robian/core';
import { officialPlugins } from '@robian/host';
import { STORAGE_MODES, serveTestLiveHls, startTestHost, type TestHost, type TestLiveHls, serveTestMp3, type TestMp3Server } from '@robian/test-support';

const TITLE = 'Commission des finances : « PLF 2027 » & crédits de l’Éducation';
const COMMISSION = 'Commission des finances, de l’économie générale & du contrôle budgétaire';

async function seed(host: TestHost, mediaUrl: string): Promise<number[]> {
  const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
  const commission = em.create(CommissionSchema, { source: 'test', externalId: 'PO59048', name: COMMISSION, slug: 'finances-test', kind: 'commission' } as never);
  const deputy = em.create(DeputySchema, { source: 'test', externalId: 'PA720468', firstName: 'Éric', lastName: 'Coquerel', fullName: 'Éric Coquerel', slug: 'eric-coquerel', politicalGroup: 'La France insoumise', politicalGroupShort: 'LFI-NFP' } as never);
  const chapters = [
    { title: 'Ouverture', start_seconds: 0 },
    { title: 'Audition du ministre', start_seconds: 4 },
  ];
  const a = em.create(DebateSchema, { title: TITLE, type: 'commission', status: 'termine', date: new Date('2026-11-30T09:00:00Z'), commission, speakers: [deputy], chapters, videoUrl: `${mediaUrl}/seance.mp3?a` } as never);
  const b = em.create(DebateSchema, { title: 'Séance publique : questions au Gouvernement', type: 'question_gouvernement', status: 'termine', date: new Date('2026-11-25T15:00:00Z'), videoUrl: `${mediaUrl}/seance.mp3?b` } as never);
  const c = em.create(DebateSchema, { title: 'Sans audio', type: 'autre', status: 'termine', date: new Date('2026-12-01T10:00:00Z') } as never);
  await em.flush();
  await replaceTranscript(em, a.id, 'captions', [
    { start_seconds: 0, end_seconds: 3.5, text: 'La séance est ouverte.', speaker_name: 'Éric Coquerel', deputy_external_id: 'PA720468' },
    { start_seconds: 3.5, end_seconds: 7.5, text: 'Nous examinons les crédits & la réforme des retraites.', speaker_name: 'Éric Coquerel' },
  ]);
  for (const id of [a.id, b.id]) {
    const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', admin: true, json: { format: 'mp3', quality: '64k' } });
    assert.ok(res.status === 202 || res.status === 200, `extract ${id}: ${res.status}`);
  }
  for (const id of [a.id, b.id]) {
    for (let i = 0; i < 600; i++) {
      const info = (await (await host.request(`/api/debats/${id}/streaming`)).json()) as { renditions: { format: string; quality: string; status: string }[] };
      if (info.renditions.some((r) => r.format === 'mp3' && r.quality === '64k' && r.status === 'ready')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return [a.id, b.id, c.id];
}

/** A parliament with live streams: its sittings on air are relayed from the live HLS on 127.0.0.1. */
function liveSource(hls: TestLiveHls) {
  return definePlugin({
    name: 'test-live-source',
    version: '0.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      ctx.sources.register({
        id: 'test-live',
        name: 'Parlement de test',
        mediaHosts: [hls.host],
        canResolve: () => false,
        resolve: () => Promise.reject(new Error('no pages')),
        liveStream: async (d) => (d.status === 'en_cours' ? hls.playlistUrl : undefined),
      });
    },
  });
}

const HOUR = 3_600_000;

/**
 * Sittings around now: on air, scheduled in 3 h, ended 2 h ago (no recording yet), and those that
 * are not live items — scheduled in 10 days, ended 3 days ago, on air at a source without live
 * streams, and one that ended an hour ago whose recording is ready (an item, debate `recorded`).
 */
async function seedLive(host: TestHost, recorded: number) {
  const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
  const now = Date.now();
  const at = (h: number) => new Date(now + h * HOUR);
  const sitting = (externalId: string, title: string, status: string, start: Date, end: Date | null, source = 'test-live') =>
    em.create(DebateSchema, { source, externalId, title, type: 'seance_publique', status, date: start, startTime: start, endTime: end, sourceUrl: `https://parlement.test/seances/${externalId}`, description: `Ordre du jour : ${title}` } as never);
  const live = sitting('L1', 'Séance publique en direct : « budget » & amendements', 'en_cours', at(-0.5), at(2));
  const pending = sitting('P1', 'Séance publique de cet après-midi', 'programme', at(3), null);
  const ended = sitting('E1', 'Séance publique de ce matin', 'termine', at(-5), at(-2));
  sitting('P2', 'Séance publique dans dix jours', 'programme', at(240), null);
  sitting('E2', 'Séance publique d’il y a trois jours', 'termine', at(-74), at(-72));
  sitting('X1', 'Réunion sans flux en direct', 'en_cours', at(-1), null, 'manual');
  await em.flush();
  await em.nativeUpdate(DebateSchema, { id: recorded } as never, { source: 'test-live', externalId: 'R1', endTime: at(-1) } as never);
  return { live: live.id as number, pending: pending.id as number, ended: ended.id as number, now };
}

async function feed(host: TestHost, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(host.url + path, { headers });
  const text = await res.text();
  return { res, text, parsed: res.status === 200 ? parseFeed(text) : null };
}

for (const mode of STORAGE_MODES) {
  describe(`podcast feeds (${mode.name})`, { skip: mode.skip }, () => {
    let media: TestMp3Server;
    let hls: TestLiveHls;
    let host: TestHost;
    let ids: number[];
    let live: Awaited<ReturnType<typeof seedLive>>;
    before(async () => {
      media = await serveTestMp3({ seconds: 8, frequency: 440 });
      hls = await serveTestLiveHls({ frequency: 550 });
      host = await startTestHost({
        mode: mode.name,
        plugins: [...officialPlugins(), liveSource(hls)],
        env: { MEDIA_ALLOWED_HOSTS: new URL(media.url).host, AUDIO_BITRATE: '64k', REQUIRE_SIGNED_URLS: 'true', PODCAST_PAGE_SIZE: '1', LIVE_RELAY_GRACE_SECONDS: '1' },
      });
      ids = await seed(host, media.url);
      live = await seedLive(host, ids[1]!);
    });
    after(async () => {
      await host?.close();
      await hls?.close();
      await media?.close();
    });

    it('lists only the debates with audio, newest first, one page at a time (RFC 5005), as a valid podcast', async () => {
      const first = await feed(host, '/feeds/debats.xml');
      assert.equal(first.res.status, 200);
      assert.match(first.res.headers.get('content-type') ?? '', /application\/rss\+xml/);
      const p = first.parsed!;
      assert.equal(p.language, 'fr');
      assert.equal(p.items.length, 1);
      assert.equal(p.items[0]!.title, TITLE, 'accents, quotes and & survive the XML');
      assert.equal(p.owner?.name, 'Robian');
      assert.ok(p.itunesCategory?.includes('Government'));
      assert.match(first.text, /<atom:link rel="self" type="application\/rss\+xml" href="[^"]+\/feeds\/debats\.xml"\/>/);
      const next = /<atom:link rel="next" href="([^"]+)"\/>/.exec(first.text)?.[1];
      assert.ok(next, 'a next page');
      const second = await feed(host, new URL(next!.replaceAll('&amp;', '&')).pathname + new URL(next!.replaceAll('&amp;', '&')).search);
      assert.deepEqual(second.parsed!.items.map((i) => i.title), ['Séance publique : questions au Gouvernement']);
      assert.doesNotMatch(second.text, /rel="next"/);
      assert.doesNotMatch(first.text + second.text, /Sans audio/);
    });

    it('gives each item a stable GUID and enclosure, of the served length, fetchable with Range without cookies', async () => {
      const a = (await feed(host, '/feeds/debats.xml')).parsed!.items[0]!;
      const b = (await feed(host, '/feeds/debats.xml')).parsed!.items[0]!;
      assert.equal(a.guid, b.guid);
      assert.equal(a.enclosure.url, b.enclosure.url, 'apps dedupe by enclosure URL: it must not change between fetches');
      assert.match(a.enclosure.url, /signature=/);
      const whole = await fetch(a.enclosure.url, { method: 'HEAD' });
      assert.equal(whole.status, 200);
      assert.equal(Number(whole.headers.get('content-length')), a.enclosure.length);
      assert.equal(a.enclosure.type, 'audio/mpeg');
      const range = await fetch(a.enclosure.url, { headers: { range: 'bytes=100-199' } });
      assert.equal(range.status, 206);
      assert.equal((await range.arrayBuffer()).byteLength, 100);
      const unsigned = await fetch(`${host.url}/api/debats/${ids[0]}/audio?format=mp3&quality=64k`);
      assert.equal(unsigned.status, 403, 'REQUIRE_SIGNED_URLS still refuses unsigned URLs');
      await unsigned.body?.cancel();
      const otherVersion = await fetch(a.enclosure.url.replace(/v=[0-9a-z]+/, 'v=zz0'));
      assert.equal(otherVersion.status, 404, 'the URL of another version of the file never serves these bytes');
      await otherVersion.body?.cancel();
    });

    it('links Podcasting 2.0 chapters, WebVTT and SRT transcripts and the speakers', async () => {
      const { parsed, text } = await feed(host, '/feeds/commissions/finances-test.xml');
      const item = parsed!.items[0]!;
      assert.equal(item.title, TITLE);
      const chapters = await fetch(item.podcastChapters!.url);
      assert.equal(chapters.status, 200);
      const json = (await chapters.json()) as { version: string; chapters: { startTime: number; title: string }[] };
      assert.equal(json.version, '1.2.0');
      assert.deepEqual(json.chapters.map((c) => c.startTime), [0, 4]);
      const transcripts = item.podcastTranscripts ?? [];
      // the feed says application/x-subrip (the namespace's type); the parser reports SRT as application/srt
      assert.deepEqual(transcripts.map((t) => t.type).sort(), ['application/srt', 'text/vtt']);
      const vtt = await (await fetch(transcripts.find((t) => t.type === 'text/vtt')!.url)).text();
      assert.match(vtt, /^WEBVTT/);
      assert.match(vtt, /<v Éric Coquerel>/);
      assert.deepEqual((item.podcastPeople ?? []).map((p) => p.name), ['Éric Coquerel (LFI-NFP)']);
      assert.match(text, /rel="captions"/);
      assert.equal(parsed!.title, COMMISSION);
    });

    it('has a feed per deputy and per saved search, and refuses unknown names with 404', async () => {
      const deputy = await feed(host, '/feeds/deputes/eric-coquerel.xml');
      assert.deepEqual(deputy.parsed!.items.map((i) => i.title), [TITLE]);
      const search = await feed(host, '/feeds/search.xml?q=finances');
      assert.deepEqual(search.parsed!.items.map((i) => i.title), [TITLE]);
      assert.equal((await fetch(`${host.url}/feeds/commissions/nope.xml`)).status, 404);
      assert.equal((await fetch(`${host.url}/feeds/search.xml`)).status, 422);
    });

    it('announces the live sittings as podcast:liveItem (pending, live, ended) with the live relay as enclosure', async () => {
      const { parsed, text } = await feed(host, '/feeds/debats.xml');
      const items = parsed!.podcastLiveItems ?? [];
      assert.deepEqual(items.map((i) => [i.status, i.title]), [
        ['live', 'Séance publique en direct : « budget » & amendements'],
        ['pending', 'Séance publique de cet après-midi'],
        ['ended', 'Séance publique de ce matin'],
      ], 'on air first, then the next, then the one just ended; not the far ones, not a source without live streams, not a recorded one');
      const byStatus = Object.fromEntries(items.map((i) => [i.status, i]));
      const hour = (h: number) => Math.floor((live.now + h * HOUR) / 1000) * 1000;
      for (const [status, id, start, end] of [['live', live.live, -0.5, 2], ['pending', live.pending, 3, undefined], ['ended', live.ended, -5, -2]] as const) {
        const i = byStatus[status]!;
        assert.equal(i.guid, `robian:live:${id}`);
        assert.equal(Math.floor(i.start.getTime() / 1000) * 1000, hour(start), `${status}: start`);
        assert.equal(i.end && Math.floor(i.end.getTime() / 1000) * 1000, end === undefined ? undefined : hour(end), `${status}: end`);
        assert.equal(i.enclosure.url, `${host.url}/api/debats/${id}/live`, `${status}: the live relay`);
        assert.equal(i.enclosure.type, 'application/vnd.apple.mpegurl');
        assert.equal(i.link, `${host.url}/api/debats/${id}`);
        assert.equal(i.description, `Ordre du jour : ${i.title}`);
        assert.deepEqual(i.contentLinks.map((c) => c.url), [`https://parlement.test/seances/${['L1', 'P1', 'E1'][['live', 'pending', 'ended'].indexOf(status)]}`]);
      }
      assert.deepEqual(parsed!.items.map((i) => i.title), [TITLE], 'live items are not items');
      assert.match(text, /<podcast:liveItem status="live" start="[^"]+" end="[^"]+">/);

      // the live item's enclosure plays: the relay's playlist and a segment (FFmpeg relaying the live HLS)
      const playlist = await fetch(`${byStatus.live!.enclosure.url}?l=podcast`);
      assert.equal(playlist.status, 200, await playlist.clone().text());
      assert.match(playlist.headers.get('content-type') ?? '', /mpegurl/);
      const segment = /^(live\/seg\d{6}\.ts\?l=[a-z0-9]+)$/m.exec(await playlist.text())?.[1];
      assert.ok(segment);
      const bytes = await fetch(`${host.url}/api/debats/${live.live}/${segment}`);
      assert.equal(bytes.status, 200);
      assert.ok((await bytes.arrayBuffer()).byteLength > 0);
      for (const status of ['pending', 'ended']) {
        const off = await fetch(byStatus[status]!.enclosure.url);
        assert.equal(off.status, 404, `${status}: the relay answers only on air`);
        await off.body?.cancel();
      }
      assert.doesNotMatch((await feed(host, '/feeds/debats.xml?page=2')).text, /liveItem/, 'only on the first page');

      // the sitting leaves the air: its live item says ended (the feed follows debate.updated)
      const etag = (await fetch(`${host.url}/feeds/debats.xml`)).headers.get('etag');
      const put = await host.request(`/api/debats/${live.live}`, { method: 'PUT', admin: true, json: { status: 'termine', end_time: new Date(live.now - 60_000).toISOString() } });
      assert.equal(put.status, 200);
      let after: ReturnType<typeof parseFeed> = null;
      for (;;) {
        const f = await feed(host, '/feeds/debats.xml');
        after = f.parsed;
        if (f.res.headers.get('etag') !== etag) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(after!.podcastLiveItems!.map((i) => [i.status, i.guid]), [
        ['pending', `robian:live:${live.pending}`],
        ['ended', `robian:live:${live.live}`],
        ['ended', `robian:live:${live.ended}`],
      ]);
    });

    it('answers 304 to If-None-Match and If-Modified-Since', async () => {
      const { res } = await feed(host, '/feeds/debats.xml');
      const etag = res.headers.get('etag')!;
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      assert.equal((await fetch(`${host.url}/feeds/debats.xml`, { headers: { 'if-none-match': etag } })).status, 304);
      assert.equal((await fetch(`${host.url}/feeds/debats.xml`, { headers: { 'if-modified-since': res.headers.get('last-modified')! } })).status, 304);
    });

    it("serves a private collection's feed only with its token, until it is revoked", async () => {
      const device = (await (await host.request('/api/auth/device', { method: 'POST', json: {} })).json()) as { access_token: string };
      const auth = { authorization: `Bearer ${device.access_token}` };
      const created = (await (await host.request('/api/collections/', { method: 'POST', json: { name: 'Mes finances & moi' }, headers: auth })).json()) as { id: number | string };
      const cid = String(created.id);
      assert.ok((await host.request(`/api/collections/${cid}/debats/${ids[0]}`, { method: 'POST', json: {}, headers: auth })).ok);
      assert.equal((await fetch(`${host.url}/feeds/collections/${cid}.xml`)).status, 404);
      const token = (await (await host.request(`/api/collections/${cid}/feed-token`, { method: 'POST', headers: auth })).json()) as { feed_url: string; token: string };
      const ok = await feed(host, token.feed_url);
      assert.equal(ok.res.status, 200);
      assert.equal(ok.parsed!.title, 'Mes finances & moi');
      assert.deepEqual(ok.parsed!.items.map((i) => i.title), [TITLE]);
      assert.equal((await host.request(`/api/collections/${cid}/feed-token`, { method: 'POST' })).status, 401);
      assert.equal((await host.request(`/api/collections/${cid}/feed-token`, { method: 'DELETE', headers: auth })).status, 204);
      assert.equal((await fetch(host.url + token.feed_url)).status, 404, 'a revoked token opens nothing');
      assert.ok((await host.request(`/api/collections/${cid}`, { method: 'PUT', json: { is_public: true }, headers: auth })).ok);
      assert.equal((await fetch(`${host.url}/feeds/collections/${cid}.xml`)).status, 200, 'a public collection needs no token');
    });

    it("links a debate's view to the feeds it is an episode of: the catalogue's, its committee's, its speakers'", async () => {
      const view = (await (await host.request(`/api/debats/${ids[0]}`)).json()) as { feeds: { all: string; committee: string | null; deputies: string[] } };
      assert.equal(view.feeds.all, '/feeds/debats.xml');
      assert.equal(view.feeds.committee, '/feeds/commissions/finances-test.xml');
      assert.deepEqual(view.feeds.deputies, ['/feeds/deputes/eric-coquerel.xml']);
      for (const path of [view.feeds.committee!, view.feeds.deputies[0]!]) {
        const f = await feed(host, path);
        assert.equal(f.res.status, 200, path);
        assert.ok(f.parsed!.items.some((i) => i.title === TITLE), `${path} has the debate as an episode`);
      }
      const bare = (await (await host.request(`/api/debats/${ids[2]}`)).json()) as { feeds: { committee: string | null; deputies: string[] } };
      assert.equal(bare.feeds.committee, null);
      assert.deepEqual(bare.feeds.deputies, []);
    });

    it('exports the committees as OPML and draws its artwork at 1400 px', async () => {
      const opml = await (await fetch(`${host.url}/feeds/commissions.opml`)).text();
      assert.match(opml, /<opml version="2.0">/);
      assert.match(opml, /xmlUrl="[^"]+\/feeds\/commissions\/finances-test\.xml"/);
      const png = Buffer.from(await (await fetch(`${host.url}/feeds/artwork.png`)).arrayBuffer());
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1400, 1400]);
    });
  });
}
