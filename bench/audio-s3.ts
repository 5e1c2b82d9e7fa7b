// The S3 part of bench/audio.ts (`--storage s3`), in one run on this machine:
//  - the same random-range load (N concurrent keep-alive clients, CHUNK-byte ranges of a SIZE file)
//    straight from the S3 server (a presigned GET of the object) and through Robian's proxy mode
//    (GET /api/debats/{id}/audio, one GetObject with the range per request): throughput ratio;
//  - the redirect mode's cost: 302 answers per second under the same load (not followed), a 302's
//    latency alone (sequential), and the client's whole path (302, then the range from S3) against
//    the range straight from S3.
//  - a second reference: a bare node:http proxy (no framework) doing the same GET of the presigned
//    URL with the client's Range and piping the answer back, in this process like the hosts: what
//    any Node proxy costs here, against which Robian's own share is read.
// The S3 server is s3rver (as in the tests) in a process of its own; the hosts run in this process.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestEnvironment, startTestHost } from '@robian/test-support';
import { S3AudioStorage, audioPlugin } from '../packages/plugin-audio/src/index.ts';
import { s3HostEnv, uniquePrefix } from '../packages/plugin-audio/test/s3-server.ts';
import { runClient, type LoadResult } from './range-load.ts';

const fmt = (n: number, d = 2) => n.toFixed(d);
const load = () => fmt(loadavg()[0]!, 1);

/** Median time to the answer's headers of `n` sequential GETs (keep-alive), not following redirects. */
function headersLatency(url: string, n: number, range: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      http
        .get(url, { agent, headers: { range } }, (res) => {
          times.push(performance.now() - t0);
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  return (async () => {
    for (let i = 0; i < n; i++) await one();
    agent.destroy();
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  })();
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux; clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The bare Node reference: for every request, a GET of `target` with the client's Range on a
 * keep-alive agent, the answer's status and byte headers copied, its body piped back.
 */
async function startBareProxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    // one retry when a kept-alive socket was closed by the server meanwhile, as Robian's proxy does (through the SDK)
    const get = (retry: boolean) =>
      http
        .get(target, { agent, headers: range ? { range } : {} }, (up) => {
          const headers: http.OutgoingHttpHeaders = { 'accept-ranges': 'bytes' };
          for (const h of ['content-length', 'content-range', 'content-type', 'etag', 'last-modified'] as const) if (up.headers[h]) headers[h] = up.headers[h];
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        })
        .on('error', () => (retry && !res.headersSent ? get(false) : res.destroy()));
    get(true);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/audio`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

/** The measurements `--s3-paths` may name. */
export const S3_PATHS = ['direct', 'proxy', 'bare', 'follow', 'redirect'] as const;

export async function s3StreamingBench(o: { size: number; clients: number; seconds: number; chunk: number; rounds: number; paths?: readonly string[] }): Promise<void> {
  const { size, clients, seconds, chunk } = o;
  const only = new Set(o.paths ?? S3_PATHS);
  for (const p of only) if (!(S3_PATHS as readonly string[]).includes(p)) throw new Error(`--s3-paths: "${p}" is not one of ${S3_PATHS.join(', ')}`);
  const server = spawn(process.execPath, ['--conditions=robian-source', fileURLToPath(new URL('./s3-server.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  const { endpoint } = JSON.parse(line) as { endpoint: string };
  const env = await createTestEnvironment('sqlite', { ...s3HostEnv(endpoint, uniquePrefix('bench')), MEDIA_ALLOWED_HOSTS: '127.0.0.1' });
  const proxyHost = await startTestHost({ environment: env, plugins: [audioPlugin] });
  // the same database and bucket, AUDIO_DELIVERY=redirect
  const redirectHost = await startTestHost({ environment: { ...env, config: { ...env.config, env: { ...env.config.env, AUDIO_DELIVERY: 'redirect' } } }, plugins: [audioPlugin] });
  let bare: Awaited<ReturnType<typeof startBareProxy>> | undefined;
  try {
    const res = await proxyHost.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Bench streaming S3', date: '2026-11-20' } });
    const id = ((await res.json()) as { id: number }).id;
    const audio = proxyHost.robian.kernel.services.get('audio');
    const storage = audio.storage as S3AudioStorage;
    const key = `${id}/mp3-128k.mp3`;
    const tmp = await storage.tempPath(key);
    const fd = openSync(tmp, 'w');
    const block = Buffer.alloc(4 << 20);
    for (let written = 0; written < size; written += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, size - written));
    closeSync(fd);
    const t0 = performance.now();
    const stored = await storage.put(key, tmp);
    console.error(`uploaded ${size / 1048576} MiB to ${storage.describe(key)} in ${fmt((performance.now() - t0) / 1000, 1)} s (multipart)`);
    await audio.library.saveFile(id, { format: 'mp3', quality: '128k' }, stored, 3600);

    const direct = await storage.url(key, { ttlSeconds: 6 * 3600 }); // a presigned GET, as a redirected client gets
    const proxied = `${proxyHost.url}/api/debats/${id}/audio?format=mp3&quality=128k`;
    const redirected = `${redirectHost.url}/api/debats/${id}/audio?format=mp3&quality=128k`;
    bare = await startBareProxy(direct);
    // every path warm: sockets to S3 open, the playable row and presigned URL cached, the object in the page cache
    for (const [url, mode] of [[direct, 'range'], [proxied, 'range'], [bare.url, 'range'], [redirected, 'follow']] as const) await runClient(url, size, 50, 2, chunk, mode);

    const rows: { round: number; path: string; load: string; r: LoadResult; rss: string; cpu: string }[] = [];
    const measure = async (round: number, path: string, url: string, mode: 'range' | 'redirect' | 'follow') => {
      const at = load();
      // the monotonic clock in µs, as `node --cpu-prof` stamps its samples: a profile can be cut to this measurement
      const from = process.hrtime.bigint() / 1000n;
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
      const cpu0 = process.cpuUsage();
      const s3cpu0 = processCpuMs(server.pid!);
      const r = await runClient(url, size, clients, seconds, chunk, mode);
      const cpu = process.cpuUsage(cpu0);
      const s3cpu = processCpuMs(server.pid!) - s3cpu0;
      clearInterval(sampler);
      const perRequest = (ms: number) => fmt(ms / Math.max(1, r.requests), 2);
      rows.push({ round, path, load: at, r, rss: `${fmt(before / 1048576, 0)} → ${fmt(peak / 1048576, 0)} MiB`, cpu: `${perRequest((cpu.user + cpu.system) / 1000)} / ${perRequest(s3cpu)}` });
      console.error(`  round ${round} ${path}: ${fmt(r.mib_per_s, 0)} MiB/s, ${fmt(r.req_per_s, 0)} req/s (load ${at}; monotonic µs ${from}–${process.hrtime.bigint() / 1000n})`);
      return r;
    };
    const ratios: string[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      // the order alternates, so that neither side always runs on a warmer machine
      const paths = [
        ['direct', 'S3 direct (presigned GET)', direct, 'range'],
        ['proxy', 'Robian proxy (AUDIO_DELIVERY=proxy)', proxied, 'range'],
        ['bare', 'bare Node proxy (node:http, pipe)', bare.url, 'range'],
      ] as const;
      const got: Partial<Record<string, LoadResult>> = {};
      for (const [k, path, url, mode] of round % 2 === 1 ? paths : [...paths].reverse()) if (only.has(k)) got[k] = await measure(round, path, url, mode);
      if (only.has('follow')) got.follow = await measure(round, 'redirect + range from S3 (302 followed)', redirected, 'follow');
      if (only.has('redirect')) got.redirect = await measure(round, 'redirect, 302 only (not followed)', redirected, 'redirect');
      const ratio = (a: string, b: string) => (got[a] && got[b] ? fmt(got[a].mib_per_s / got[b].mib_per_s) : '—');
      ratios.push(
        `round ${round}: proxy / direct **${ratio('proxy', 'direct')}**, bare Node proxy / direct ${ratio('bare', 'direct')}, proxy / bare Node proxy ${ratio('proxy', 'bare')}, redirect+fetch / direct ${ratio('follow', 'direct')}, 302/s ${got.redirect ? fmt(got.redirect.req_per_s, 0) : '—'}`,
      );
    }
    const single = await headersLatency(redirected, 500, 'bytes=0-99');
    const singleDirect = await headersLatency(direct, 500, 'bytes=0-99');
    const singleProxy = await headersLatency(proxied, 500, 'bytes=0-99');
    const singleBare = await headersLatency(bare.url, 500, 'bytes=0-99');

    console.log(`\n## Streaming from S3 (${clients} concurrent clients, random ${chunk / 1024} KiB ranges of a ${size / 1048576} MiB object, ${seconds} s each; s3rver in its own process, hosts in the bench process)\n`);
    console.log('| round | path | load avg (1 min) at start | req/s | MiB/s | TTFB p50 (ms) | TTFB p99 (ms) | errors | unexpected status | CPU ms per request: hosts / s3rver | bench process RSS |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const { round, path, load: l, r, rss, cpu } of rows) {
      console.log(`| ${round} | ${path} | ${l} | ${fmt(r.req_per_s, 0)} | ${fmt(r.mib_per_s, 0)} | ${fmt(r.ttfb_p50_ms, 1)} | ${fmt(r.ttfb_p99_ms, 1)} | ${r.errors} | ${r.non206}${r.non206 ? ` (${Object.entries(r.statuses ?? {}).map(([k, v]) => `${v}× ${k}`).join(', ')})` : ''} | ${cpu} | ${rss} |`);
    }
    console.log('');
    for (const line of ratios) console.log(`- ${line}`);
    console.log(`- one request alone (median of 500 sequential, time to the answer's headers, 100-byte range): 302 ${fmt(single, 2)} ms, S3 direct ${fmt(singleDirect, 2)} ms, Robian proxy ${fmt(singleProxy, 2)} ms, bare Node proxy ${fmt(singleBare, 2)} ms (load ${load()})`);
  } finally {
    await bare?.close();
    await redirectHost.close();
    await proxyHost.close();
    await env.cleanup();
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
}
