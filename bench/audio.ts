// Benchmark of plugin-audio, in one run on this machine:
//  1. Extraction speed (multiple of real time) of the pipeline — POST /extract to the completed
//     event: resolution, ffprobe, FFmpeg, ffprobe, rename, rows — against the same bare `ffmpeg`
//     command, for the AAC stream copy (master) and mp3 64k / mp3 192k / opus 32k (from the master).
//  2. Streaming: N concurrent keep-alive clients doing random single-range reads of a file of
//     SIZE MB on Robian's audio route and on Debian's nginx serving the same file (hard link):
//     throughput ratio, p99 time to first byte, the host's RSS. And the TTFB of a 100-byte range at
//     offset 0 against one at 95 % of the file.
//
//     With `--storage s3`, part 2 is the S3 path instead (bench/audio-s3.ts): the same load through
//     Robian's proxy mode against the same reads straight from the S3 server (s3rver, in its own
//     process), and the redirect mode's cost per request; `--repeat` rounds.
//
//   node --conditions=robian-source bench/audio.ts [--minutes 5] [--repeat 1] [--clients 500]
//        [--seconds 10] [--size-mb 200] [--chunk-kb 256] [--skip-extraction] [--skip-streaming]
//        [--storage local|s3] [--s3-paths direct,proxy,bare,follow,redirect]
//
// Needs ffmpeg/ffprobe on PATH, and nginx (`apt-get install -y nginx`) for part 2 on local storage.
import { execFile, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, closeSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startTestHost } from '@robian/test-support';
import { audioPlugin, outputArgs, type Rendition } from '../packages/plugin-audio/src/index.ts';
import { startMediaServer } from '../packages/plugin-audio/test/helpers.ts';
import { S3_PATHS, s3StreamingBench } from './audio-s3.ts';
import { runClient } from './range-load.ts';

const exec = promisify(execFile);
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '1' },
    clients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    'size-mb': { type: 'string', default: '200' },
    'chunk-kb': { type: 'string', default: '256' },
    'skip-extraction': { type: 'boolean', default: false },
    'skip-streaming': { type: 'boolean', default: false },
    storage: { type: 'string', default: 'local' },
    's3-paths': { type: 'string', default: S3_PATHS.join(',') },
  },
});
const MINUTES = Number(values.minutes);
const REPEAT = Number(values.repeat);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 2) => n.toFixed(d);

async function hls(minutes: number): Promise<string> {
  const dir = join(tmpdir(), `robian-bench-hls-${minutes}m`);
  if (existsSync(join(dir, 'master.m3u8'))) return dir;
  const work = `${dir}.${process.pid}.tmp`;
  mkdirSync(join(work, 'v0'), { recursive: true });
  console.error(`generating a ${minutes}-minute HLS stream (H.264 160x120 + AAC 128k)…`);
  await exec('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10',
    '-f', 'lavfi', '-i', 'sine=frequency=300:beep_factor=4:sample_rate=44100',
    '-t', String(minutes * 60),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
    '-f', 'hls', '-hls_time', '6', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(work, 'v0', 'seg%04d.ts'), join(work, 'v0', 'index.m3u8'),
  ], { maxBuffer: 1 << 24 });
  writeFileSync(join(work, 'master.m3u8'), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2"\nv0/index.m3u8\n');
  renameSync(work, dir);
  return dir;
}

async function bareFfmpeg(input: string, r: Rendition, copy: boolean, out: string): Promise<number> {
  const remote = /^https?:/.test(input);
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-progress', 'pipe:1', '-nostats', ...(remote ? ['-protocol_whitelist', 'http,https,tcp,tls,crypto', '-rw_timeout', '30000000'] : []), '-i', input, ...outputArgs(r, copy), out];
  const t0 = performance.now();
  await exec('ffmpeg', args, { maxBuffer: 1 << 24 });
  const s = (performance.now() - t0) / 1000;
  rmSync(out, { force: true });
  return s;
}

async function extractionBench(): Promise<void> {
  const dir = await hls(MINUTES);
  const media = await startMediaServer(dir);
  const host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1', MAX_CONCURRENT_EXTRACTIONS: '1', EXTRACTION_POLL_INTERVAL_MS: '50', EXTRACT_RATE_PER_MINUTE: '0' }, plugins: [audioPlugin] });
  const completed = new Map<number, () => void>();
  host.robian.kernel.events.on('extraction.completed', (e) => completed.get(Number(e.extraction_id))?.());
  host.robian.kernel.events.on('extraction.failed', (e) => {
    console.error('extraction failed', e.error);
    process.exit(1);
  });
  const seconds = MINUTES * 60;
  const renditions: { r: Rendition; label: string }[] = [
    { r: { format: 'aac', quality: 'source' }, label: 'AAC stream copy (master)' },
    { r: { format: 'mp3', quality: '64k' }, label: 'mp3 64k (from master)' },
    { r: { format: 'mp3', quality: '192k' }, label: 'mp3 192k (from master)' },
    { r: { format: 'opus', quality: '32k' }, label: 'opus 32k (from master)' },
  ];
  const results = new Map<string, { bare: number[]; pipeline: number[] }>();
  const scratch = mkdtempSync(join(tmpdir(), 'robian-bench-out-'));
  for (let rep = 0; rep < REPEAT; rep++) {
    const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: `Bench ${rep}`, date: '2026-11-20', video_url: `${media.url}/media/master.m3u8` } });
    const id = ((await res.json()) as { id: number }).id;
    const master = join(host.env.dataDir, 'audio', String(id), 'aac-source.m4a');
    for (const { r, label } of renditions) {
      const copy = r.format === 'aac';
      const input = copy ? `${media.url}/media/master.m3u8` : master;
      const runPipeline = async () => {
        const t0 = performance.now();
        const post = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: r.format, quality: r.quality } });
        const job = (await post.json()) as { extraction_id: number };
        await new Promise<void>((resolve) => completed.set(job.extraction_id, resolve));
        return (performance.now() - t0) / 1000;
      };
      // the order alternates between runs, so that neither side always runs on a warmer machine
      let bare: number;
      let pipeline: number;
      if (copy || rep % 2 === 0) {
        // the copy must run bare first: the pipeline's copy is the master the others derive from
        bare = await bareFfmpeg(input, r, copy, join(scratch, `out.${r.format}`));
        pipeline = await runPipeline();
      } else {
        pipeline = await runPipeline();
        bare = await bareFfmpeg(input, r, copy, join(scratch, `out.${r.format}`));
      }
      const entry = results.get(label) ?? { bare: [], pipeline: [] };
      entry.bare.push(bare);
      entry.pipeline.push(pipeline);
      results.set(label, entry);
      console.error(`  ${label}: bare ${fmt(bare)} s, pipeline ${fmt(pipeline)} s`);
    }
  }
  console.log(`\n## Extraction (${MINUTES} min of media, ${REPEAT} run(s); best run, then median)\n`);
  console.log('| rendition | bare ffmpeg best / median (s) | pipeline best / median (s) | bare × real time (best) | pipeline × real time (best) | pipeline overhead (best vs best) |');
  console.log('|---|---|---|---|---|---|');
  for (const [label, { bare, pipeline }] of results) {
    const b = Math.min(...bare);
    const p = Math.min(...pipeline);
    console.log(`| ${label} | ${fmt(b)} / ${fmt(median(bare))} | ${fmt(p)} / ${fmt(median(pipeline))} | ${fmt(seconds / b, 0)}× | ${fmt(seconds / p, 0)}× | ${fmt((p / b - 1) * 100, 1)} % (${fmt((p - b) * 1000, 0)} ms) |`);
  }
  rmSync(scratch, { recursive: true, force: true });
  await host.close();
  await media.close();
}

function ttfb(url: string, start: number, n: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      http
        .get(url, { agent, headers: { range: `bytes=${start}-${start + 99}` } }, (res) => {
          let first = true;
          res.on('data', () => {
            if (first) times.push(performance.now() - t0);
            first = false;
          });
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  return (async () => {
    for (let i = 0; i < n; i++) await one();
    agent.destroy();
    return median(times);
  })();
}

async function streamingBench(): Promise<void> {
  const size = Number(values['size-mb']) * 1024 * 1024;
  const clients = Number(values.clients);
  const seconds = Number(values.seconds);
  const chunk = Number(values['chunk-kb']) * 1024;
  const host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1' }, plugins: [audioPlugin] });
  const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Bench streaming', date: '2026-11-20' } });
  const id = ((await res.json()) as { id: number }).id;
  const audio = host.robian.kernel.services.get('audio');
  const key = `${id}/mp3-128k.mp3`;
  const tmp = await audio.storage.tempPath(key);
  const fd = openSync(tmp, 'w');
  const block = Buffer.alloc(4 << 20);
  for (let written = 0; written < size; written += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, size - written));
  closeSync(fd);
  const stored = await audio.storage.put(key, tmp);
  await audio.library.saveFile(id, { format: 'mp3', quality: '128k' }, stored, 3600);
  const filePath = join(host.env.dataDir, 'audio', key);
  // into the page cache for every server, without passing through this process's memory
  await new Promise((resolve) => spawn('cat', [filePath], { stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', resolve));

  // nginx (Debian's), one worker like Robian's one process, serving a hard link of the same file
  const ngx = mkdtempSync(join(tmpdir(), 'robian-bench-nginx-'));
  mkdirSync(join(ngx, 'root'));
  linkSync(filePath, join(ngx, 'root', 'file.mp3'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(ngx, 'nginx.conf'),
    `user root; worker_processes 1; daemon off; pid ${ngx}/nginx.pid; error_log ${ngx}/error.log warn;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; keepalive_timeout 65;
  client_body_temp_path ${ngx}/cb; proxy_temp_path ${ngx}/px; fastcgi_temp_path ${ngx}/fc; uwsgi_temp_path ${ngx}/uw; scgi_temp_path ${ngx}/sc;
  types { audio/mpeg mp3; }
  server { listen 127.0.0.1:${port}; root ${ngx}/root; location / { } } }
`,
  );
  const nginx = spawn('nginx', ['-p', ngx, '-c', join(ngx, 'nginx.conf')], { stdio: 'inherit' });
  await new Promise((r) => setTimeout(r, 500));
  // bare Node: node:http + createReadStream at the offset, no framework, same process as the host
  const bare = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m ? Math.min(Number(m[2]), size - 1) : size - 1;
    res.writeHead(m ? 206 : 200, { 'Content-Length': end - start + 1, 'Content-Type': 'audio/mpeg', ...(m ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}) });
    createReadStream(filePath, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/file.mp3`;
  const robianUrl = `${host.url}/api/debats/${id}/audio?format=mp3&quality=128k`;
  const nginxUrl = `http://127.0.0.1:${port}/file.mp3`;
  try {
    // seek cost: a 100-byte range at 0 against one at 95 %
    const at0 = await ttfb(robianUrl, 0, 200);
    const at95 = await ttfb(robianUrl, Math.floor(size * 0.95), 200);

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    const robian = await runClient(robianUrl, size, clients, seconds, chunk);
    clearInterval(sampler);
    const ng = await runClient(nginxUrl, size, clients, seconds, chunk);
    const node = await runClient(bareUrl, size, clients, seconds, chunk);
    console.log(`\n## Streaming (${clients} concurrent clients, random ${chunk / 1024} KiB ranges of a ${size / 1048576} MiB file, ${seconds} s each)\n`);
    console.log('| server | req/s | MiB/s | TTFB p50 (ms) | TTFB p99 (ms) | errors | non-206 |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, r] of [['Robian audio route', robian], ['nginx 1 worker', ng], ['bare node:http + createReadStream', node]] as const) {
      console.log(`| ${name} | ${fmt(r.req_per_s, 0)} | ${fmt(r.mib_per_s, 0)} | ${fmt(r.ttfb_p50_ms, 1)} | ${fmt(r.ttfb_p99_ms, 1)} | ${r.errors} | ${r.non206} |`);
    }
    console.log(`\nthroughput ratio Robian / nginx: ${fmt(robian.mib_per_s / ng.mib_per_s)}; Robian / bare Node: ${fmt(robian.mib_per_s / node.mib_per_s)}`);
    console.log(`host RSS: ${fmt(rssBefore / 1048576, 0)} MiB before, ${fmt(rssPeak / 1048576, 0)} MiB peak during the Robian run (bench process = host)`);
    console.log(`TTFB of a 100-byte range (median of 200, sequential): offset 0 ${fmt(at0, 2)} ms, offset 95 % ${fmt(at95, 2)} ms (ratio ${fmt(at95 / at0)})`);
  } finally {
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
    rmSync(ngx, { recursive: true, force: true });
    bare.closeAllConnections();
    bare.close();
    await host.close();
  }
}

console.log(`# plugin-audio benchmark — ${new Date().toISOString()}, Node ${process.version}`);
if (!values['skip-extraction']) await extractionBench();
if (values.storage !== 'local' && values.storage !== 's3') throw new Error(`--storage: expected local or s3, got "${values.storage}"`);
if (!values['skip-streaming']) {
  if (values.storage === 's3') {
    await s3StreamingBench({ size: Number(values['size-mb']) * 1024 * 1024, clients: Number(values.clients), seconds: Number(values.seconds), chunk: Number(values['chunk-kb']) * 1024, rounds: REPEAT, paths: values['s3-paths'].split(',') });
  } else await streamingBench();
}
