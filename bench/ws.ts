/**
 * Real-time delivery benchmark: N clients subscribed to `extractions`, a burst of B events.
 *
 *   node --conditions=robian-source bench/ws.ts [--clients 1000] [--burst 100]
 *
 * Three runs, each against a fresh host process (bench/ws-host.ts) on 127.0.0.1:
 *   1. baseline: a bare `ws` server that sends the same envelope to every client (no channels,
 *      no limits, no metrics);
 *   2. Robian `/ws` (plugin-ws, plain WebSocket protocol);
 *   3. Robian socket.io (websocket transport);
 *   4, 5. with REDIS_URL set: the same two, clients on one instance and the events raised on another.
 * Prints, per run: delivery latency (emission on the host → arrival in the client, clocks of the
 * same machine) p50 / p99 / max, deliveries per second, the host's RSS idle, with the clients
 * connected and after the burst; and the ratios of runs 2 and 3 to the baseline.
 * The clients all live in this one process, so its own event loop is part of the latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { io as ioClient, type Socket } from 'socket.io-client';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '1000' }, burst: { type: 'string', default: '100' } } });
const CLIENTS = Number(values.clients);
const BURST = Number(values.burst);
const now = () => performance.timeOrigin + performance.now();
const HOST = fileURLToPath(new URL('./ws-host.ts', import.meta.url));

interface Host {
  url: string;
  child: ChildProcess;
  dataDir: string;
}

async function startHost(mode: 'raw' | 'robian', redis?: { url: string; prefix: string }): Promise<Host> {
  const dataDir = mkdtempSync(join(tmpdir(), 'robian-bench-ws-'));
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir, ADMIN_API_KEY: 'bench-admin-key-0123456789abcdef0123', SECRET_KEY: 'bench-secret-key-0123456789abcdef012', LOG_LEVEL: 'warn', ENVIRONMENT: 'test' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (redis) Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix });
  const child = spawn(process.execPath, ['--conditions=robian-source', HOST, mode], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return { url, child, dataDir };
}

async function stopHost(h: Host): Promise<void> {
  const exited = new Promise((r) => h.child.once('exit', r));
  h.child.kill('SIGTERM');
  await exited;
  rmSync(h.dataDir, { recursive: true, force: true });
}

const rssOf = async (h: Host) => ((await (await fetch(`${h.url}/__bench/rss`)).json()) as { rss_bytes: number }).rss_bytes;

interface Client {
  close(): void;
}

/** Connects one client, subscribes it to `extractions`, and calls `onEvent(emitted_at)` per event. */
async function connect(kind: 'ws' | 'socketio', url: string, onEvent: (emittedAt: number) => void): Promise<Client> {
  if (kind === 'ws') {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?protocol=robian`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { type: string; data: { emitted_at?: number } };
        if (m.type === 'connected') ws.send(JSON.stringify({ type: 'subscribe', channel: 'extractions' }));
        else if (m.type === 'subscribed') resolve();
        else if (m.type === 'extraction_started') onEvent(m.data.emitted_at!);
      });
    });
    return { close: () => ws.terminate() };
  }
  const socket: Socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('extraction_started', (m: { data: { emitted_at: number } }) => onEvent(m.data.emitted_at));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  await socket.timeout(30_000).emitWithAck('subscribe', { channel: 'extractions' });
  return { close: () => socket.disconnect() };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

interface Result {
  name: string;
  /** Time the host spent in the synchronous emit loop (fan-out to every client). */
  fanoutMs: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  rssIdle: number;
  rssConnected: number;
  rssAfter: number;
}

/**
 * One run. With `redis`, two Robian hosts share it: the clients connect to the second, the events
 * are raised on the first (the Redis adapter / the /ws bridge carry them); RSS is the second's.
 */
async function run(name: string, hostMode: 'raw' | 'robian', kind: 'ws' | 'socketio', redis?: { url: string; prefix: string }): Promise<Result> {
  const emitter = redis ? await startHost(hostMode, redis) : undefined;
  const host = await startHost(hostMode, redis);
  const source = emitter ?? host;
  try {
    const rssIdle = await rssOf(host);
    let latencies: number[] = [];
    let received = 0;
    let lastAt = 0;
    const onEvent = (emittedAt: number) => {
      const t = now();
      latencies.push(t - emittedAt);
      received++;
      lastAt = t;
    };
    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i += 50) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, () => connect(kind, host.url, onEvent)))));
    }
    const rssConnected = await rssOf(host);
    const burst = async (count: number) => {
      received = 0;
      latencies = [];
      const start = now();
      const { fanout_ms } = (await (await fetch(`${source.url}/__bench/burst?count=${count}`, { method: 'POST' })).json()) as { fanout_ms: number };
      const deadline = Date.now() + 120_000;
      while (received < count * CLIENTS) {
        if (Date.now() > deadline) throw new Error(`${name}: ${received}/${count * CLIENTS} delivered after 120 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return { start, end: lastAt, fanout_ms };
    };
    if (emitter) {
      // until the second instance's Redis subscriptions are in place
      for (let i = 0; received === 0; i++) {
        if (i > 100) throw new Error(`${name}: nothing crossed Redis in 20 s`);
        await fetch(`${source.url}/__bench/burst?count=1`, { method: 'POST' });
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await burst(Math.max(10, Math.round(BURST / 5))); // warm-up (JIT on both sides)
    const { start, end, fanout_ms } = await burst(BURST);
    const rssAfter = await rssOf(host);
    for (const c of clients) c.close();
    const sorted = latencies.sort((a, b) => a - b);
    return { name, fanoutMs: fanout_ms, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1)!, perSecond: (BURST * CLIENTS) / ((end - start) / 1000), rssIdle, rssConnected, rssAfter };
  } finally {
    await stopHost(host);
    if (emitter) await stopHost(emitter);
  }
}

console.log(`plugin-ws benchmark: ${CLIENTS} clients on 'extractions', a burst of ${BURST} events (${CLIENTS * BURST} deliveries), Node ${process.version}`);
const results: Result[] = [];
// warm this process's client code once, unmeasured, so that the first measured run is not penalised
await run('warm-up', 'raw', 'ws');
results.push(await run('baseline: bare ws server', 'raw', 'ws'));
results.push(await run('Robian /ws', 'robian', 'ws'));
results.push(await run('Robian socket.io (websocket)', 'robian', 'socketio'));
if (process.env.REDIS_URL) {
  const prefix = `robian-bench:${Date.now().toString(36)}:`;
  results.push(await run('Robian /ws, event raised on another instance (Redis bridge)', 'robian', 'ws', { url: process.env.REDIS_URL, prefix }));
  results.push(await run('Robian socket.io, event raised on another instance (Redis adapter)', 'robian', 'socketio', { url: process.env.REDIS_URL, prefix }));
} else {
  console.log('(set REDIS_URL=redis://… to add the two-instance runs)');
}
const base = results[0]!;
console.log('');
console.log('| run | host fan-out ms | p50 ms | p99 ms | max ms | deliveries/s | host RSS idle | with clients | after burst |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.fanoutMs.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${Math.round(r.perSecond)} | ${mb(r.rssIdle)} | ${mb(r.rssConnected)} | ${mb(r.rssAfter)} |`);
}
console.log('');
for (const r of results.slice(1)) {
  console.log(
    `${r.name} / baseline: fan-out ×${(r.fanoutMs / base.fanoutMs).toFixed(2)}, p50 ×${(r.p50 / base.p50).toFixed(2)}, p99 ×${(r.p99 / base.p99).toFixed(2)}, deliveries/s ×${(r.perSecond / base.perSecond).toFixed(2)}, RSS growth with clients ×${((r.rssConnected - r.rssIdle) / Math.max(1, base.rssConnected - base.rssIdle)).toFixed(2)}`,
  );
}
process.exit(0);
