import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { usePlugin } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { wsPlugin } from '@robian/plugin-ws';
import { busPlugin, connectIo, connectWs } from './helpers.ts';

/** A port on 127.0.0.1 that refuses connections (bound, then closed). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Redis configured but unreachable', () => {
  let host: TestHost;
  const bus = busPlugin();
  before(async () => {
    const port = await closedPort();
    // only the plugin's link points at the dead port (the core cache stays in memory)
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { redisUrl: `redis://127.0.0.1:${port}` }), bus.plugin] });
  });
  after(() => host.close());

  it('starts, delivers to its own clients, reports itself degraded and counts the relay failures', async () => {
    const ws = await connectWs(host.url);
    const io = await connectIo(host.url);
    await ws.request({ type: 'subscribe', channel: 'extractions' });
    await io.subscribe('extractions');
    await bus.emit('extraction.started', { extraction_id: 'down-1', debate_id: 3, format: 'mp3', quality: 'low', status: 'running' });
    await ws.inbox.type('extraction_started');
    await io.inbox.type('extraction_started');
    const res = await host.request('/health/detailed');
    const ws_ = ((await res.json()) as { plugins: Record<string, Record<string, any>> }).plugins.ws!;
    assert.equal(ws_.redis, 'down');
    assert.equal(ws_.status, 'degraded');
    assert.ok(ws_.messages.bridge.errors >= 1);
    const text = await (await host.request('/metrics')).text();
    assert.match(text, /robian_ws_redis_up 0/);
    await ws.close();
    io.close();
  });
});
