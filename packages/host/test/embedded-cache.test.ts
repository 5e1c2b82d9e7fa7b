import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';
import { runCli } from './cli.ts';

async function total(host: TestHost, path: string): Promise<number> {
  const res = await host.request(path);
  assert.equal(res.status, 200, `${path} → ${res.status}`);
  return ((await res.json()) as { total: number }).total;
}

/** Issue #11 item 10: embedded mode (SQLite, memory cache) — a write by the CLI in another process is seen by the running server. */
describe('embedded mode: the server sees what another process wrote', () => {
  it('serves the debates and committees `robian db seed` wrote in another process, although it had cached the empty lists', { timeout: 120_000 }, async (t) => {
    const env = await createTestEnvironment('sqlite');
    const host = await startTestHost({ environment: env, plugins: officialPlugins(), workers: false });
    try {
      // cached: the lists live 5 min (debates) and 30 min (committees) in this process's memory
      assert.equal(await total(host, '/api/debats/'), 0);
      assert.equal(await total(host, '/api/commissions/'), 0);
      assert.equal(await total(host, '/api/debats/'), 0);
      assert.ok(host.robian.kernel.cache.stats.l1Hits > 0, 'the second list came from memory');

      const seeded = await runCli(['db', 'seed'], env.env);
      assert.equal(seeded.code, 0, seeded.stderr);
      // the server looks at the database's cache generations at most once a second (the test's
      // timeout ends the wait: without that look, the lists stay empty for minutes)
      let debates = 0;
      while ((debates = await total(host, '/api/debats/')) === 0 && !t.signal.aborted) await sleep(100);
      assert.equal(debates, 10);
      let committees = 0;
      while ((committees = await total(host, '/api/commissions/')) === 0 && !t.signal.aborted) await sleep(100);
      assert.equal(committees, 4);
    } finally {
      await host.close();
      await env.cleanup();
    }
  });

  it('a second server on the same SQLite file drops what it cached when the first one invalidates', { timeout: 60_000 }, async (t) => {
    const env = await createTestEnvironment('sqlite');
    const a = await startTestHost({ environment: env, plugins: officialPlugins(), workers: false });
    const b = await startTestHost({ environment: env, plugins: officialPlugins(), workers: false });
    try {
      assert.equal(await total(b, '/api/debats/'), 0);
      const created = await a.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Séance du matin', date: '2026-11-20' } });
      assert.equal(created.status, 201);
      let seen = 0;
      while ((seen = await total(b, '/api/debats/')) === 0 && !t.signal.aborted) await sleep(100);
      assert.equal(seen, 1);
    } finally {
      await a.close();
      await b.close();
      await env.cleanup();
    }
  });
});
