// The Assemblée nationale pipeline end to end, on a host started as `robian serve` starts it
// (workers on, the official plugins) against a fake parliament on 127.0.0.1: the scheduled runs
// import the open data, discover two new videos, link them to their réunions, time their chapters,
// store their transcripts, queue and complete their audio; a second run changes nothing; a sitting
// goes live and ends, with its audio-only relay shared by its listeners.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DebateSchema, listTranscripts, loadTranscript, type Debate, type EntityManager, type TaskStatus } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';
import { connectIo, connectWs, type IoTestClient, type WsTestClient } from '../../plugin-ws/test/helpers.ts';
import { fakeParliamentEnv, startFakeParliament, until, type FakeParliament, type FakeVideo } from './fake-parliament.ts';

const A: FakeVideo = { uid: '19600001_aa0001', stamp: '20250605150000', meetingId: 'RUANR5L17S2025IDS29504', date: 1749128400, title: '2ème séance du jeudi 5 juin 2025', report: 'CRSANR5L17S2025O1N300', player: 'final', captions: true };
const B: FakeVideo = { uid: '19600002_bb0002', stamp: '20250605213000', meetingId: 'RUANR5L17S2025IDS29505', date: 1749151800, title: '3ème séance du jeudi 5 juin 2025', player: 'live', captions: true };

describe('the Assemblée nationale pipeline (scheduled, against a fake parliament)', () => {
  let an: FakeParliament;
  let host: TestHost;
  let listing: FakeVideo[] = [];

  const tasks = async () => (await host.robian.kernel.services.get('assemblee.schedule').status()) as TaskStatus[];
  const task = async (name: string) => (await tasks()).find((t) => t.task === name)!;
  const debateOf = async (meeting: string) =>
    (await host.robian.kernel.orm.em.fork().findOne(DebateSchema, { source: 'assemblee-nationale', externalId: meeting }, { disableIdentityMap: true })) as Debate | null;

  before(async () => {
    an = await startFakeParliament({ videos: [A, B], listed: () => listing });
    host = await startTestHost({
      plugins: officialPlugins(),
      env: {
        ...fakeParliamentEnv(an.url),
        AN_OPEN_DATA_URLS: 'data/an.zip',
        AN_VIDEOS_INTERVAL: '1',
        AN_LIVE_INTERVAL: '2',
        AN_SCHEDULE_TICK_MS: '50',
        AN_CATCHUP_DAYS: '1',
        AUDIO_FORMAT: 'mp3',
        AUDIO_BITRATE: '64k',
        LIVE_RELAY_GRACE_SECONDS: '3',
        LIVE_RELAY_SEGMENT_SECONDS: '1',
      },
    });
  });
  after(async () => {
    await host?.close();
    await an?.close();
  });

  it('imports the open data on its first scheduled run, then costs one conditional request', async () => {
    const first = await until('the open-data run', async () => {
      const t = await task('assemblee.open-data');
      return t.runs >= 1 && t;
    });
    assert.equal(first.last_outcome, 'ok', JSON.stringify(first));
    assert.ok(await debateOf(A.meetingId!), 'the réunions are imported');
    assert.equal(an.zipRequests.full, 1);
    const again = await host.robian.kernel.services.get('assemblee.schedule').run('open-data');
    assert.deepEqual((again.last_summary as { datasets: { status: string }[] }).datasets.map((d) => d.status), ['not-modified']);
    assert.equal(an.zipRequests.conditional, 1);
    assert.equal(an.zipRequests.full, 1, 'an unchanged dataset is not downloaded again');
  });

  it('discovers the two new videos, links them to their réunions, times their chapters, queues and completes their audio', async () => {
    const before = (await task('assemblee.videos')).runs;
    listing = [A, B];
    const run = await until('a discovery run that links both', async () => {
      const t = await task('assemblee.videos');
      return t.runs > before && (t.last_summary as { linked?: number })?.linked === 2 && t;
    });
    assert.equal(run.last_outcome, 'ok', JSON.stringify(run.last_summary));
    for (const v of [A, B]) {
      const d = (await debateOf(v.meetingId!))!;
      assert.ok(d.sourceUrl?.includes(`/video.${v.uid}`), `${v.uid} is the source of its réunion`);
      assert.ok(d.videoUrl?.endsWith('_1.mp4'));
      const chapters = d.chapters ?? [];
      assert.equal(chapters.length, 26);
      // the player NVS places every chapter: one synchro every 40 s from 5 s (see fake-parliament.ts)
      assert.deepEqual(chapters.slice(0, 3).map((c) => [c.start_seconds, c.end_seconds]), [[5, 45], [45, 85], [85, 125]]);
      assert.equal(chapters.at(-1)!.end_seconds, null);
    }
    // transcripts through core: A has its captions and its (synchronised) compte rendu, B its captions
    const em = () => host.robian.kernel.orm.em.fork() as unknown as EntityManager;
    const a = (await debateOf(A.meetingId!))!;
    const b = (await debateOf(B.meetingId!))!;
    assert.deepEqual((await listTranscripts(em(), a.id)).map((t) => [t.source, t.segments]).sort(), [['captions', 51], ['compte_rendu', 13]]);
    assert.deepEqual((await listTranscripts(em(), b.id)).map((t) => [t.source, t.segments]), [['captions', 51]]);
    const captions = (await loadTranscript(em(), a.id, 'captions'))!;
    assert.deepEqual([captions.segments[0]!.start_seconds, captions.segments[0]!.text], [448.67, 'Présidence de M.']);
    const speeches = (await loadTranscript(em(), a.id, 'compte_rendu'))!;
    const gustave = speeches.segments.find((s) => s.speaker_name === 'M. Steevy Gustave')!;
    assert.equal(gustave.start_seconds, 1000.7);
    // the audio follows (the published MP3, through plugin-audio's queue and real FFmpeg)
    for (const v of [A, B]) {
      const d = (await debateOf(v.meetingId!))!;
      // the default rendition (AUDIO_FORMAT/AUDIO_BITRATE), made from the published MP3
      const streaming = await until(`the audio of ${v.uid}`, async () => {
        const s = (await (await host.request(`/api/debats/${d.id}/streaming`)).json()) as { audio_available: boolean; format: string; quality: string };
        return s.audio_available && s.format === 'mp3' && s.quality === '64k' && s;
      }, 90_000);
      assert.equal(streaming.audio_available, true);
      assert.equal((await debateOf(v.meetingId!))!.hasAudio, true);
    }
  });

  it('a second run changes nothing', async () => {
    const snapshot = async () => {
      const rows = (await host.robian.kernel.orm.em.fork().find(DebateSchema, { source: 'assemblee-nationale' }, { orderBy: { id: 'asc' }, disableIdentityMap: true })) as Debate[];
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const transcripts = await Promise.all(rows.map((d) => listTranscripts(em, d.id)));
      return JSON.stringify([rows.map((d) => [d.id, d.status, d.sourceUrl, d.chapters, new Date(d.updatedAt).getTime()]), transcripts]);
    };
    const before = await snapshot();
    const runs = (await task('assemblee.videos')).runs;
    const hitsBefore = an.hits.get(`/video.${A.uid}`) ?? 0;
    const next = await until('the next discovery run', async () => {
      const t = await task('assemblee.videos');
      return t.runs > runs && t;
    });
    assert.equal((next.last_summary as { linked: number; new: number }).new, 0);
    assert.equal((next.last_summary as { linked: number }).linked, 0);
    assert.equal(an.hits.get(`/video.${A.uid}`) ?? 0, hitsBefore, 'a linked video is not fetched again');
    const retried = await host.robian.kernel.services.get('assemblee.schedule').run('transcripts');
    assert.equal(retried.last_outcome, 'ok');
    assert.equal(await snapshot(), before);
  });

  it('a sitting goes live: en_cours, debate_started on /ws and socket.io, one relay for two listeners, then the end', async () => {
    const d = (await debateOf(B.meetingId!))!;
    const channel = `debate:${d.id}`;
    const io: IoTestClient = await connectIo(host.url);
    const ws: WsTestClient = await connectWs(host.url);
    try {
      assert.equal((await io.subscribe(channel)).type, 'subscribed');
      assert.equal((await ws.request({ type: 'subscribe', channel })).type, 'subscribed');
      await an.goLive({ flux: '7', mediaUid: B.uid, meetingId: B.meetingId! });
      for (const inbox of [io.inbox, ws.inbox]) {
        const started = await inbox.type('debate_started', channel, 30_000);
        assert.equal(started.data.debate_id, String(d.id));
        assert.equal(started.data.status, 'en_cours');
      }
      assert.equal((await debateOf(B.meetingId!))!.status, 'en_cours');
      const streaming = (await (await host.request(`/api/debats/${d.id}/streaming`)).json()) as { live_available: boolean; live_url: string };
      assert.deepEqual([streaming.live_available, streaming.live_url], [true, `/api/debats/${d.id}/live`]);

      // two listeners: one relay process (FFmpeg), AAC copied from the source
      const relays = async () => ((await (await host.request('/health/detailed')).json()) as { plugins: { audio: { live_relays: { pid: number | null; listeners: number; codec: string; debate_ids: number[]; restarts: number }[] } } }).plugins.audio.live_relays;
      const listen = async (l: string): Promise<string> => {
        const res = await host.request(`/api/debats/${d.id}/live?l=${l}`);
        assert.equal(res.status, 200, await res.clone().text());
        assert.match(res.headers.get('content-type') ?? '', /mpegurl/);
        const playlist = await res.text();
        const segment = /^(live\/seg\d{6}\.ts\?l=[a-z0-9]+)$/m.exec(playlist)?.[1];
        assert.ok(segment, playlist);
        const seg = await host.request(`/api/debats/${d.id}/${segment}`);
        assert.equal(seg.status, 200, `${segment}: ${await seg.clone().text()}`);
        assert.ok((await seg.arrayBuffer()).byteLength > 0);
        return playlist;
      };
      const numbers = (playlist: string) => [...playlist.matchAll(/^live\/seg(\d{6})\.ts/gm)].map((m) => Number(m[1]));
      await Promise.all([listen('one'), listen('two')]);
      await listen('one');
      const running = await relays();
      assert.equal(running.length, 1, 'one relay for both listeners');
      assert.equal(running[0]!.listeners, 2);
      assert.equal(running[0]!.codec, 'copy');
      assert.deepEqual(running[0]!.debate_ids, [Number(d.id)]);
      const pid = running[0]!.pid!;
      assert.ok(pid > 0);
      const gone = (p: number) => {
        try {
          process.kill(p, 0);
          return false;
        } catch {
          return true;
        }
      };

      // the relay's FFmpeg crashes while they listen: restarted after a backoff, and the playlist goes
      // on where it was (numbers continue after an EXT-X-DISCONTINUITY; the window before it is still served)
      const lastBefore = Math.max(...numbers(await listen('one')));
      process.kill(pid, 'SIGKILL');
      let seen = '';
      const resumed = await until('the relay to resume after its FFmpeg was killed', async () => {
        const [one] = await Promise.all([listen('one'), listen('two')]);
        const all = await relays();
        const r = all[0];
        const after = one.slice(one.lastIndexOf('#EXT-X-DISCONTINUITY'));
        seen = `${JSON.stringify(all)}\n${one}`;
        if (!r?.pid || r.pid === pid || !one.includes('#EXT-X-DISCONTINUITY') || numbers(after).length === 0) return undefined;
        return { relay: r, playlist: one, after: numbers(after) };
      }, 30_000).catch((err: Error) => assert.fail(`${err.message}; last seen: ${seen}`));
      assert.ok(gone(pid), 'the killed FFmpeg is gone');
      assert.equal(resumed.relay.restarts, 1, 'restarted once');
      assert.equal(resumed.relay.listeners, 2, 'the same two listeners');
      assert.ok(resumed.after[0]! > lastBefore, `the new FFmpeg's first segment (${resumed.after[0]}) follows the old ones (up to ${lastBefore}), not seg000000`);
      const all = numbers(resumed.playlist);
      assert.deepEqual(all, [...all].sort((x, y) => x - y), 'segment numbers only go up');
      assert.ok(all.includes(lastBefore), `the segments listed before the crash are still in the window: ${all.join(',')}`);
      assert.equal((await host.request(`/api/debats/${d.id}/live/seg${String(lastBefore).padStart(6, '0')}.ts?l=one`)).status, 200);
      assert.equal((await relays()).length, 1, 'still one relay');
      const newPid = resumed.relay.pid!;

      // they leave: the relay stops after the grace period, its FFmpeg with it
      await until('the relay and its FFmpeg to stop', async () => (await relays()).length === 0 && gone(newPid), 30_000);
      await an.endLive();
      for (const inbox of [io.inbox, ws.inbox]) {
        const ended = await inbox.type('debate_ended', channel, 30_000);
        assert.equal(ended.data.previous_status, 'en_cours');
      }
      const off = (await debateOf(B.meetingId!))!;
      assert.notEqual(off.status, 'en_cours');
      assert.ok(off.endTime && new Date(off.endTime).getTime() > new Date(off.startTime ?? off.date).getTime(), 'endTime: when it left the air');
    } finally {
      io.close();
      await ws.close();
    }
  });
});
