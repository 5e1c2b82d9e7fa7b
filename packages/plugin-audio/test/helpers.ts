import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { PLUGIN_API_VERSION, definePlugin, type MediaCandidate } from '@robian/core';
import type { TestHost } from '@robian/test-support';

/** What the helpers below need of a host: a TestHost in this process or a ChildHost (spawn-host.ts). */
export type HostClient = Pick<TestHost, 'request'>;

const exec = promisify(execFile);
export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
export const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

/** Length of the generated HLS stream, in seconds. */
export const MEDIA_SECONDS = 40;

/**
 * A short HLS stream (H.264 160x120 + AAC 64k, 4 s segments) made by FFmpeg from lavfi sources,
 * generated once and cached in the OS temp folder for every test file (atomic rename of the folder).
 */
export async function hlsFixture(): Promise<string> {
  const dir = join(tmpdir(), `robian-audio-fixture-v2-${MEDIA_SECONDS}s`);
  if (existsSync(join(dir, 'master.m3u8'))) return dir;
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'v0'), { recursive: true });
  await exec(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(MEDIA_SECONDS),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '40', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '1',
    '-f', 'hls', '-hls_time', '4', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(work, 'v0', 'seg%03d.ts'),
    join(work, 'v0', 'index.m3u8'),
  ]);
  // a published MP3 of the same recording, at 64 kbit/s
  await exec(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(MEDIA_SECONDS), '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '64k', join(work, 'audio-64k.mp3')]);
  writeFileSync(join(work, 'master.m3u8'), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2"\nv0/index.m3u8\n');
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another test file won the race
  }
  return dir;
}

/** A big file (for range tests): the fixture's segments concatenated, no need for it to play. */
export function bytesOf(path: string): Buffer {
  return readFileSync(path);
}

export interface MediaServer {
  url: string;
  server: Server;
  /** Delay per HLS segment under /slow/ (ms). */
  slowMs: number;
  hits: string[];
  flakySeen: Set<string>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.html': 'text/html' };

/**
 * Serves the fixture from 127.0.0.1: `/media/…` as is, `/slow/media/…` with a delay per segment,
 * `/page.html` (an HTML page with a <video> of the master playlist, for yt-dlp), `/broken/master.m3u8`
 * (not media), `/source/<anything>` (a page the test source plugin resolves). Anything else: 404.
 */
export async function startMediaServer(dir: string): Promise<MediaServer> {
  const hits: string[] = [];
  const state: MediaServer = { url: '', server: undefined as unknown as Server, slowMs: 400, hits, flakySeen: new Set(), close: async () => {} };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.push(path);
    if (path === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><head><title>Séance test</title></head><body><video controls src="${state.url}/media/master.m3u8"></video></body></html>`);
      return;
    }
    if (path === '/broken/master.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end('this is not a playlist at all\n');
      return;
    }
    if (path.startsWith('/source/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><script>var media = "hidden in javascript";</script></html>');
      return;
    }
    // /flaky/…: the first request of each path answers 503 (a transient failure a retry gets past)
    if (path.startsWith('/flaky/') && path.endsWith('/master.m3u8')) {
      if (!state.flakySeen.has(path)) {
        state.flakySeen.add(path);
        res.writeHead(503).end('try again');
        return;
      }
    }
    const m = /^\/(slow\/|flaky\/)?media\/(.+)$/.exec(path);
    if (!m) {
      res.writeHead(404).end('not found');
      return;
    }
    const file = normalize(join(dir, m[2]!));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const send = () => {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    };
    if (m[1] === 'slow/' && file.endsWith('.ts')) setTimeout(send, state.slowMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.server = server;
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * A DebateSource of the test's own: it knows `/source/…` pages of the media server (whose media
 * URL is only in JavaScript, so yt-dlp could not find it) and offers the HLS master.
 */
export function testSourcePlugin(mediaBase: () => string) {
  return definePlugin({
    name: 'test-source',
    version: '1.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      ctx.sources.register({
        id: 'test-source',
        name: 'Test source',
        mediaHosts: ['127.0.0.1:*'],
        canResolve: (url) => url.pathname.startsWith('/source/'),
        resolve: async (url) => {
          const slow = url.pathname.startsWith('/source/slow');
          const extra: MediaCandidate[] = [];
          // like the Assemblée nationale: a published MP3 (64 kbit/s), an MP4 and the HLS stream
          if (url.pathname.includes('mp3-offer')) extra.push({ url: `${mediaBase()}/media/audio-64k.mp3`, kind: 'mp3', audioCodec: 'mp3', audioBitrate: 64 }, { url: `${mediaBase()}/media/missing.mp4`, kind: 'mp4', audioCodec: 'aac' });
          // the cheapest candidate is gone: the next one is used
          if (url.pathname.includes('fallback')) extra.push({ url: `${mediaBase()}/media/missing.m4a`, kind: 'm4a', audioCodec: 'aac' });
          return {
            candidates: [...extra, { url: `${mediaBase()}/${slow ? 'slow/' : ''}media/master.m3u8`, kind: 'hls', audioCodec: 'aac' }],
            durationSeconds: MEDIA_SECONDS,
          };
        },
      });
    },
  });
}

export async function createDebate(host: HostClient, fields: Record<string, unknown>): Promise<number> {
  const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Séance publique : « l’écologie » 1/2', date: '2026-11-20', ...fields } });
  if (res.status !== 201 && res.status !== 200) throw new Error(`create debate: ${res.status} ${await res.text()}`);
  // the wire id is a string; the tests compare it with the bus events' and the database's numbers
  return Number(((await res.json()) as { id: string }).id);
}

export interface Job {
  extraction_id: number;
  status: string;
  progress: number;
  error: string | null;
  attempts: number;
  format: string;
  quality: string;
}

/** Requests a rendition, with the admin key unless `admin: false` (anonymous callers may only queue the public renditions). */
export async function extract(host: HostClient, id: number, body: Record<string, unknown> = {}, o: { admin?: boolean } = {}): Promise<{ status: number; job: Job }> {
  const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: body, admin: o.admin ?? true });
  return { status: res.status, job: (await res.json()) as Job };
}

export interface Streaming {
  audio_available: boolean;
  format: string;
  quality: string;
  stream_url: string | null;
  download_url: string | null;
  extraction_status: string | null;
  rendition_status: string;
  renditions: { format: string; quality: string; status: string; progress: number; stream_url: string | null; download_url: string | null; error: string | null; duration_seconds: number | null; file_size: number | null }[];
}

export async function streaming(host: HostClient, id: number): Promise<Streaming> {
  const res = await host.request(`/api/debats/${id}/streaming`);
  if (res.status !== 200) throw new Error(`streaming: ${res.status} ${await res.text()}`);
  return (await res.json()) as Streaming;
}

/** Polls /streaming until the rendition reaches one of the states (no wall-clock assertion: the test timeout bounds it). */
export async function waitRendition(host: HostClient, id: number, format: string, quality: string, states: string[], intervalMs = 100): Promise<Streaming['renditions'][number]> {
  for (;;) {
    const s = await streaming(host, id);
    const r = s.renditions.find((x) => x.format === format && x.quality === quality);
    if (r && states.includes(r.status)) return r;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function probe(path: string): Promise<{ duration: number; codec: string; format: string }> {
  const { stdout } = await exec(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration,format_name', '-of', 'json', path]);
  const j = JSON.parse(stdout) as { streams: { codec_name: string }[]; format: { duration: string; format_name: string } };
  return { duration: Number(j.format.duration), codec: j.streams[0]!.codec_name, format: j.format.format_name };
}

/** MD5 of the decoded audio: equal for a stream copy, different after any re-encode. */
export async function pcmMd5(input: string): Promise<string> {
  const { stdout } = await exec(FFMPEG, ['-v', 'error', '-i', input, '-map', '0:a:0', '-f', 'md5', '-']);
  return stdout.trim();
}
