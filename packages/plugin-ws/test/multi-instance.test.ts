import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_KEY, createTestEnvironment, serverModeSkip, type TestEnvironment } from '@robian/test-support';
import { connectIo, connectWs, sleep, type Inbox, type IoTestClient, type WsTestClient } from './helpers.ts';

const HOST_SCRIPT = fileURLToPath(new URL('./fixtures/host.ts', import.meta.url));

interface Child {
  url: string;
  process: ChildProcess;
  post(path: string, body: unknown): Promise<Response>;
}

/** Starts one host process and waits for the line with its URL. */
async function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--conditions=robian-source', HOST_SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the host process did not start within 60 s')), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the host process exited with ${code} before listening`));
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  return {
    url,
    process: child,
    post: (path, body) =>
      fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null) return;
  const exited = once(child.process, 'exit');
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

describe('two host processes sharing PostgreSQL and Redis', { skip: serverModeSkip() }, () => {
  let environment: TestEnvironment;
  let a: Child | undefined;
  let b: Child | undefined;
  const clients: { name: string; inbox: Inbox; close(): unknown }[] = [];
  let wsOnB: WsTestClient;
  let ioOnB: IoTestClient;
  let wsOnA: WsTestClient;
  let ioOnA: IoTestClient;
  /** Clients of the original protocol (the default of /ws), one per instance. */
  let oldOnA: WsTestClient;
  let oldOnB: WsTestClient;

  before(async () => {
    environment = await createTestEnvironment('postgresql+redis', { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' });
    // one after the other, so that the second finds the schema migrated
    a = await startChild(environment.env);
    b = await startChild(environment.env);
    wsOnA = await connectWs(a.url);
    ioOnA = await connectIo(a.url);
    wsOnB = await connectWs(b.url);
    ioOnB = await connectIo(b.url);
    clients.push(
      { name: 'ws on A', inbox: wsOnA.inbox, close: () => wsOnA.close() },
      { name: 'socket.io on A', inbox: ioOnA.inbox, close: () => ioOnA.close() },
      { name: 'ws on B', inbox: wsOnB.inbox, close: () => wsOnB.close() },
      { name: 'socket.io on B', inbox: ioOnB.inbox, close: () => ioOnB.close() },
    );
    oldOnA = await connectWs(a.url, { protocol: 'original' });
    oldOnB = await connectWs(b.url, { protocol: 'original' });
    for (const ch of ['debates', 'extractions', 'system']) {
      for (const old of [oldOnA, oldOnB]) {
        old.send({ type: 'subscribe', channel: ch });
        assert.equal((await old.inbox.type('subscribed', ch)).data.subscribed_to, ch);
      }
      for (const ws of [wsOnA, wsOnB]) assert.equal((await ws.request({ type: 'subscribe', channel: ch })).type, 'subscribed');
      for (const io of [ioOnA, ioOnB]) assert.equal((await io.subscribe(ch)).type, 'subscribed');
    }
    // the Redis subscriptions of both instances are in place once a message crosses each way
    for (let i = 0; ; i++) {
      await a.post('/__test/events', { name: 'system.status', payload: { status: 'ready', detail: `warm-up-a-${i}` } });
      await b.post('/__test/events', { name: 'system.status', payload: { status: 'ready', detail: `warm-up-b-${i}` } });
      await sleep(100);
      const seen = (inbox: Inbox, from: string) => inbox.of('system_status').some((m) => String(m.data.detail).startsWith(`warm-up-${from}`));
      if (clients.every((c) => seen(c.inbox, 'a') && seen(c.inbox, 'b'))) break;
      if (i > 100) throw new Error('the instances never reached each other through Redis');
    }
  });

  after(async () => {
    for (const c of clients) await c.close();
    await oldOnA?.close();
    await oldOnB?.close();
    await Promise.all([stopChild(a), stopChild(b)]);
    await environment?.cleanup();
  });

  it('delivers a debate created on one instance to the clients of both, once, over both protocols', async () => {
    const res = await a!.post('/api/debats/', { title: 'Séance multi-instance', date: '2025-06-05', type: 'seance_publique' });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: number };
    // a second event, raised on the other instance, marks the end: a duplicate of the first would come before it
    const marker = await b!.post('/api/debats/', { title: 'Marqueur', date: '2025-06-06' });
    assert.equal(marker.status, 201);
    for (const c of clients) {
      await c.inbox.next((m) => m.type === 'debate_created' && m.data.title === 'Marqueur', 10_000, `the marker on ${c.name}`);
      const created = c.inbox.of('debate_created', 'debates');
      const first = created.filter((m) => m.data.id === id);
      assert.equal(first.length, 1, `${c.name} got the debate ${first.length} times`);
      assert.equal(first[0]!.data.title, 'Séance multi-instance');
      assert.equal(created.length, 2, `${c.name}: ${created.length} debate_created`);
    }
    const ids = new Set(clients.map((c) => c.inbox.of('debate_created').find((m) => m.data.id === id)!.message_id));
    assert.equal(ids.size, 1, 'the same message everywhere');
  });

  it('delivers extraction progress and completion raised on one instance to the clients of the other', async () => {
    const job = { extraction_id: 'multi-1', debate_id: 5, format: 'mp3', quality: 'medium' };
    await b!.post('/__test/events', { name: 'extraction.started', payload: { ...job, status: 'running', progress: 0 } });
    for (const p of [10, 20, 30, 40, 50]) await b!.post('/__test/events', { name: 'extraction.progress', payload: { ...job, status: 'running', progress: p } });
    await b!.post('/__test/events', { name: 'extraction.completed', payload: { ...job, status: 'completed', progress: 100 } });
    for (const c of [clients[0]!, clients[1]!]) {
      const done = await c.inbox.next((m) => m.type === 'extraction_completed' && m.data.extraction_id === 'multi-1', 10_000, `completion on ${c.name}`);
      assert.equal(done.channel, 'extractions');
      const mine = c.inbox.messages.filter((m) => m.data.extraction_id === 'multi-1');
      assert.equal(mine[0]!.type, 'extraction_started');
      assert.equal(mine.at(-1)!.type, 'extraction_completed');
      assert.equal(mine.filter((m) => m.type === 'extraction_started').length, 1);
      const progress = mine.filter((m) => m.type === 'extraction_progress').map((m) => m.data.progress);
      assert.equal(progress.at(-1), 50);
    }
  });

  it('relays the original protocol to the original clients of the other instance, once each', async () => {
    const res = await a!.post('/api/debats/', { title: 'Séance des anciens clients', date: '2025-06-07', type: 'seance_publique' });
    assert.equal(res.status, 201);
    const id = String(((await res.json()) as { id: number | string }).id);
    const job = { extraction_id: 'multi-old', debate_id: Number(id), format: 'mp3', quality: 'medium' };
    await b!.post('/__test/events', { name: 'extraction.started', payload: { ...job, status: 'running', progress: 0 } });
    for (const [name, old] of [['A', oldOnA], ['B', oldOnB]] as const) {
      const created = await old.inbox.next((m) => m.type === 'system_status' && (m.data?.details as { debate_id?: string } | undefined)?.debate_id === id, 10_000, `the debate on old client ${name}`);
      assert.equal(created.data.action, 'created');
      assert.equal(created.channel, 'debates');
      // (the two events come from different instances: their order is not the clients' to rely on)
      const isStart = (m: { type: string; data: Record<string, unknown> | null }) => m.type === 'extraction_started' && m.data?.extraction_id === 'multi-old';
      const started = old.inbox.messages.find(isStart) ?? (await old.inbox.next(isStart, 10_000, `the extraction on old client ${name}`));
      assert.equal(started.data.debate_id, id);
      await sleep(200);
      assert.equal(old.inbox.messages.filter((m) => m.type === 'extraction_started' && m.data?.extraction_id === 'multi-old').length, 1);
      assert.equal(old.inbox.of('debate_created').length + old.inbox.of('extraction_progress').length, 0, `old client ${name} gets no Robian type`);
    }
  });

  it('reports Redis up and the relayed messages in /health/detailed', async () => {
    for (const child of [a!, b!]) {
      const res = await fetch(`${child.url}/health/detailed`);
      const ws = ((await res.json()) as { plugins: Record<string, Record<string, any>> }).plugins.ws!;
      assert.equal(ws.redis, 'up');
      assert.equal(ws.status, 'ok');
      assert.ok(ws.messages.bridge.in > 0 && ws.messages.bridge.out > 0, JSON.stringify(ws.messages.bridge));
    }
  });
});
