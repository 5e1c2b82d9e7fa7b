import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_KEY, STORAGE_MODES, createTestEnvironment, serverModeSkip, startTestHost, type TestHost } from '@robian/test-support';
import { listenersPlugin } from '@robian/plugin-listeners';
import { isStrictRoute } from '../src/security.ts';

/** Host processes started by the tests (test/fixtures/serve.ts), stopped with SIGTERM. */
const children: ChildProcess[] = [];

async function stopChildren(): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

async function spawnHost(env: Record<string, string>): Promise<string> {
  const script = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=robian-source', script], { env: { ...env, PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  return new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`host process exited with ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
}


const device = (host: TestHost, headers: Record<string, string> = {}) =>
  host.request('/api/auth/device', { method: 'POST', json: {}, headers });

for (const mode of STORAGE_MODES) {
  describe(`rate limits (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: [listenersPlugin], env: { RATE_LIMIT_PER_MINUTE: '8', RATE_LIMIT_STRICT_PER_MINUTE: '3' } });
    });
    after(() => host?.close());

    it('limits each client per minute, answers 429 problem+json with Retry-After and RateLimit-* headers', async () => {
      // the strict limit on auth routes: 3 per minute
      const statuses: number[] = [];
      let token = '';
      for (let i = 0; i < 4; i++) {
        const res = await device(host);
        statuses.push(res.status);
        if (res.status === 201) token = ((await res.json()) as { access_token: string }).access_token;
        else {
          assert.equal(res.headers.get('content-type'), 'application/problem+json');
          const problem = (await res.json()) as { status: number; type: string; limit_scope: string };
          assert.equal(problem.status, 429);
          assert.match(problem.type, /rate-limited/);
          assert.equal(problem.limit_scope, 'strict');
          assert.ok(Number(res.headers.get('retry-after')) >= 1 && Number(res.headers.get('retry-after')) <= 60);
          assert.equal(res.headers.get('ratelimit-limit'), '3');
          assert.equal(res.headers.get('ratelimit-remaining'), '0');
        }
      }
      assert.deepEqual(statuses, [201, 201, 201, 429]);

      // the general limit: 8 per minute per IP (4 used above); headers on every answer
      const first = await host.request('/api/debats/');
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('ratelimit-limit'), '8');
      assert.equal(first.headers.get('ratelimit-remaining'), '3');
      assert.ok(Number(first.headers.get('ratelimit-reset')) >= 1);
      for (let i = 0; i < 3; i++) assert.equal((await host.request('/api/debats/')).status, 200);
      const limited = await host.request('/api/debats/');
      assert.equal(limited.status, 429);
      assert.equal(((await limited.json()) as { limit_scope: string }).limit_scope, 'general');

      // an authenticated listener is counted on its own account, not on the IP
      const mine = await host.request('/api/me', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(mine.status, 200);
      assert.equal(mine.headers.get('ratelimit-remaining'), '7');
      // a token that does not verify counts on the IP (no free bucket for forged tokens)
      assert.equal((await host.request('/api/debats/', { headers: { authorization: 'Bearer forged.token.here' } })).status, 429);
      // the admin key, health probes and CORS preflights are not limited
      assert.equal((await host.request('/api/debats/', { admin: true })).status, 200);
      assert.equal((await host.request('/health')).status, 200);
      assert.notEqual((await host.request('/api/debats/', { method: 'OPTIONS' })).status, 429);
    });
  });
}

describe('rate limit while Redis is unreachable', () => {
  after(() => stopChildren());

  it('starts anyway and limits the instance in memory', async () => {
    // nothing listens on port 1 of the loopback; a child process, so that the cache's Redis retries die with it
    const environment = await createTestEnvironment('sqlite', { RATE_LIMIT_PER_MINUTE: '3', REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: 'robian-test-unreachable:' });
    try {
      const url = await spawnHost(environment.env);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/api/stats`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
    } finally {
      await stopChildren();
      await environment.cleanup();
    }
  });
});

describe('client IP behind a proxy', () => {
  it('counts X-Forwarded-For clients apart only with TRUST_PROXY', async () => {
    for (const trust of [true, false]) {
      const host = await startTestHost({ env: { RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: String(trust) } });
      try {
        const statuses: number[] = [];
        for (const ip of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2']) {
          statuses.push((await host.request('/api/stats', { headers: { 'x-forwarded-for': ip } })).status);
        }
        assert.deepEqual(statuses, trust ? [200, 200, 200, 200] : [200, 200, 429, 429]);
      } finally {
        await host.close();
      }
    }
  });
});

describe('strict routes', () => {
  it('are the auth routes and extraction requests', () => {
    assert.equal(isStrictRoute('POST', '/api/auth/device'), true);
    assert.equal(isStrictRoute('POST', '/api/auth/link/redeem'), true);
    assert.equal(isStrictRoute('POST', '/api/debats/12/extract'), true);
    assert.equal(isStrictRoute('POST', '/api/streaming/12/extract'), true, "the original's path of the same route");
    assert.equal(isStrictRoute('GET', '/api/debats/12'), false);
    assert.equal(isStrictRoute('GET', '/api/me'), false);
    assert.equal(isStrictRoute('POST', '/api/collections/'), false);
  });
});

describe('rate limit across two host processes sharing Redis', { skip: serverModeSkip() }, () => {
  let cleanup: (() => Promise<void>) | undefined;
  after(async () => {
    await stopChildren();
    await cleanup?.();
  });

  it('the sum of the requests to both instances is limited', async () => {
    const environment = await createTestEnvironment('postgresql+redis', { RATE_LIMIT_PER_MINUTE: '10', RATE_LIMIT_STRICT_PER_MINUTE: '4' });
    cleanup = () => environment.cleanup();
    // the first instance migrates the database before the second starts
    const a = await spawnHost(environment.env);
    const b = await spawnHost(environment.env);
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) statuses.push((await fetch(`${i % 2 ? b : a}/api/debats/`)).status);
    assert.equal(statuses.filter((s) => s === 200).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    // both instances refuse once the shared budget is spent
    assert.equal((await fetch(`${a}/api/stats`)).status, 429);
    assert.equal((await fetch(`${b}/api/stats`)).status, 429);
    // the admin key is not limited
    assert.equal((await fetch(`${a}/api/debats/`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status, 200);
  });
});

describe('security headers, body limits, JSON only', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ plugins: [listenersPlugin], env: { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_STRICT_PER_MINUTE: '0', BACKEND_CORS_ORIGINS: 'https://app.example.org' } });
  });
  after(() => host?.close());

  it('sends the security headers on answers and errors', async () => {
    for (const path of ['/api/debats/', '/api/nothing-here', '/health']) {
      const res = await host.request(path);
      await res.arrayBuffer();
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'", path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('x-powered-by'), null);
    }
    // the documentation pages keep their own policy
    const docs = await host.request('/docs');
    await docs.text();
    assert.match(docs.headers.get('content-security-policy') ?? '', /script-src|default-src 'self'/);
  });

  it('answers CORS only for the configured origins', async () => {
    const ok = await host.request('/api/debats/', { headers: { origin: 'https://app.example.org' } });
    await ok.arrayBuffer();
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.org');
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /RateLimit-Remaining/);
    const other = await host.request('/api/debats/', { headers: { origin: 'https://evil.example' } });
    await other.arrayBuffer();
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('refuses bodies that are too large, not JSON, or not valid JSON', async () => {
    const big = await host.request('/api/auth/device', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_name: 'x'.repeat(1_100_000) }) });
    assert.equal(big.status, 413);
    assert.equal(big.headers.get('content-type'), 'application/problem+json');
    const text = await host.request('/api/auth/device', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'device_name=x' });
    assert.equal(text.status, 415);
    const form = await host.request('/api/auth/device', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'device_name=x' });
    assert.equal(form.status, 415);
    const broken = await host.request('/api/auth/device', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"device_name":' });
    assert.equal(broken.status, 400);
    assert.match(((await broken.json()) as { detail: string }).detail, /not valid JSON/);
    // a chunked body without a length is checked too
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${host.url}/api/auth/device`, { method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('device_name=');
      req.end('x');
    });
    assert.equal(chunked, 415);
    // a field that is too long is named
    const long = await host.request('/api/auth/device', { method: 'POST', json: { device_name: 'x'.repeat(101) } });
    assert.equal(long.status, 422);
    assert.equal(((await long.json()) as { errors: { field: string }[] }).errors[0]?.field, 'device_name');
  });
});
