// A fake Assemblée nationale on 127.0.0.1, for the pipeline tests and bench/an-pipeline.ts: the
// video platform's listing, pages, data.nvs, player NVS, captions, the comptes rendus, the open-data
// zip, live.txt / getedito and a live HLS that FFmpeg writes in real time. Pages, data.nvs, captions
// and comptes rendus are the real samples of ../shared/fixtures (read in place) with the video's
// uid, file stamp and réunion substituted; eventsearch, player NVS, live.txt and getedito have no
// public sample and are written here in their documented structure.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import yazl from 'yazl';

const exec = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? process.env.FFMPEG_BIN ?? 'ffmpeg';
export const AN_FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/an-open-data/', import.meta.url));
const SAMPLE_UID = '19502241_6ac548b948b27';
const SAMPLE_STAMP = '20261006211505';
const SAMPLE_MEETING = 'RUANR5L17S2027IDS30927';
const SAMPLE_REPORT = 'CRSANR5L17S2027O1N010';

/** A video the fake platform publishes. */
export interface FakeVideo {
  uid: string;
  /** `hemi_<stamp>` names its files (Paris time of the recording's start). */
  stamp: string;
  meetingId: string | null;
  /** Epoch seconds (listing `date`, data.nvs `date`). */
  date: number;
  title: string;
  /** The compte rendu uid its data.nvs names, served when `reportSynchronised`. */
  report?: string;
  /** Player NVS: `final` (finalplayer.nvs), `live` (liveplayer.nvs only), `none`. */
  player: 'final' | 'live' | 'none';
  captions: boolean;
  type?: 'S' | 'C';
}

export interface FakeParliament {
  url: string;
  videos: FakeVideo[];
  /** What eventsearch answers (the latest publications and every day). */
  listed: () => FakeVideo[];
  /** Requests by path (query left out). */
  hits: Map<string, number>;
  /** Every request: path, time, whether it was answered 429. */
  log: { path: string; at: number; status: number; host: string }[];
  /** Requests in flight at most at once (all paths). */
  maxInFlight: number;
  /**
   * 429s (Retry-After: `retryAfter` seconds) to the platform's requests (media files and the live
   * HLS left out): `remaining` in a row once `after` more requests have been answered, and every
   * `every`th request while `every` is set.
   */
  storm: { remaining: number; retryAfter: number; after: number; every: number };
  /** Path → how many of its next requests are held unanswered (logged with status 0) until the client goes away. */
  stall: Map<string, number>;
  live: { flux: string; mediaUid: string; meetingId: string } | undefined;
  /** Starts the live HLS (FFmpeg, real time) and puts the flux in live.txt / getedito. */
  goLive(live: { flux: string; mediaUid: string; meetingId: string }): Promise<void>;
  endLive(): Promise<void>;
  /** Bytes of the open-data zip (the fixtures' réunions, organes, acteurs). */
  zipRequests: { conditional: number; full: number };
  close(): Promise<void>;
}

function fixture(...parts: string[]): Buffer {
  return readFileSync(join(AN_FIXTURES, ...parts));
}

function zipFixtures(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const kind of ['organe', 'acteur', 'reunion']) {
    for (const name of readdirSync(join(AN_FIXTURES, 'json', kind))) zip.addBuffer(fixture('json', kind, name), `json/${kind}/${name}`);
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Short media the pages point at (a few seconds: the extraction is real). */
async function mediaFiles(): Promise<{ mp3: Buffer; mp4: Buffer }> {
  const dir = join(tmpdir(), 'robian-fake-parliament-media-v1');
  if (!existsSync(join(dir, 'sitting.mp4'))) {
    const work = `${dir}.${process.pid}.tmp`;
    mkdirSync(work, { recursive: true });
    const sine = ['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=44100', '-t', '3', '-ac', '1'];
    await exec(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...sine, '-c:a', 'libmp3lame', '-b:a', '64k', join(work, 'sitting.mp3')]);
    await exec(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...sine, '-c:a', 'aac', '-b:a', '64k', join(work, 'sitting.mp4')]);
    try {
      rmSync(dir, { recursive: true, force: true });
      // rename would race with another test file; copy through a fresh dir name instead
      mkdirSync(dir, { recursive: true });
      for (const f of ['sitting.mp3', 'sitting.mp4']) {
        const { copyFileSync } = await import('node:fs');
        copyFileSync(join(work, f), join(dir, f));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { mp3: readFileSync(join(dir, 'sitting.mp3')), mp4: readFileSync(join(dir, 'sitting.mp4')) };
}

function nvsOf(v: FakeVideo, base: string): string {
  let text = fixture('videos-an', SAMPLE_UID, 'data.nvs').toString('utf8');
  text = text.replaceAll(SAMPLE_UID, v.uid).replaceAll(SAMPLE_STAMP, v.stamp).replaceAll('http://anorigin.vodalys.com', base);
  text = text.replace('<metadata name="date" value="1791314105"/>', `<metadata name="date" value="${v.date}"/>`);
  text = v.meetingId ? text.replace(`value="${SAMPLE_MEETING}"`, `value="${v.meetingId}"`) : text.replace(/<metadata name="meeting_id"[^>]*\/>/, '');
  text = text.replace(SAMPLE_REPORT, v.report ?? 'CRSANR5L17S2099O1N999');
  if (v.type === 'C') text = text.replace('<metadata name="video_type" value="S"', '<metadata name="video_type" value="C"');
  return text;
}

function pageOf(v: FakeVideo, base: string): string {
  let text = fixture('videos-an', SAMPLE_UID, 'page.trimmed.html').toString('utf8');
  text = text.replaceAll(SAMPLE_UID, v.uid).replaceAll(SAMPLE_STAMP, v.stamp);
  for (const h of ['http://videos.assemblee-nationale.fr', 'https://videos.assemblee-nationale.fr', 'http://videos-an.vodalys.com', 'http://anorigin.vodalys.com']) text = text.replaceAll(h, base);
  if (!v.captions) text = text.replace(/var captionUrl = '[^']*';/, "var captionUrl = '';");
  return text;
}

/** The chapter ids of the sample's data.nvs, in order, and a synchro for each (one every 40 s) among storyboard ticks. */
function playerOf(v: FakeVideo, bom: boolean): string {
  const ids = [...fixture('videos-an', SAMPLE_UID, 'data.nvs').toString('utf8').matchAll(/<chapter id="(\d+)"/g)].map((m) => m[1]!);
  const lines = ids.map((id, i) => `  <synchro id="${id}" timecode="${(i * 40 + 5) * 1000}" kind="chapter"/>`);
  for (let t = 0; t < 20; t++) lines.push(`  <synchro id="${v.uid.split('_')[0]}${t * 60}" timecode="${t * 60_000}"/>`);
  return `${bom ? '\uFEFF' : ''}<?xml version="1.0"?>\n<player starttime="${v.date}" version="2" unknown="x">\n${lines.join('\n')}\n  <extra>ignored</extra>\n</player>\n`;
}

function listingOf(videos: FakeVideo[]): string {
  const items = videos.map((v) => ({
    nid: Number(v.uid.split('_')[0]) + 7,
    mediaId: v.uid.split('_')[0],
    date: v.date,
    title: v.title,
    description: '',
    video_type: v.type ?? 'S',
    commission: v.type === 'C' ? 'Commission' : '',
    url: `/${v.uid}`,
    thumbnail: `/Datas/an/${v.uid}/files/seances.jpg`,
    published: 1,
    theme: 'Séance',
    size: 0,
    nouveau_champ: { inconnu: true },
  }));
  // an entry without a usable url, as lenient parsing must survive
  items.push({ nid: 1, title: 'sans url' } as never);
  return `\uFEFF${JSON.stringify(items)}`;
}

const escapeXml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export async function startFakeParliament(o: { videos: FakeVideo[]; listed?: () => FakeVideo[] }): Promise<FakeParliament> {
  const [zip, media] = await Promise.all([zipFixtures(), mediaFiles()]);
  const zipTag = `"${createHash('sha1').update(zip).digest('hex').slice(0, 16)}"`;
  const cr187 = fixture('xml', 'compteRendu', 'CRSANR5L17S2026O1N187.xml');
  const srt = fixture('videos-an', SAMPLE_UID, 'hemi_20261006211505_1.head.srt');
  const liveDir = mkdtempSync(join(tmpdir(), 'robian-fake-live-'));
  let liveProcess: ChildProcess | undefined;
  let inFlight = 0;
  let platformRequests = 0;
  const hits = new Map<string, number>();
  const state: FakeParliament = {
    url: '',
    videos: o.videos,
    listed: o.listed ?? (() => o.videos),
    hits,
    log: [],
    maxInFlight: 0,
    storm: { remaining: 0, retryAfter: 1, after: 0, every: 0 },
    stall: new Map(),
    live: undefined,
    zipRequests: { conditional: 0, full: 0 },
    async goLive(live) {
      mkdirSync(join(liveDir, `live${live.flux}`), { recursive: true });
      liveProcess = spawn(
        FFMPEG,
        ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=550:sample_rate=44100', '-ac', '1', '-c:a', 'aac', '-b:a', '48k',
          '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+omit_endlist',
          '-hls_segment_filename', join(liveDir, `live${live.flux}`, 'seg%05d.ts'), join(liveDir, `live${live.flux}`, `playlist${live.flux}.m3u8`)],
        { stdio: 'ignore' },
      );
      const playlist = join(liveDir, `live${live.flux}`, `playlist${live.flux}.m3u8`);
      const end = Date.now() + 20_000;
      while (!existsSync(playlist) || !/seg\d+\.ts/.test(readFileSync(playlist, 'utf8'))) {
        if (Date.now() > end) throw new Error('the fake live HLS did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      state.live = live;
    },
    async endLive() {
      state.live = undefined;
      if (liveProcess && liveProcess.exitCode === null) {
        const exited = new Promise((r) => liveProcess!.once('exit', r));
        liveProcess.kill('SIGTERM');
        await exited;
      }
      liveProcess = undefined;
    },
    async close() {
      await state.endLive();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(liveDir, { recursive: true, force: true });
    },
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const byUid = (uid: string) => state.videos.find((v) => v.uid === uid);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    if (path === '/php/eventsearch.php') return send(res, 200, 'application/json; charset=utf-8', listingOf(state.listed()));
    let m = /^\/video\.(\d+_[0-9a-f]+)/.exec(path);
    if (m && byUid(m[1]!)) return send(res, 200, 'text/html; charset=utf-8', pageOf(byUid(m[1]!)!, state.url));
    m = /^\/Datas\/an\/(\d+_[0-9a-f]+)\/content\/(data|finalplayer|liveplayer)\.nvs$/.exec(path);
    if (m && byUid(m[1]!)) {
      const v = byUid(m[1]!)!;
      if (m[2] === 'data') return send(res, 200, 'application/xml', nvsOf(v, state.url));
      if ((m[2] === 'finalplayer' && v.player === 'final') || (m[2] === 'liveplayer' && v.player === 'live')) return send(res, 200, 'application/xml', playerOf(v, m[2] === 'liveplayer'));
    }
    m = /^\/Datas\/an\/(\d+_[0-9a-f]+)\/files\/hemi_\d+_1\.srt$/.exec(path);
    if (m && byUid(m[1]!)?.captions) return send(res, 200, 'text/plain', srt); // Latin-1, as the AN's
    m = /^\/dyn\/opendata\/(CR[A-Z0-9]+)\.xml$/.exec(path);
    if (m && state.videos.some((v) => v.report === m![1])) return send(res, 200, 'application/xml', cr187.toString('utf8').replace('CRSANR5L17S2026O1N187', m[1]!));
    if (/^\/vod\/.*\.mp3$/.test(path)) return send(res, 200, 'audio/mpeg', media.mp3);
    if (/^\/vod\/.*\.mp4$/.test(path)) return send(res, 200, 'video/mp4', media.mp4);
    if (path === '/data/an.zip') {
      if (req.headers['if-none-match'] === zipTag) {
        state.zipRequests.conditional++;
        res.writeHead(304, { etag: zipTag });
        return res.end();
      }
      state.zipRequests.full++;
      return send(res, 200, 'application/zip', zip, { etag: zipTag, 'last-modified': 'Mon, 01 Dec 2025 00:00:00 GMT' });
    }
    if (path === '/live/live.txt') return send(res, 200, 'text/plain', state.live ? `\uFEFF${state.live.flux} ${state.live.mediaUid}\r\n# commentaire\r\n` : '');
    if (path === '/php/getedito.php') {
      const l = state.live;
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<editorial>${l ? `<diffusion><id_organe>PO838901</id_organe><libelle>Séance publique</libelle><libelle_court>SP</libelle_court><heure>2130</heure><flux>${l.flux}</flux><sujet>${escapeXml('Projet de loi &amp; débat')}</sujet><uid_referentiel>${l.meetingId}</uid_referentiel><lieu>Hémicycle</lieu><video_url>/video.${l.mediaUid}</video_url><nouveau>?</nouveau></diffusion>` : ''}<diffusion><flux>99</flux><sujet>Sans réunion</sujet></diffusion></editorial>`;
      return send(res, 200, 'application/xml', body);
    }
    m = /^\/live\/(live[A-Za-z0-9]+)\/([A-Za-z0-9_.-]+\.(m3u8|ts))$/.exec(path);
    if (m && state.live && existsSync(join(liveDir, m[1]!, m[2]!))) {
      return send(res, 200, m[3] === 'm3u8' ? 'application/vnd.apple.mpegurl' : 'video/mp2t', readFileSync(join(liveDir, m[1]!, m[2]!)));
    }
    send(res, 404, 'text/plain', 'not found');
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const entry = { path, at: Date.now(), status: 200, host: req.headers.host ?? '' };
    state.log.push(entry);
    const stalled = state.stall.get(path) ?? 0;
    if (stalled > 0) {
      state.stall.set(path, stalled - 1);
      entry.status = 0;
      return; // no answer: the client's timeout or death ends it
    }
    const media = /^\/(vod|live\/live[^/]+)\//.test(path);
    const storm = state.storm;
    let throttle = false;
    if (!media) {
      platformRequests++;
      if (storm.every > 0 && platformRequests % storm.every === 0) throttle = true;
      else if (storm.after > 0) storm.after--;
      else if (storm.remaining > 0) {
        storm.remaining--;
        throttle = true;
      }
    }
    if (throttle) {
      entry.status = 429;
      res.writeHead(429, { 'retry-after': String(state.storm.retryAfter), 'content-length': '0' });
      return res.end();
    }
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** The plugin's base URLs, every one on the fake at `url` (the env of a host the tests point at it). */
export function fakeParliamentEnv(url: string): Record<string, string> {
  return { AN_VIDEOS_BASE_URL: url, AN_VODALYS_HLS_BASE_URL: url, AN_VODALYS_ORIGIN_BASE_URL: url, AN_OPEN_DATA_BASE_URL: url, AN_SITE_BASE_URL: url };
}

/** Polls `check` every 50 ms until it gives a value, which it returns; throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** `count` videos of the platform: uid, stamp and recording date derived from the index. */
export function fakeVideos(count: number, meetings: (i: number) => string | null, start = 1791314105): FakeVideo[] {
  return Array.from({ length: count }, (_, i) => {
    const date = start + i * 3600;
    const d = new Date((date + 7200) * 1000); // Paris summer time, for the file stamp
    const stamp = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    return { uid: `${20_000_000 + i}_${(0xabc000 + i).toString(16)}`, stamp, meetingId: meetings(i), date, title: `Séance ${i}`, player: 'final', captions: true };
  });
}
