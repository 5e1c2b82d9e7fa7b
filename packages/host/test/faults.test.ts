import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createLogger, loadConfig } from '@robian/core';
import { ADMIN_KEY, createTestEnvironment, serverModeSkip, startTestHost, type TestEnvironment, type TestHost } from '@robian/test-support';

/** Issue #11 items 5 and 8: observability behind a token, faults as the right 4xx/5xx, quiet logs. */

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

/** Sends raw bytes and resolves with everything the server wrote until it closed the connection. */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.write(bytes);
  });
}

describe('/health/detailed and /metrics behind a token in production', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ env: { ENVIRONMENT: 'production', METRICS_TOKEN: TOKEN } });
  });
  after(() => host?.close());

  it('keeps /health public and asks for METRICS_TOKEN or the admin key on the others', async () => {
    assert.equal((await host.request('/health')).status, 200);
    for (const path of ['/health/detailed', '/metrics']) {
      const anonymous = await host.request(path);
      assert.equal(anonymous.status, 401, path);
      assert.doesNotMatch(await anonymous.text(), /storage|root|version"|ffmpeg/);
      assert.equal((await host.request(path, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status, 403, path);
      assert.equal((await host.request(path, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, path);
      assert.equal((await host.request(path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status, 200, path);
    }
  });

  it('OBSERVABILITY_PUBLIC=true opens them again; a short METRICS_TOKEN is refused at start', async () => {
    const open = await startTestHost({ env: { ENVIRONMENT: 'production', OBSERVABILITY_PUBLIC: 'true' } });
    try {
      assert.equal((await open.request('/health/detailed')).status, 200);
    } finally {
      await open.close();
    }
    await assert.rejects(startTestHost({ env: { METRICS_TOKEN: 'short' } }), /METRICS_TOKEN/);
  });
});

describe('HTTP faults', () => {
  let host: TestHost;
  const logs = captureLogs();
  before(async () => {
    host = await startTestHost({ env: { REQUEST_TIMEOUT: '1' }, logger: logs.logger, requestLogging: true });
  });
  after(() => host?.close());

  it('a body that is not the gzip its Content-Encoding says is a 400, not a 500', async () => {
    const res = await host.request('/api/debats/', { method: 'POST', admin: true, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{"title":"x"}' });
    assert.equal(res.status, 400, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    assert.match(((await res.json()) as { detail: string }).detail, /gzip/);
    // real gzip still works
    const ok = await host.request('/api/debats/', { method: 'POST', admin: true, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ title: 'Séance gzip', date: '2026-11-20' })) });
    assert.equal(ok.status, 201, await ok.text());
  });

  it('a partial body is dropped after REQUEST_TIMEOUT (408), not held for minutes', { timeout: 30_000 }, async () => {
    const out = await raw(host.url, `POST /api/debats/ HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"title":`);
    assert.match(out, /^HTTP\/1\.1 408/);
  });

  it('TRACE and PROPFIND are 501 problems, logged without an error and a stack', async () => {
    for (const method of ['TRACE', 'PROPFIND']) {
      const out = await raw(host.url, `${method} /api/debats/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      assert.match(out, /^HTTP\/1\.1 501/, method);
      assert.match(out, /problem\+json/);
    }
    const errors = logs.lines.filter((l) => Number(l.level) >= 50);
    assert.deepEqual(errors, [], 'no error-level line');
    assert.ok(!logs.lines.some((l) => JSON.stringify(l).includes('"stack"')));
  });

  it('the access log does not carry the signature of a signed audio URL', async () => {
    await host.request('/api/debats/1/audio?format=mp3&expires=1999999999&signature=c2VjcmV0LXNpZ25hdHVyZQ&x=1');
    const line = logs.lines.find((l) => l.msg === 'request' && String(l.url).startsWith('/api/debats/1/audio'));
    assert.ok(line, 'the request was logged');
    assert.doesNotMatch(String(line.url), /c2VjcmV0LXNpZ25hdHVyZQ/);
    assert.match(String(line.url), /signature=\[redacted\]&x=1/);
  });
});

/** A TCP relay to PostgreSQL that the test can cut (the outage) and restore. */
async function relay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
    });
  await up();
  return { get port() { return port; }, up, down };
}

describe('PostgreSQL outage', { skip: serverModeSkip() }, () => {
  let env: TestEnvironment;
  let host: TestHost;
  let pg: Awaited<ReturnType<typeof relay>>;
  before(async () => {
    env = await createTestEnvironment('postgresql+redis');
    const url = new URL(env.env.DATABASE_URL!);
    pg = await relay({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(pg.port);
    const config = loadConfig({ ...env.env, DATABASE_URL: url.toString() });
    host = await startTestHost({ environment: { ...env, config } });
  });
  after(async () => {
    await pg?.down();
    await host?.close().catch(() => {});
    await env?.cleanup();
  });

  it('answers writes with 503 and Retry-After while the database is unreachable, and recovers', async () => {
    const create = () => host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Pendant la panne', date: '2026-11-20' } });
    assert.equal((await create()).status, 201);
    await pg.down();
    const res = await create();
    assert.equal(res.status, 503, await res.clone().text());
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    await pg.up();
    let again = await create();
    // the pool may hand out one connection that died with the relay before noticing
    for (let i = 0; i < 5 && again.status === 503; i++) again = await create();
    assert.equal(again.status, 201);
  });
});
