import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usePlugin } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { wsPlugin } from '@robian/plugin-ws';
import { busPlugin, connectIo, connectWs, type Message } from './helpers.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertEnvelope(m: Message, type: string, channel: string): void {
  assert.equal(m.type, type);
  assert.equal(m.channel, channel);
  assert.match(m.timestamp, ISO);
  assert.match(m.message_id, UUID);
  assert.ok(m.data && typeof m.data === 'object');
  assert.deepEqual(Object.keys(m).sort(), ['channel', 'data', 'message_id', 'timestamp', 'type']);
}

const debateBody = (n: number) => ({ title: `Séance ${n}`, date: '2025-06-05', type: 'seance_publique', status: 'programme' });

describe('plugin-ws on one host (SQLite, no Redis)', () => {
  let host: TestHost;
  const bus = busPlugin();
  before(async () => {
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { progressIntervalMs: 300 }), bus.plugin] });
  });
  after(() => host.close());

  it('delivers a debate created through the admin API to socket.io and /ws subscribers', async () => {
    const io = await connectIo(host.url);
    const ws = await connectWs(host.url);
    try {
      const ack = await io.subscribe('debates');
      assert.equal(ack.type, 'subscribed');
      assert.equal(ack.channel, 'debates');
      assert.deepEqual(ack.data.channels, ['debates']);
      const reply = await ws.request({ type: 'subscribe', channel: 'debates' });
      assert.equal(reply.type, 'subscribed');
      assert.deepEqual(reply.data.channels, ['debates']);

      const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: debateBody(1) });
      assert.equal(res.status, 201);
      const created = (await res.json()) as { id: number; title: string };

      const viaIo = await io.inbox.type('debate_created', 'debates');
      const viaWs = await ws.inbox.type('debate_created', 'debates');
      for (const m of [viaIo, viaWs]) {
        assertEnvelope(m, 'debate_created', 'debates');
        assert.equal(m.data.id, created.id);
        assert.equal(m.data.title, 'Séance 1');
        assert.equal(m.data.status, 'programme');
      }
      assert.equal(viaIo.message_id, viaWs.message_id, 'one message, two protocols');
    } finally {
      io.close();
      await ws.close();
    }
  });
});
