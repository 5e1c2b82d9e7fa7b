// Benchmark of the Assemblée nationale pipeline against the fake parliament (packages/host/test/fake-parliament.ts):
//   1. discovery + linking of N videos in one `assemblee.videos` run (page, data.nvs, player NVS,
//      SRT, compte rendu per video; chapters timed, captions stored through core), against a bare
//      loop that fetches the same URLs one at a time (the network + fake-server floor);
//   2. L listeners on one live stream through Robian's relay (GET /api/debats/{id}/live + segments),
//      against one bare FFmpeg relay (same arguments) whose output nginx serves.
//
//   node --conditions=robian-source bench/an-pipeline.ts [--videos 500] [--listeners 500] [--seconds 20] [--only discovery|live]
//
// Prints wall time, requests per video, listener throughput, latencies, RSS, and the ratios. The
// listeners run in a process of their own (bench/live-client.ts), so the host's RSS is the host's.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DebateSchema } from '@robian/core';
import { assembleeNationalePlugin } from '../packages/plugin-assemblee-nationale/src/index.ts';
import { audioPlugin } from '../packages/plugin-audio/src/index.ts';
import { startTestHost } from '@robian/test-support';
import { fakeParliamentEnv, fakeVideos, startFakeParliament } from '../packages/host/test/fake-parliament.ts';

const { values } = parseArgs({ options: { videos: { type: 'string', default: '500' }, listeners: { type: 'string', default: '500' }, seconds: { type: 'string', default: '20' }, only: { type: 'string' } } });
const VIDEOS = Number(values.videos);
const LISTENERS = Number(values.listeners);
const SECONDS = Number(values.seconds);
const FFMPEG = process.env.FFMPEG_PATH ?? process.env.FFMPEG_BIN ?? 'ffmpeg';

const rssOf = (pid: number | undefined) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---------- 1. discovery + linking ----------
async function discovery(): Promise<void> {
  const videos = fakeVideos(VIDEOS, (i) => `RUANR5L17S2026IDS${40000 + i}`);
  const an = await startFakeParliament({ videos });
  const host = await startTestHost({
    plugins: [assembleeNationalePlugin],
    env: {
      ...fakeParliamentEnv(an.url),
      AN_SCHEDULE: 'off', AN_CATCHUP_DAYS: '0', AN_MAX_VIDEOS_PER_RUN: String(VIDEOS), AUTO_EXTRACT: 'off', LOG_LEVEL: 'error',
    },
  });
  try {
    const started = Date.now();
    const status = await host.robian.kernel.services.get('assemblee.schedule').run('videos');
    const wall = Date.now() - started;
    const summary = status.last_summary as { linked: number; failed: number };
    const requests = an.log.length;
    // the floor: the same URLs, one at a time, with a bare fetch loop
    const urls = an.log.map((e) => `${an.url}${e.path}`);
    const floorStart = Date.now();
    for (const u of urls) await (await fetch(u)).arrayBuffer();
    const floor = Date.now() - floorStart;
    console.log(`discovery + linking of ${VIDEOS} videos: ${summary.linked} linked, ${summary.failed} failed, ${(wall / 1000).toFixed(1)} s wall (${(wall / VIDEOS).toFixed(1)} ms/video)`);
    console.log(`  requests to the platform: ${requests} (${(requests / VIDEOS).toFixed(2)} per video), at most ${an.maxInFlight} in flight`);
    console.log(`  bare fetch of the same ${urls.length} URLs one at a time: ${(floor / 1000).toFixed(1)} s → Robian / bare = ${(wall / floor).toFixed(2)}`);
    const logged = an.log.length;
    const again = Date.now();
    const second = await host.robian.kernel.services.get('assemblee.schedule').run('videos');
    console.log(`  second run: ${(second.last_summary as { new: number }).new} new, ${an.log.length - logged} requests, ${Date.now() - again} ms`);
  } finally {
    await host.close();
    await an.close();
  }
}

// ---------- 2. live listeners ----------
interface LiveLoad {
  requests: number;
  segments: number;
  bytes: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
}

/** bench/live-client.ts in a process of its own; `sample` runs every 500 ms meanwhile (RSS peaks). */
function listeners(playlistUrl: string, segmentUrl: string, sample: () => void): Promise<LiveLoad> {
  const timer = setInterval(sample, 500);
  return new Promise<LiveLoad>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./live-client.ts', import.meta.url)), playlistUrl, segmentUrl, String(LISTENERS), String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LiveLoad) : reject(new Error(`live-client exited ${code}`))));
  }).finally(() => clearInterval(timer));
}

/** RSS of a process and its children (nginx: master + worker). */
const treeRss = (pid: number | undefined): number => {
  if (!pid) return 0;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children file: the process alone
  }
  return rssOf(pid) + children.reduce((sum, c) => sum + treeRss(c), 0);
};

const line = (name: string, r: LiveLoad, rss: string) =>
  `${name}: ${r.requests} requests (${(r.requests / SECONDS).toFixed(0)}/s), ${r.segments} segments, ${mb(r.bytes)} (${(r.bytes / SECONDS / 1048576).toFixed(2)} MiB/s), ${r.errors} errors, p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms; ${rss}`;

async function live(): Promise<void> {
  const flux = '5';
  const meeting = 'RUANR5L17S2026IDS49999';
  const an = await startFakeParliament({ videos: [] });
  await an.goLive({ flux, mediaUid: '19999999_abcdef99', meetingId: meeting });
  const sourcePlaylist = `${an.url}/live/live${flux}/playlist${flux}.m3u8`;
  // Robian: the AN plugin's live task + plugin-audio's relay
  const host = await startTestHost({
    plugins: [assembleeNationalePlugin, audioPlugin],
    env: {
      ...fakeParliamentEnv(an.url),
      AN_SCHEDULE: 'off', LIVE_RELAY_SEGMENT_SECONDS: '2', LIVE_RELAY_GRACE_SECONDS: '5', LOG_LEVEL: 'error',
    },
  });
  let baselineFfmpeg: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'robian-bench-live-'));
  try {
    const em = host.robian.kernel.orm.em.fork();
    const debate = em.create(DebateSchema, { source: 'assemblee-nationale', externalId: meeting, title: 'Séance en direct', type: 'seance_publique', status: 'programme', date: new Date() } as never);
    await em.flush();
    const id = (debate as unknown as { id: number }).id;
    await host.robian.kernel.services.get('assemblee.schedule').run('live');
    const first = await host.request(`/api/debats/${id}/live?l=warmup`);
    if (first.status !== 200) throw new Error(`the relay did not start: ${first.status} ${await first.text()}`);
    const rssBefore = process.memoryUsage().rss;
    let hostPeak = rssBefore;
    let relayPeak = 0;
    let relayPid: number | undefined;
    const relayStatus = async () => ((await (await host.request('/health/detailed')).json()) as { plugins: { audio: { live_relays: { pid: number; listeners: number }[] } } }).plugins.audio.live_relays;
    relayPid = (await relayStatus())[0]?.pid;
    const robian = await listeners(`${host.url}/api/debats/${id}/live?l=b{i}`, `${host.url}/api/debats/${id}/{name}?l=b{i}`, () => {
      hostPeak = Math.max(hostPeak, process.memoryUsage().rss);
      relayPeak = Math.max(relayPeak, rssOf(relayPid));
    });
    const relays = await relayStatus();
    console.log(line(`live relay, ${LISTENERS} listeners × ${SECONDS} s through Robian`, robian, `${relays.length} FFmpeg for ${relays[0]?.listeners ?? 0} listeners; RSS host ${mb(rssBefore)} → peak ${mb(hostPeak)}, relay FFmpeg ${mb(relayPeak)}`));

    // baseline: the same FFmpeg relay, bare, served by nginx
    const out = join(dir, 'www', 'live');
    mkdirSync(out, { recursive: true });
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    for (const d of [dir, join(dir, 'www'), out]) chmodSync(d, 0o755); // nginx's workers read it
    baselineFfmpeg = spawn(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-live_start_index', '-3', '-i', sourcePlaylist, '-vn', '-map', '0:a:0', '-c:a', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '450', '-hls_flags', 'delete_segments+omit_endlist+independent_segments', '-hls_segment_filename', join(out, 'seg%06d.ts'), join(out, 'index.m3u8')], { stdio: 'ignore' });
    const port = await freePort();
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/tmp;\n  proxy_temp_path ${dir}/tmp;\n  fastcgi_temp_path ${dir}/tmp;\n  uwsgi_temp_path ${dir}/tmp;\n  scgi_temp_path ${dir}/tmp;\n  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }\n  server { listen 127.0.0.1:${port}; root ${dir}/www; location ~ \\.m3u8$ { add_header Cache-Control no-cache; } }\n}\n`);
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/live/index.m3u8`).then((r) => r.ok && r.text().then((t) => /seg\d+\.ts/.test(t))).catch(() => false);
      if (ok) break;
      if (i > 200) throw new Error('the bare relay did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const nginxPid = Number(readFileSync(`${dir}/nginx.pid`, 'utf8'));
    let nginxPeak = 0;
    let ffmpegPeak = 0;
    const bare = await listeners(`http://127.0.0.1:${port}/live/index.m3u8`, `http://127.0.0.1:${port}/live/{name}`, () => {
      nginxPeak = Math.max(nginxPeak, treeRss(nginxPid));
      ffmpegPeak = Math.max(ffmpegPeak, rssOf(baselineFfmpeg?.pid));
    });
    console.log(line('bare FFmpeg relay + nginx (1 worker), same listeners', bare, `RSS nginx (master + worker) peak ${mb(nginxPeak)}, FFmpeg ${mb(ffmpegPeak)}`));
    console.log(`  ratio Robian / bare: requests served ${(robian.requests / bare.requests).toFixed(2)}, bytes ${(robian.bytes / bare.bytes).toFixed(2)}, segments ${(robian.segments / bare.segments).toFixed(2)}, p50 ${(robian.p50_ms / bare.p50_ms).toFixed(1)}×, p99 ${(robian.p99_ms / bare.p99_ms).toFixed(1)}×; errors ${robian.errors} vs ${bare.errors}`);
  } finally {
    nginx?.kill('SIGTERM');
    baselineFfmpeg?.kill('SIGTERM');
    await host.close();
    await an.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');
console.log(`bench/an-pipeline: ${VIDEOS} videos, ${LISTENERS} listeners × ${SECONDS} s; ${cpus().length} cores, load average ${load()}`);
if (values.only !== 'live') await discovery();
if (values.only !== 'discovery') await live();
console.log(`load average at the end: ${load()}`);
process.exit(0);
