// Benchmark of the debates list: Robian (cache hit), Robian (cache disabled, 100,000 debates),
// and a bare Koa route sending the same pre-serialized JSON string, then the 304 path of both
// (If-None-Match with the list's ETag), in one run, on this machine.
//
//   node --conditions=robian-source bench/api.ts [--debates 100000] [--duration 10] [--connections 50]
//        [--database-url postgresql://postgres@127.0.0.1:5432/test]   (a scratch database is created on that server)
//
// Prints requests/s, p50 and p99 latency for each, and the ratios against bare Koa.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createKernel, createLogger, loadConfig, type EntityManager } from '@robian/core';
import { createTestDatabase } from '@robian/test-support';

const { values } = parseArgs({
  options: {
    debates: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    'database-url': { type: 'string' },
  },
});
const DEBATES = Number(values.debates);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const dataDir = mkdtempSync(join(tmpdir(), 'robian-bench-api-'));
const scratch = values['database-url'] ? await createTestDatabase(values['database-url']) : undefined;
// the per-client limiter (120 requests a minute by default, since issue #6) would answer 429 to the
// load generator: off here, bench/ratelimit.ts measures it
const baseEnv: Record<string, string> = {
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  ADMIN_API_KEY: 'b'.repeat(40),
  SECRET_KEY: 's'.repeat(40),
  PROMETHEUS_METRICS: 'true',
  RATE_LIMIT_PER_MINUTE: '0',
  ...(scratch ? { DATABASE_URL: scratch.url } : {}),
};
const dialect = scratch ? 'PostgreSQL' : 'SQLite';

const TYPES = ['seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre'];
const SUBJECTS = ['réforme des retraites', 'projet de loi de finances', 'transition énergétique', 'accès aux soins', 'protection de l’enfance', 'sécurité intérieure', 'agriculture et alimentation', 'logement', 'éducation nationale', 'numérique'];

async function seed(): Promise<void> {
  const kernel = createKernel({ config: loadConfig(baseEnv), logger: createLogger({ level: 'warn' }), defaultMetrics: false });
  await kernel.start();
  const em = kernel.orm.em.fork() as unknown as EntityManager;
  const conn = em.getConnection();
  const t0 = performance.now();
  // SQLite stores date-times as epoch milliseconds, PostgreSQL as timestamptz
  const at = (d: Date) => (scratch ? d.toISOString() : d.getTime());
  const yes = scratch ? true : 1;
  const no = scratch ? false : 0;
  await conn.execute(
    "insert into commission (source, external_id, name, short_name, slug, kind, active, created_at, updated_at) values ('bench', 'PO1', 'Commission des lois', 'Lois', 'lois', 'COMPER', ?, ?, ?)",
    [yes, at(new Date()), at(new Date())],
  );
  const batch = 500;
  for (let start = 0; start < DEBATES; start += batch) {
    const rows: string[] = [];
    const params: unknown[] = [];
    for (let i = start; i < Math.min(DEBATES, start + batch); i++) {
      const date = new Date(Date.UTC(2017, 0, 1) + i * 37 * 60_000);
      rows.push("(?, 'bench', ?, ?, 'termine', ?, ?, ?, ?, ?, ?, 0, ?, ?)");
      params.push(
        `Débat ${i} : ${SUBJECTS[i % SUBJECTS.length]}`,
        `RU${i}`,
        `Séance consacrée à ${SUBJECTS[(i * 7) % SUBJECTS.length]}`,
        TYPES[i % TYPES.length],
        at(date),
        60 + (i % 180),
        i % 3 === 0 ? 1 : null,
        '["Discussion générale"]',
        no,
        at(date),
        at(date),
      );
    }
    await conn.execute(
      `insert into debate (title, source, external_id, description, status, type, date, duration_minutes, commission_id, agenda_points, has_audio, view_count, created_at, updated_at) values ${rows.join(', ')}`,
      params,
    );
  }
  console.log(`seeded ${DEBATES} debates in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (scratch) await conn.execute('analyze');
  await kernel.stop();
}

function start(kind: 'robian' | 'bare', port: number, env: Record<string, string>, file?: string): Promise<ChildProcess> {
  const child = fork(new URL('./servers.ts', import.meta.url), [kind, String(port), ...(file ? [file] : [])], {
    env: { ...process.env, ...env },
    execArgv: ['--conditions=robian-source'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
}

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, url: string, headers: Record<string, string> = {}, expect = 200): Promise<Result> {
  // warm up, then measure
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  // autocannon counts a 304 as non-2xx: what matters is that every answer had the expected status
  const unexpected = expect === 200 ? r.non2xx : r.requests.total - (r['3xx'] ?? 0);
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: unexpected };
}

await seed();
const url = (port: number) => `http://127.0.0.1:${port}/api/debats/?page=1`;
const robianCached = await start('robian', 18801, { ...baseEnv, CACHE_TTL_DEBATES: '300' });
const first = await fetch(url(18801));
const firstPage = await first.text();
const etag = first.headers.get('etag') ?? '';
const file = join(dataDir, 'page1.json');
writeFileSync(file, firstPage);
const bare = await start('bare', 18802, { BENCH_ETAG: etag }, file);
const results: Result[] = [];
try {
  results.push(await load('bare Koa, same pre-serialized JSON', url(18802)));
  results.push(await load('Robian, cache hit', url(18801)));
  results.push(await load('bare Koa, If-None-Match → 304', url(18802), { 'if-none-match': etag }, 304));
  results.push(await load('Robian, If-None-Match → 304', url(18801), { 'if-none-match': etag }, 304));
  robianCached.kill('SIGTERM');
  const robianUncached = await start('robian', 18803, { ...baseEnv, CACHE_TTL_DEBATES: '0' });
  try {
    results.push(await load(`Robian, cache disabled, ${DEBATES} debates (${dialect})`, url(18803)));
  } finally {
    robianUncached.kill('SIGTERM');
  }
} finally {
  robianCached.kill('SIGTERM');
  bare.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  await scratch?.drop();
}

const base = results[0]!.rps;
const base304 = results[2]!.rps;
console.log(`\n${CONNECTIONS} connections, ${DURATION} s each, response ${(firstPage.length / 1024).toFixed(1)} KiB (20 debates)\n`);
console.log('| case | req/s | p50 ms | p99 ms | ratio vs bare Koa (same status) | errors/unexpected status |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const against = r.name.includes('304') ? base304 : base;
  console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${(r.rps / against).toFixed(2)} | ${r.errors}/${r.non2xx} |`);
}
// a run that measured errors or refusals measured nothing
const failed = results.filter((r) => r.errors > 0 || r.non2xx > 0);
if (failed.length) {
  console.error(`\ninvalid run: errors or non-2xx answers in ${failed.map((r) => r.name).join(', ')}`);
  process.exitCode = 1;
}
