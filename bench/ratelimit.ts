// What the per-client rate limiter and security headers cost on a cached JSON route.
// Runs the same load (autocannon, 20 connections, DURATION s) against a host with the limiter
// off (baseline), in memory, and in Redis (when REDIS_URL is set), anonymous and with a
// listener token, and prints requests/s and the ratio to the baseline measured in this run.
//   node --conditions=robian-source bench/ratelimit.ts            (REDIS_URL=redis://… for the Redis rows)
import autocannon from 'autocannon';
import { createTestEnvironment, startTestHost, serverUrls } from '@robian/test-support';
import { listenersPlugin } from '@robian/plugin-listeners';

const DURATION = Number(process.env.DURATION ?? 4);
const redis = serverUrls()?.redisUrl ?? process.env.REDIS_URL;

async function measure(name: string, env: Record<string, string>, withToken: boolean): Promise<{ name: string; rps: number; p99: number; non2xx: number }> {
  const environment = await createTestEnvironment('sqlite', { RATE_LIMIT_STRICT_PER_MINUTE: '0', ...env, ...(env.REDIS_URL ? { REDIS_KEY_PREFIX: `robian-bench:${Date.now()}:` } : {}) });
  const host = await startTestHost({ environment, plugins: [listenersPlugin], requestLogging: false });
  try {
    const headers: Record<string, string> = {};
    if (withToken) {
      const tokens = (await (await host.request('/api/auth/device', { method: 'POST', json: {} })).json()) as { access_token: string };
      headers.authorization = `Bearer ${tokens.access_token}`;
    }
    await fetch(`${host.url}/api/stats`, { headers }); // warm the cache
    const result = await autocannon({ url: `${host.url}/api/stats`, connections: 20, duration: DURATION, headers });
    return { name, rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
  } finally {
    await host.close();
    await environment.cleanup();
  }
}

const HUGE = '1000000';
// a throw-away first pass warms the JIT, so the baseline is not penalised for running first
await measure('warm-up', { RATE_LIMIT_PER_MINUTE: HUGE }, true);
const rows = [await measure('limiter off (baseline)', { RATE_LIMIT_PER_MINUTE: '0' }, false)];
rows.push(await measure('memory limiter, anonymous', { RATE_LIMIT_PER_MINUTE: HUGE }, false));
rows.push(await measure('memory limiter, listener token', { RATE_LIMIT_PER_MINUTE: HUGE }, true));
if (redis) {
  rows.push(await measure('redis limiter, anonymous', { RATE_LIMIT_PER_MINUTE: HUGE, REDIS_URL: redis }, false));
  rows.push(await measure('redis limiter, listener token', { RATE_LIMIT_PER_MINUTE: HUGE, REDIS_URL: redis }, true));
}
// the baseline again at the end: the spread of the two shows the noise of the machine
rows.push(await measure('limiter off (baseline, again)', { RATE_LIMIT_PER_MINUTE: '0' }, false));
const base = rows[0]!.rps;
console.log(`GET /api/stats (cached), 20 connections, ${DURATION} s each, SQLite`);
for (const r of rows) console.log(`${r.name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p99 ${String(r.p99).padStart(4)} ms   ratio ${(r.rps / base).toFixed(2)}   non-2xx ${r.non2xx}`);
