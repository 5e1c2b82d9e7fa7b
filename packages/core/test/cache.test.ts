import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { RobianCache, createLogger } from '@robian/core';
import { deleteRedisPrefix, serverModeSkip, serverUrls } from '@robian/test-support';

const logger = createLogger({ level: 'silent' });
const uniquePrefix = () => `robian-test:cache:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('cache, memory only', () => {
  it('wraps, serves hits, counts misses and shares one computation between concurrent misses', async () => {
    const cache = new RobianCache({ logger });
    const ns = cache.namespace('debates', 60);
    let computed = 0;
    const compute = async () => {
      computed++;
      await sleep(20);
      return { n: computed };
    };
    const [a, b] = await Promise.all([ns.wrap('k', compute), ns.wrap('k', compute)]);
    assert.deepEqual(a, { n: 1 });
    assert.deepEqual(b, { n: 1 });
    assert.deepEqual(await ns.wrap('k', compute), { n: 1 });
    assert.equal(computed, 1);
    assert.ok(cache.stats.hits >= 1);
    await ns.invalidate();
    assert.deepEqual(await ns.wrap('k', compute), { n: 2 });
    assert.equal(cache.health().redis, 'disabled');
    await cache.close();
  });

  it('does not cache when the TTL is 0', async () => {
    const cache = new RobianCache({ logger });
    const ns = cache.namespace('off', 0);
    let n = 0;
    await ns.wrap('k', async () => ++n);
    await ns.wrap('k', async () => ++n);
    assert.equal(n, 2);
    await cache.close();
  });

  it('does not store a value computed across an invalidation', async () => {
    const cache = new RobianCache({ logger });
    const ns = cache.namespace('race', 60);
    const slow = ns.wrap('k', async () => {
      await sleep(30);
      return 'stale';
    });
    await sleep(5);
    await ns.invalidate();
    assert.equal(await slow, 'stale');
    assert.equal(await ns.get('k'), undefined);
    await cache.close();
  });
});

describe('cache, memory + Redis shared by two instances', { skip: serverModeSkip() }, () => {
  const prefix = uniquePrefix();
  after(() => deleteRedisPrefix(serverUrls()!.redisUrl, prefix));

  it('serves a value written by one instance to the other (L2) and invalidates both memories', async () => {
    const redisUrl = serverUrls()!.redisUrl;
    const a = new RobianCache({ logger, redisUrl, prefix });
    const b = new RobianCache({ logger, redisUrl, prefix });
    await a.connect();
    await b.connect();
    try {
      const na = a.namespace('debates', 60);
      const nb = b.namespace('debates', 60);
      await until(() => a.redisReady && b.redisReady, 'redis ready');
      await sleep(50); // generations loaded
      await na.set('list', { v: 1 });
      assert.deepEqual(await nb.get('list'), { v: 1 }, 'B reads what A wrote');
      assert.equal(b.stats.l2Hits, 1);
      assert.deepEqual(await nb.get('list'), { v: 1 });
      assert.equal(b.stats.l1Hits, 1, 'then from its own memory');
      // A write on A: B's memory must drop the entry too
      await na.invalidate();
      await until(async () => (await nb.get('list')) === undefined, 'B to see the invalidation');
      assert.equal(await na.get('list'), undefined);
      assert.equal(nb.generation, na.generation);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

/** A private redis-server we can kill and restart, so the shared one is never disturbed. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

describe('cache, Redis outage and recovery', { skip: serverModeSkip() }, () => {
  it('keeps answering from memory while Redis is down, says so, reconnects and republishes invalidations', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const redisUrl = `redis://127.0.0.1:${port}`;
    const prefix = uniquePrefix();
    const a = new RobianCache({ logger, redisUrl, prefix });
    const b = new RobianCache({ logger, redisUrl, prefix });
    try {
      await a.connect();
      await b.connect();
      const na = a.namespace('debates', 60);
      const nb = b.namespace('debates', 60);
      await until(() => a.redisReady && b.redisReady, 'redis ready');
      await sleep(50);
      await nb.set('detail:1', 'old');
      assert.equal(await nb.get('detail:1'), 'old');

      redis.kill('SIGKILL');
      await until(() => !a.redisReady && !b.redisReady, 'both to notice the outage');
      assert.equal(a.health().redis, 'down');
      // still answers: memory hit on B, compute on A, no exception, no hang
      assert.equal(await nb.get('detail:1'), 'old');
      const t0 = Date.now();
      assert.equal(await na.wrap('detail:2', async () => 'fresh'), 'fresh');
      assert.ok(Date.now() - t0 < 2000, 'a miss does not wait for the dead Redis');
      // a write on A during the outage: its memory drops at once, B learns it after recovery
      await na.invalidate();

      redis = await startRedis(port);
      await until(() => a.redisReady && b.redisReady, 'both to reconnect', 15_000);
      assert.equal(a.health().redis, 'up');
      await until(async () => (await nb.get('detail:1')) === undefined, 'B to drop what became stale');
    } finally {
      await a.close();
      await b.close();
      redis.kill('SIGKILL');
    }
  });
});

describe('cache, a Redis that never answers', () => {
  it('does not keep the process alive after close()', async () => {
    // a TCP server that accepts connections and never says a word
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const script = `
        import { RobianCache, createLogger } from '@robian/core';
        const cache = new RobianCache({ logger: createLogger({ level: 'silent' }), redisUrl: 'redis://127.0.0.1:${port}', prefix: 'robian-test:silent:' });
        await cache.connect();
        const ns = cache.namespace('debates', 60);
        console.log(JSON.stringify({ value: await ns.wrap('k', async () => 'computed'), redis: cache.health().redis }));
        await cache.close();
      `;
      const child = spawn(process.execPath, ['--conditions=robian-source', '--input-type=module', '-e', script], { cwd: new URL('.', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // a hang is what this test catches: give it a generous bound, then fail instead of waiting forever
      const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(watchdog);
      assert.equal(code, 0, `the process exited by itself (output: ${out})`);
      assert.deepEqual(JSON.parse(out.trim()), { value: 'computed', redis: 'down' });
    } finally {
      silent.close();
    }
  });
});
