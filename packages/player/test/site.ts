// The world the browser tests run in: a host started with the official plugins (the player among
// them), the demo catalogue, sittings of the test's own whose audio real FFmpeg extracts from HLS
// streams served on 127.0.0.1, a sitting on air relayed from a live HLS stream (a test parliament whose
// source has live streams), and a log of the requests (and audio Range headers) the host received.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { seedDemo } from '../../host/src/seed.ts';
import { officialPlugins } from '../../host/src/official.ts';
import { DebateSchema, PLUGIN_API_VERSION, definePlugin, type EntityManager } from '@robian/core';
import { serveTestLiveHls, startTestHost, type TestHost, type TestLiveHls } from '@robian/test-support';
import { hlsFixture, startMediaServer, waitRendition, type MediaServer } from '../../plugin-audio/test/helpers.ts';

const exec = promisify(execFile);
const FFMPEG = process.env.FFMPEG_BIN ?? process.env.FFMPEG_PATH ?? 'ffmpeg';

/** With 256 kbit/s MP3 (7.7 MB), seeking to 90 % lies beyond what Chromium reads ahead (a few MB), so it asks for a range. */
export const LONG_SECONDS = 240;

/**
 * An audio-only HLS stream (AAC, 6 s segments) of LONG_SECONDS: a tone whose pitch changes every
 * 30 s (so chapters can be heard), made by FFmpeg once and cached in the OS temp folder.
 */
export async function longHlsFixture(): Promise<string> {
  const dir = join(tmpdir(), `robian-player-fixture-v1-${LONG_SECONDS}s`);
  if (existsSync(join(dir, 'master.m3u8'))) return dir;
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'a'), { recursive: true });
  await exec(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=44100:duration=${LONG_SECONDS}`,
    '-af', 'volume=0.3',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '1',
    '-f', 'hls', '-hls_time', '6', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(work, 'a', 'seg%03d.ts'),
    join(work, 'a', 'index.m3u8'),
  ]);
  // the media server serves /media/<path>; the master names the one audio variant
  await exec('cp', [join(work, 'a', 'index.m3u8'), join(work, 'master.m3u8')]);
  await exec('sed', ['-i', 's#^seg#a/seg#', join(work, 'master.m3u8')]);
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

export interface RangeHit {
  path: string;
  range: string | undefined;
  at: number;
}

export interface Site {
  host: TestHost;
  /** The URL the browser uses: the host behind a server that logs the requests and the audio requests' Range headers. */
  url: string;
  ranges: RangeHit[];
  /** The path of every request the host received, in order. */
  paths: string[];
  /** Debates of the test: the one with audio, the one whose audio the listener requests, the one on air. */
  pensions: { id: string; title: string; fileSize: number; duration: number };
  hearing: { id: string; title: string };
  live: { id: string; title: string };
  close(): Promise<void>;
}

export const CHAPTERS = [
  { title: 'Ouverture de la séance', start_seconds: 0 },
  { title: 'Article 1er : âge légal de départ', start_seconds: 60 },
  { title: 'Article 2 : pénibilité', start_seconds: 120 },
  { title: 'Explications de vote', start_seconds: 180 },
  { title: 'Questions diverses', start_seconds: null },
];

/** The sitting's captions; the moment the search test opens starts at MOMENT.start_seconds. */
export const SEGMENTS = [
  { start_seconds: 0, end_seconds: 30, speaker_name: 'Mme la présidente', text: 'La séance est ouverte. L’ordre du jour appelle la suite de la discussion du projet de loi.' },
  { start_seconds: 30, end_seconds: 75.5, speaker_name: 'M. le ministre', text: 'Le Gouvernement présente ce texte après de longs mois de concertation avec les partenaires sociaux.' },
  { start_seconds: 75.5, end_seconds: 110, speaker_name: 'Mme Claire Dumont', text: 'Cette réforme des retraites repousse l’âge légal de départ sans rien dire des carrières longues.' },
  { start_seconds: 110, end_seconds: 150, speaker_name: 'M. Paul Girard', text: 'La pénibilité doit être reconnue pour les métiers physiques, nous proposons un amendement.' },
  { start_seconds: 150, end_seconds: 240, speaker_name: 'Mme la présidente', text: 'Je mets aux voix l’amendement. L’amendement n’est pas adopté.' },
];
export const MOMENT = SEGMENTS[2]!;

/** A parliament with live streams: its sittings on air are relayed (plugin-audio) from a live HLS on 127.0.0.1. */
function liveParliament(hls: TestLiveHls) {
  return definePlugin({
    name: 'test-live-parliament',
    version: '0.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      ctx.sources.register({
        id: 'test-live',
        name: 'Parlement en direct',
        mediaHosts: [hls.host],
        canResolve: () => false,
        resolve: () => Promise.reject(new Error('no pages')),
        liveStream: async (d) => (d.status === 'en_cours' ? hls.playlistUrl : undefined),
      });
    },
  });
}

export const LIVE_TITLE = 'Séance publique en direct : questions au Gouvernement';

export async function startSite(): Promise<Site> {
  const [longDir, shortDir, liveHls] = await Promise.all([longHlsFixture(), hlsFixture(), serveTestLiveHls({ frequency: 550 })]);
  const longMedia: MediaServer = await startMediaServer(longDir);
  const shortMedia: MediaServer = await startMediaServer(shortDir);
  shortMedia.slowMs = 300; // the requested extraction runs long enough to report progress
  const host = await startTestHost({
    plugins: [...officialPlugins(), liveParliament(liveHls)],
    // one-second live segments: the relay's playlist lists a first one soon after the first listener
    env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', AUDIO_FORMAT: 'mp3', AUDIO_BITRATE: '256k', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_STRICT_PER_MINUTE: '0', LIVE_RELAY_SEGMENT_SECONDS: '1', LIVE_RELAY_DVR_SECONDS: '10' },
  });
  await seedDemo(host.robian.kernel);

  // a sitting on air at the live parliament (dated in the past, so the screenshots do not change with the day)
  const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
  const onAir = em.create(DebateSchema, { source: 'test-live', externalId: 'LIVE1', title: LIVE_TITLE, type: 'question_gouvernement', status: 'en_cours', date: new Date('2025-06-04T13:00:00Z'), startTime: new Date('2025-06-04T13:00:00Z') } as never) as unknown as { id: number };
  await em.flush();
  await host.robian.kernel.cache.invalidateAll();

  const deputies = (await (await host.request('/api/deputes/?per_page=3')).json()) as { deputes: { id: number | string }[] };
  const create = async (fields: Record<string, unknown>) => {
    const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: fields });
    if (res.status !== 201 && res.status !== 200) throw new Error(`create debate: ${res.status} ${await res.text()}`);
    return String(((await res.json()) as { id: number | string }).id);
  };
  const pensionsTitle = 'Séance publique : réforme des retraites';
  const pensionsId = await create({
    title: pensionsTitle,
    type: 'seance_publique',
    status: 'termine',
    date: '2025-06-03T13:00:00Z',
    start_time: '2025-06-03T13:00:00Z',
    end_time: '2025-06-03T13:04:00Z',
    description: 'Suite de la discussion du projet de loi portant réforme des retraites.',
    agenda_points: ['Projet de loi portant réforme des retraites', 'Questions diverses'],
    keywords: ['retraites', 'pensions'],
    chapters: CHAPTERS,
    speaker_ids: deputies.deputes.map((d) => Number(d.id)),
    video_url: `${longMedia.url}/media/master.m3u8`,
  });
  const hearingTitle = 'Commission des affaires sociales : audition sur les retraites agricoles';
  const hearingId = await create({
    title: hearingTitle,
    type: 'audition',
    status: 'termine',
    date: '2025-06-02T08:30:00Z',
    start_time: '2025-06-02T08:30:00Z',
    keywords: ['retraites'],
    video_url: `${shortMedia.url}/slow/media/master.m3u8`,
  });

  // what was said, and where: searched as moments, followed by the page while playing
  const transcript = await host.request(`/api/debats/${pensionsId}/transcript`, { method: 'PUT', admin: true, json: { source: 'captions', segments: SEGMENTS } });
  if (transcript.status !== 200 && transcript.status !== 201) throw new Error(`transcript: ${transcript.status} ${await transcript.text()}`);

  // the sitting with audio: extracted for real before the browser opens it
  const extract = await host.request(`/api/debats/${pensionsId}/extract`, { method: 'POST', json: {} });
  if (extract.status !== 202 && extract.status !== 200) throw new Error(`extract: ${extract.status} ${await extract.text()}`);
  const ready = await waitRendition(host, Number(pensionsId), 'mp3', '256k', ['ready']);

  const ranges: RangeHit[] = [];
  const paths: string[] = [];
  const handler = host.robian.callback();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    paths.push(path);
    if (/^\/api\/debats\/[^/]+\/audio$/.test(path)) ranges.push({ path, range: req.headers.range, at: Date.now() });
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host.robian.attachServer(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    host,
    url,
    ranges,
    paths,
    pensions: { id: pensionsId, title: pensionsTitle, fileSize: ready.file_size ?? 0, duration: ready.duration_seconds ?? LONG_SECONDS },
    hearing: { id: hearingId, title: hearingTitle },
    live: { id: String(onAir.id), title: LIVE_TITLE },
    async close() {
      await host.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await Promise.all([longMedia.close(), shortMedia.close(), liveHls.close()]);
    },
  };
}
