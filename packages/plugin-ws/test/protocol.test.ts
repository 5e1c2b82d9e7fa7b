import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { usePlugin } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { wsPlugin } from '@robian/plugin-ws';
import { busPlugin, connectIo, connectWs, eventually, sleep } from './helpers.ts';

/** Answers an HTTP upgrade request with its status line (or the socket closing). */
function upgrade(url: string, path: string): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve('closed') : reject(err)));
    req.end();
  });
}

/** A raw engine.io client over ws that has joined the default namespace: it answers nothing by itself. */
async function rawEngineIo(host: TestHost): Promise<{ ws: WebSocket; frames: string[] }> {
  const ws = new WebSocket(`${host.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  ws.on('error', () => {});
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(String(d)));
  await once(ws, 'open');
  ws.send('40');
  await eventually(() => frames.some((f) => f.startsWith('40')), 5000, 'the namespace connect');
  return { ws, frames };
}

async function healthOf(host: TestHost): Promise<Record<string, any>> {
  const res = await host.request('/health/detailed');
  const body = (await res.json()) as { plugins: Record<string, Record<string, any>> };
  return body.plugins.ws!;
}

describe('the /ws protocol and socket.io events', () => {
  let host: TestHost;
  const bus = busPlugin();
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxChannelsPerConnection: 3, maxMessageBytes: 512 }), bus.plugin] });
  });
  after(() => host.close());

  it('says hello with the client id and the limits', async () => {
    const ws = await connectWs(host.url);
    const hello = ws.inbox.of('connected')[0]!;
    assert.equal(typeof hello.data.client_id, 'string');
    assert.equal(hello.data.max_channels, 3);
    assert.equal(hello.data.max_message_bytes, 512);
    assert.deepEqual(hello.data.channels, ['debates', 'extractions', 'system', 'debate:{id}', 'user:{id}']);
    await ws.close();
    const io = await connectIo(host.url);
    assert.equal(io.inbox.of('connected')[0]!.data.client_id, io.socket.id);
    io.close();
  });

  it('answers malformed and unknown messages with an error and keeps the connection', async () => {
    const ws = await connectWs(host.url);
    const cases: [unknown, string][] = [
      ['not json{', 'malformed'],
      ['[1,2]', 'malformed'],
      ['"subscribe"', 'malformed'],
      ['null', 'malformed'],
      [{ channel: 'debates' }, 'unknown_type'],
      [{ type: 'dance' }, 'unknown_type'],
      [{ type: 42 }, 'unknown_type'],
      [{ type: 'subscribe' }, 'invalid_channel'],
      [{ type: 'subscribe', channel: 'secrets' }, 'invalid_channel'],
      [{ type: 'subscribe', channel: 'debate:abc' }, 'invalid_channel'],
      [{ type: 'subscribe', channel: 'debate:0' }, 'invalid_channel'],
      [{ type: 'subscribe', channel: 'debate:99999999999' }, 'invalid_channel'],
      [{ type: 'subscribe', channel: { name: 'debates' } }, 'invalid_channel'],
      [{ type: 'unsubscribe' }, 'invalid_channel'],
    ];
    for (const [input, code] of cases) {
      ws.send(input);
      const reply = await ws.inbox.type('error');
      assert.equal(reply.data.code, code, `reply to ${JSON.stringify(input)}`);
      assert.equal(typeof reply.data.message, 'string');
    }
    ws.ws.send(Buffer.from([0xff, 0x00]), { binary: true });
    assert.equal((await ws.inbox.type('error')).data.code, 'malformed');
    // still served
    const pong = await ws.request({ type: 'ping' });
    assert.equal(pong.type, 'pong');
    assert.equal(ws.ws.readyState, WebSocket.OPEN);
    await ws.close();

    const io = await connectIo(host.url);
    const bad = await io.subscribe('secrets');
    assert.deepEqual([bad.type, bad.data.code], ['error', 'invalid_channel']);
    const bad2 = (await io.socket.timeout(5000).emitWithAck('subscribe', 12)) as { type: string; data: { code: string } };
    assert.equal(bad2.data.code, 'invalid_channel');
    io.socket.emit('dance', { x: 1 });
    assert.equal((await io.inbox.type('error')).data.code, 'unknown_type');
    // without an ack callback the reply comes as an event
    io.socket.emit('subscribe', { channel: 'system' });
    assert.equal((await io.inbox.type('subscribed')).channel, 'system');
    assert.equal(io.socket.connected, true);
    io.close();
    const health = await healthOf(host);
    assert.ok(health.client_errors.ws >= cases.length + 1);
    assert.ok(health.client_errors.socketio >= 3);
  });

  it('answers ping with pong on both protocols', async () => {
    const ws = await connectWs(host.url);
    const pong = await ws.request({ type: 'ping' });
    assert.equal(pong.type, 'pong');
    assert.match(pong.message_id, /^[0-9a-f-]{36}$/);
    await ws.close();
    const io = await connectIo(host.url);
    const reply = (await io.socket.timeout(5000).emitWithAck('ping')) as { type: string };
    assert.equal(reply.type, 'pong');
    io.close();
  });

  it('caps the channels of a connection (joining one again is free)', async () => {
    const ws = await connectWs(host.url);
    for (const channel of ['debates', 'extractions', 'system', 'debates']) assert.equal((await ws.request({ type: 'subscribe', channel })).type, 'subscribed');
    const refused = await ws.request({ type: 'subscribe', channel: 'debate:1' });
    assert.deepEqual([refused.type, refused.data.code], ['error', 'too_many_channels']);
    await ws.request({ type: 'unsubscribe', channel: 'system' });
    assert.equal((await ws.request({ type: 'subscribe', channel: 'debate:1' })).type, 'subscribed');
    await ws.close();

    const io = await connectIo(host.url);
    for (const channel of ['debates', 'extractions', 'system']) assert.equal((await io.subscribe(channel)).type, 'subscribed');
    const ioRefused = await io.subscribe('debate:1');
    assert.equal(ioRefused.data.code, 'too_many_channels');
    io.close();
  });

  it('closes a connection that sends a message over the size limit (1009), and the server goes on', async () => {
    const ws = await connectWs(host.url);
    const closed = once(ws.ws, 'close');
    ws.send({ type: 'subscribe', channel: 'debates', padding: 'x'.repeat(1000) });
    const [code] = (await closed) as [number];
    assert.equal(code, 1009);
    const again = await connectWs(host.url);
    assert.equal((await again.request({ type: 'ping' })).type, 'pong');
    await again.close();

    const io = await connectIo(host.url);
    const gone = new Promise<string>((resolve) => io.socket.once('disconnect', (reason) => resolve(reason)));
    io.socket.emit('subscribe', { channel: 'debates', padding: 'x'.repeat(2000) });
    assert.equal(await gone, 'transport close');
  });

  it('serves socket.io over HTTP long-polling too, and leaves other requests to the host', async () => {
    const io = await connectIo(host.url, { transports: ['polling'] });
    await io.subscribe('system');
    await bus.emit('system.status', { status: 'ready', detail: 'polling' });
    const m = await io.inbox.type('system_status');
    assert.equal(m.data.detail, 'polling');
    assert.equal(m.data.status, 'ready');
    assert.equal(typeof m.data.instance, 'string');
    io.close();
    const res = await host.request('/api/debats/');
    assert.equal(res.status, 200);
    const notFound = await host.request('/socket.iox');
    assert.equal(notFound.status, 404);
    // a plain GET on /ws is told to upgrade, and the endpoint is in the API description
    const plain = await host.request('/ws');
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get('upgrade'), 'websocket');
    assert.match(plain.headers.get('content-type') ?? '', /problem\+json/);
    const openapi = (await (await host.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/ws'], 'GET /ws documented');
  });

  it('answers only the upgrades it owns', async () => {
    assert.equal(await upgrade(host.url, '/ws'), 101);
    assert.equal(await upgrade(host.url, '/ws?token=x'), 101);
    // alone on the server, it refuses the others as Node does without any upgrade listener
    assert.equal(await upgrade(host.url, '/somewhere-else'), 404);
    assert.equal(await upgrade(host.url, '/wsx'), 404);
    // another listener on the same server gets the other upgrades, untouched
    let undo: (() => void) | undefined;
    bus.ctx.services.get('http.server').attach((server) => {
      const listener = (req: { url?: string }, socket: import('node:stream').Duplex) => {
        if (req.url === '/other') socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      };
      server.on('upgrade', listener);
      undo = () => server.off('upgrade', listener);
    })();
    try {
      assert.equal(await upgrade(host.url, '/other'), 418);
      assert.equal(await upgrade(host.url, '/ws'), 101);
      assert.equal(await upgrade(host.url, '/socket.io/?EIO=4&transport=websocket'), 101);
    } finally {
      undo?.();
    }
  });

  it('exports connections and messages to /metrics and /health/detailed', async () => {
    const ws = await connectWs(host.url);
    const io = await connectIo(host.url);
    await ws.request({ type: 'subscribe', channel: 'system' });
    await io.subscribe('system');
    await bus.emit('system.status', { status: 'ready' });
    await ws.inbox.type('system_status');
    await io.inbox.type('system_status');
    const health = await healthOf(host);
    assert.equal(health.status, 'ok');
    assert.equal(health.redis, 'disabled');
    assert.deepEqual(health.connections, { socketio: 1, ws: 1 });
    assert.deepEqual(health.subscriptions, { socketio: 1, ws: 1 });
    assert.ok(health.messages.sent.ws > 0 && health.messages.sent.socketio > 0);
    assert.ok(health.messages.published > 0);
    assert.equal(health.limits.max_channels_per_connection, 3);
    const text = await (await host.request('/metrics')).text();
    assert.match(text, /robian_ws_connections\{protocol="ws"\} 1/);
    assert.match(text, /robian_ws_connections\{protocol="socketio"\} 1/);
    assert.match(text, /robian_ws_messages_sent_total\{protocol="ws"\} [1-9]/);
    assert.match(text, /robian_ws_events_published_total\{type="system_status"\} [1-9]/);
    assert.match(text, /robian_ws_redis_up -1/);
    await ws.close();
    io.close();
    await eventually(async () => (await healthOf(host)).connections.ws === 0 && (await healthOf(host)).connections.socketio === 0, 5000, 'connections to close');
  });
});

describe('heartbeats', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { heartbeatIntervalMs: 250 })] });
  });
  after(() => host.close());

  it('closes a /ws connection that does not answer pings, and keeps one that does', async () => {
    const dead = await connectWs(host.url, { autoPong: false });
    const alive = await connectWs(host.url);
    const closed = once(dead.ws, 'close');
    const [code] = (await closed) as [number];
    assert.equal(code, 1006, 'terminated, no close handshake');
    await sleep(800); // three heartbeats
    assert.equal(alive.ws.readyState, WebSocket.OPEN);
    assert.equal((await alive.request({ type: 'ping' })).type, 'pong');
    await alive.close();
    const health = await healthOf(host);
    assert.ok(health.disconnects['ws:heartbeat'] >= 1);
    assert.equal(health.limits.heartbeat_interval_ms, 250);
  });

  it('closes a socket.io connection that stops answering engine.io pings', async () => {
    // a raw engine.io client over ws that completes the handshake, then never answers "2" (ping)
    const { ws, frames } = await rawEngineIo(host);
    const [code] = (await once(ws, 'close')) as [number];
    assert.ok(code === 1005 || code === 1000 || code === 1006, `closed (${code})`);
    assert.ok(frames.includes('2'), 'the server pinged');
    await eventually(async () => (await healthOf(host)).disconnects['socketio:heartbeat'] >= 1, 5000, 'the heartbeat disconnect counted');
  });
});

describe('a slow client', () => {
  let host: TestHost;
  const bus = busPlugin();
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxBufferedBytes: 64 * 1024, maxConsecutiveDrops: 1_000_000 }), bus.plugin] });
  });
  after(() => host.close());

  const flood = async (n: number) => {
    const realtime = bus.ctx.services.get('realtime');
    const blob = 'x'.repeat(16 * 1024);
    for (let i = 0; i < n; i++) {
      realtime.publish('extractions', 'extraction_progress', { extraction_id: `flood-${i}`, blob });
      if (i % 10 === 0) await sleep(1); // lets the fast client read as it goes
    }
  };

  it('does not drop for healthy clients, even a burst larger than the limit in one go', async () => {
    const ws = await connectWs(host.url);
    const io = await connectIo(host.url);
    await ws.request({ type: 'subscribe', channel: 'extractions' });
    await io.subscribe('extractions');
    const before = (await healthOf(host)).messages.dropped;
    const realtime = bus.ctx.services.get('realtime');
    const blob = 'y'.repeat(1024);
    for (let i = 0; i < 300; i++) realtime.publish('extractions', 'extraction_progress', { extraction_id: `burst-${i}`, blob }); // 300 KB in one tick
    await eventually(() => ws.inbox.of('extraction_progress').length === 300 && io.inbox.of('extraction_progress').length === 300, 10_000, 'the whole burst');
    assert.deepEqual((await healthOf(host)).messages.dropped, before);
    await ws.close();
    io.close();
  });

  it('does not grow the server memory without bound: messages are dropped and counted (/ws)', async () => {
    const slow = await connectWs(host.url);
    await slow.request({ type: 'subscribe', channel: 'extractions' });
    const fast = await connectWs(host.url);
    await fast.request({ type: 'subscribe', channel: 'extractions' });
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await flood(1500); // 24 MB: more than the kernel's socket buffers
    const health = await healthOf(host);
    assert.ok(health.messages.dropped.ws > 0, `dropped: ${JSON.stringify(health.messages.dropped)}`);
    // what waits for the slow client stays near the limit (one message over it at most)
    assert.ok(health.buffered_bytes.ws.max <= 64 * 1024 + 17 * 1024, `buffered ${health.buffered_bytes.ws.max}`);
    await eventually(() => fast.inbox.of('extraction_progress').length === 1500, 20_000, 'the fast client to get everything');
    const text = await (await host.request('/metrics')).text();
    assert.match(text, /robian_ws_messages_dropped_total\{protocol="ws",reason="backpressure"\} [1-9]/);
    slow.ws.terminate();
    await fast.close();
  });

  it('drops for a socket.io client that does not read, too', async () => {
    const { ws, frames } = await rawEngineIo(host);
    ws.send('420["subscribe",{"channel":"extractions"}]');
    await eventually(() => frames.some((f) => f.startsWith('430')), 5000, 'the ack');
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = (await healthOf(host)).messages.dropped.socketio;
    await flood(1500);
    const health = await healthOf(host);
    const after = health.messages.dropped.socketio;
    assert.ok(after > before, `dropped ${after - before}`);
    // engine.io's queue is let through while the kernel still takes data (a burst is not a slow
    // client), so the bound is the limit plus one burst (the flood publishes 10 messages per tick)
    assert.ok(health.buffered_bytes.socketio.max <= 64 * 1024 + 11 * 17 * 1024, `buffered ${health.buffered_bytes.socketio.max}`);
    ws.terminate();
  });
});

describe('a client that stays full is disconnected', () => {
  let host: TestHost;
  const bus = busPlugin();
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxBufferedBytes: 16 * 1024, maxConsecutiveDrops: 20 }), bus.plugin] });
  });
  after(() => host.close());

  it('cuts a /ws client and a socket.io client whose buffers stay over the limit', async () => {
    const slow = await connectWs(host.url);
    await slow.request({ type: 'subscribe', channel: 'extractions' });
    const io = await connectIo(host.url);
    await io.subscribe('extractions');
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    (io.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
    const realtime = bus.ctx.services.get('realtime');
    const blob = 'x'.repeat(16 * 1024);
    await eventually(
      async () => {
        for (let i = 0; i < 50; i++) realtime.publish('extractions', 'extraction_progress', { blob });
        await sleep(5);
        const h = await healthOf(host);
        return h.connections.ws === 0 && h.connections.socketio === 0;
      },
      20_000,
      'both slow clients to be cut',
    );
    const health = await healthOf(host);
    assert.ok(health.disconnects['ws:slow'] >= 1);
    assert.ok(health.disconnects['socketio:slow'] >= 1);
    slow.ws.terminate();
    io.close();
  });
});

describe('connection cap', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxConnections: 2 })] });
  });
  after(() => host.close());

  it('refuses connections past maxConnections on both protocols, and counts them', async () => {
    const a = await connectWs(host.url);
    const b = await connectIo(host.url);
    assert.equal(await upgrade(host.url, '/ws'), 503);
    await assert.rejects(connectIo(host.url));
    await a.close();
    await eventually(async () => (await healthOf(host)).connections.ws === 0, 5000, 'the first to close');
    const c = await connectWs(host.url);
    await c.close();
    b.close();
    const health = await healthOf(host);
    assert.equal(health.connections_refused.ws, 1);
    assert.equal(health.connections_refused.socketio, 1);
  });
});

describe('message rate', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxMessagesPerSecond: 5 })] });
  });
  after(() => host.close());

  it('ignores what a client sends over the rate, says so once, and keeps the connection', async () => {
    const ws = await connectWs(host.url);
    for (let i = 0; i < 30; i++) ws.send({ type: 'ping' });
    const limited = await ws.inbox.type('error');
    assert.equal(limited.data.code, 'rate_limited');
    await sleep(300);
    const pongs = ws.inbox.of('pong').length;
    assert.ok(pongs >= 5 && pongs < 30, `${pongs} pongs for 30 pings`);
    assert.equal(ws.inbox.of('error').length, 1, 'one rate_limited reply, not one per message');
    await sleep(1100);
    assert.equal((await ws.request({ type: 'ping' })).type, 'pong', 'served again once the rate allows');
    await ws.close();

    const io = await connectIo(host.url);
    for (let i = 0; i < 30; i++) io.socket.emit('ping');
    assert.equal((await io.inbox.type('error')).data.code, 'rate_limited');
    await sleep(300);
    const ioPongs = io.inbox.of('pong').length;
    assert.ok(ioPongs >= 5 && ioPongs < 30, `${ioPongs} pongs for 30 pings`);
    assert.equal(io.socket.connected, true);
    io.close();
    const health = await healthOf(host);
    assert.ok(health.client_errors.ws >= 1 && health.client_errors.socketio >= 1);
  });
});

describe('user channels', () => {
  it('refuses user:{id} when no plugin provides users', async () => {
    const host = await startTestHost({ plugins: [wsPlugin] });
    try {
      const ws = await connectWs(host.url);
      const r = await ws.request({ type: 'subscribe', channel: 'user:42', token: 'anything' });
      assert.deepEqual([r.type, r.data.code], ['error', 'auth_unavailable']);
      await ws.close();
      const io = await connectIo(host.url);
      assert.equal((await io.subscribe('user:42', 'anything')).data.code, 'auth_unavailable');
      io.close();
    } finally {
      await host.close();
    }
  });

  it("needs the user's own token when a user scheme exists, and delivers private messages", async () => {
    const bus = busPlugin({ users: { 'token-alice': 'alice', 'token-bob': 'bob' } });
    const host = await startTestHost({ plugins: [wsPlugin, bus.plugin] });
    try {
      const ws = await connectWs(host.url);
      assert.equal((await ws.request({ type: 'subscribe', channel: 'user:alice' })).data.code, 'unauthorized');
      assert.equal((await ws.request({ type: 'subscribe', channel: 'user:alice', token: 'wrong' })).data.code, 'unauthorized');
      assert.equal((await ws.request({ type: 'subscribe', channel: 'user:alice', token: 'token-bob' })).data.code, 'forbidden');
      assert.equal((await ws.request({ type: 'subscribe', channel: 'user:alice', token: 'token-alice' })).type, 'subscribed');
      // the token may come with the connection instead (header, or ?token= for browsers)
      const withHeader = await connectWs(host.url, { headers: { authorization: 'Bearer token-bob' } });
      assert.equal((await withHeader.request({ type: 'subscribe', channel: 'user:bob' })).type, 'subscribed');
      const withQuery = await connectWs(host.url, { query: 'token=token-bob' });
      assert.equal((await withQuery.request({ type: 'subscribe', channel: 'user:bob' })).type, 'subscribed');
      const io = await connectIo(host.url, { auth: { token: 'token-alice' } });
      assert.equal((await io.subscribe('user:bob')).data.code, 'forbidden');
      assert.equal((await io.subscribe('user:alice')).type, 'subscribed');

      bus.ctx.services.get('realtime').publish('user:alice', 'notification', { text: 'audio ready' });
      for (const inbox of [ws.inbox, io.inbox]) {
        const m = await inbox.type('notification', 'user:alice');
        assert.equal(m.data.text, 'audio ready');
      }
      assert.equal(withHeader.inbox.of('notification').length, 0);
      assert.throws(() => bus.ctx.services.get('realtime').publish('nope', 'x', {}), /not a channel/);
      assert.throws(() => bus.ctx.services.get('realtime').publish('user:alice', 'disconnect', {}), /not a message type/);
      assert.throws(() => bus.ctx.services.get('realtime').publish('user:alice', 'subscribed', {}), /not a message type/);
      await ws.close();
      await withHeader.close();
      await withQuery.close();
      io.close();
    } finally {
      await host.close();
    }
  });
});

describe('shutdown', () => {
  it('leaves an embedding server as it found it: its own handler first, then restored listeners', async () => {
    const { createServer } = await import('node:http');
    const { createRobian } = await import('@robian/host');
    const { createTestEnvironment } = await import('@robian/test-support');
    const environment = await createTestEnvironment();
    const robian = createRobian({ config: environment.config, plugins: [wsPlugin], defaultMetrics: false });
    await robian.start();
    const mine = (_req: unknown, res: import('node:http').ServerResponse) => res.end('mine');
    const server = createServer(mine);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    robian.attachServer(server);
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      assert.equal(await (await fetch(`${url}/anything`)).text(), 'mine', 'other requests still reach the server\'s handler');
      const ws = await connectWs(url);
      assert.equal((await ws.request({ type: 'ping' })).type, 'pong');
      const closed = once(ws.ws, 'close');
      assert.equal(server.listenerCount('upgrade'), 1);
      await robian.close();
      assert.equal(((await closed) as [number])[0], 1001);
      assert.deepEqual(server.listeners('request'), [mine]);
      assert.equal(server.listenerCount('upgrade'), 0);
    } finally {
      server.close();
      await environment.cleanup();
    }
  });

  it('closes /ws clients with 1001 and disconnects socket.io clients when the host stops', async () => {
    const host = await startTestHost({ plugins: [wsPlugin] });
    const ws = await connectWs(host.url);
    const io = await connectIo(host.url);
    const closed = once(ws.ws, 'close');
    const gone = new Promise<string>((resolve) => io.socket.once('disconnect', (reason) => resolve(reason)));
    await host.close();
    const [code] = (await closed) as [number];
    assert.equal(code, 1001);
    assert.equal(await gone, 'io server disconnect');
  });
});
