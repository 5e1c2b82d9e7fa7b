import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkSchema, loadConfig } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { verifySignature, webhooksPlugin } from '../plugin.ts';

const SECRET = 'webhook-secret-0123456789';

interface Received {
  path: string;
  body: string;
  signatureValid: boolean;
  event: string | undefined;
}

/** An endpoint on 127.0.0.1 that answers each path with the next status of its script (then 200). */
async function receiver(scripts: Record<string, number[]>): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const path = req.url ?? '/';
    received.push({ path, body, signatureValid: verifySignature(SECRET, body, req.headers['x-robian-signature'] as string), event: req.headers['x-robian-event'] as string });
    const status = scripts[path]?.shift() ?? 200;
    res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

async function deliveries(host: TestHost): Promise<{ url: string; status: string; attempts: number }[]> {
  const res = await host.request('/api/webhooks/deliveries', { admin: true });
  assert.equal(res.status, 200);
  return ((await res.json()) as { deliveries: { url: string; status: string; attempts: number }[] }).deliveries;
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await what();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  return what();
}

const audioReady = { extraction_id: '7', debate_id: 42, format: 'mp3', quality: '64k', status: 'completed' as const, file_size: 1234, duration_seconds: 60 };

for (const mode of STORAGE_MODES) {
  describe(`webhooks example (${mode.name})`, { skip: mode.skip }, () => {
    let endpoint: Awaited<ReturnType<typeof receiver>>;
    let host: TestHost;
    before(async () => {
      endpoint = await receiver({ '/flaky': [500, 503], '/down': [500, 500, 500, 500], '/moved': [302, 302, 302, 302] });
      host = await startTestHost({
        mode: mode.name,
        plugins: [webhooksPlugin],
        env: {
          WEBHOOK_URLS: ['/flaky', '/down', '/moved'].map((p) => endpoint.url + p).join(','),
          WEBHOOK_SECRET: SECRET,
          WEBHOOK_MAX_ATTEMPTS: '3',
          WEBHOOK_RETRY_BASE_MS: '20',
          WEBHOOK_POLL_MS: '20',
        },
      });
    });
    after(async () => {
      await host.close();
      endpoint.server.close();
    });

    it('its migration creates exactly what its entity describes', async () => {
      assert.equal((await checkSchema(host.robian.kernel.orm)).drift, '');
    });

    it('signs every attempt, retries with backoff until 2xx, gives up after the last attempt, never follows a redirect', async () => {
      await host.robian.kernel.events.emit('extraction.completed', audioReady);
      const rows = await until(() => deliveries(host), (list) => list.length === 3 && list.every((d) => d.status === 'delivered' || d.status === 'failed'));
      const byUrl = Object.fromEntries(rows.map((d) => [new URL(d.url).pathname, d]));
      assert.deepEqual(byUrl['/flaky'], { ...byUrl['/flaky'], status: 'delivered', attempts: 3 });
      assert.deepEqual(byUrl['/down'], { ...byUrl['/down'], status: 'failed', attempts: 3 });
      assert.deepEqual(byUrl['/moved'], { ...byUrl['/moved'], status: 'failed', attempts: 3 });
      assert.equal(endpoint.received.filter((r) => r.path === '/flaky').length, 3);
      assert.equal(endpoint.received.filter((r) => r.path === '/elsewhere').length, 0);
      assert.ok(endpoint.received.every((r) => r.signatureValid && r.event === 'audio.ready'));
      const flaky = endpoint.received.filter((r) => r.path === '/flaky').map((r) => r.body);
      assert.equal(new Set(flaky).size, 1, 'every attempt sends the same body');
      assert.deepEqual(JSON.parse(flaky[0]!).data, { debate_id: '42', format: 'mp3', quality: '64k', file_size: 1234, duration_seconds: 60 });
      assert.equal(verifySignature('another-secret-0123456789', flaky[0]!, `t=${Math.floor(Date.now() / 1000)},v1=00`), false);
    });

    it('lists deliveries to the admin only', async () => {
      assert.equal((await host.request('/api/webhooks/deliveries')).status, 401);
    });
  });
}

describe('webhooks example: a delivery outlives the process', () => {
  it('is sent by the next instance when the endpoint was unreachable before the restart', async () => {
    const environment = await createTestEnvironment('sqlite', { WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_POLL_MS: '20' });
    const endpoint = await receiver({});
    const { port } = endpoint.server.address() as AddressInfo;
    await new Promise<void>((resolve) => endpoint.server.close(() => resolve())); // nobody listens there yet
    // the same database and DATA_DIR for both instances
    const envWithUrl = { ...environment.env, WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`, WEBHOOK_MAX_ATTEMPTS: '50' };
    const first = await startTestHost({ environment: { ...environment, env: envWithUrl, config: loadConfig(envWithUrl) }, plugins: [webhooksPlugin] });
    try {
      await first.robian.kernel.events.emit('extraction.completed', audioReady);
      await until(() => deliveries(first), (list) => list[0]?.status === 'pending' && list[0].attempts >= 1);
    } finally {
      await first.close();
    }
    const back = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        endpoint.received.push({ path: req.url ?? '', body, signatureValid: verifySignature(SECRET, body, req.headers['x-robian-signature'] as string), event: undefined });
        res.end();
      });
    });
    await new Promise<void>((resolve) => back.listen(port, '127.0.0.1', resolve));
    const second = await startTestHost({ environment: { ...environment, env: envWithUrl, config: loadConfig(envWithUrl) }, plugins: [webhooksPlugin] });
    try {
      const [row] = await until(() => deliveries(second), (list) => list[0]?.status === 'delivered');
      assert.equal(row?.status, 'delivered');
      assert.equal(endpoint.received.length, 1);
      assert.ok(endpoint.received[0]!.signatureValid);
    } finally {
      await second.close();
      back.close();
      await environment.cleanup();
    }
  });
});
