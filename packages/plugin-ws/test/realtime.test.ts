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

  it('follows one debate on debate:{id}: updates, start and end of the sitting, deletion', async () => {
    const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: debateBody(2) });
    const { id } = (await res.json()) as { id: number };
    const channel = `debate:${id}`;
    const io = await connectIo(host.url);
    const ws = await connectWs(host.url);
    try {
      assert.equal((await io.subscribe(channel)).type, 'subscribed');
      assert.equal((await ws.request({ type: 'subscribe', channel })).type, 'subscribed');
      const put = (status: string) => host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { status } });
      assert.equal((await put('en_cours')).status, 200);
      for (const inbox of [io.inbox, ws.inbox]) {
        const updated = await inbox.type('debate_updated', channel);
        assertEnvelope(updated, 'debate_updated', channel);
        assert.equal(updated.data.status, 'en_cours');
        const started = await inbox.type('debate_started', channel);
        assertEnvelope(started, 'debate_started', channel);
        assert.deepEqual([started.data.debate_id, started.data.status, started.data.previous_status], [id, 'en_cours', 'programme']);
      }
      assert.equal((await put('termine')).status, 200);
      for (const inbox of [io.inbox, ws.inbox]) {
        const ended = await inbox.type('debate_ended', channel);
        assert.deepEqual([ended.data.debate_id, ended.data.status, ended.data.previous_status], [id, 'termine', 'en_cours']);
      }
      // a status change that is neither a start nor an end is only an update
      assert.equal((await put('disponible')).status, 200);
      assert.equal((await host.request(`/api/debats/${id}`, { method: 'DELETE', admin: true })).status, 204);
      for (const inbox of [io.inbox, ws.inbox]) {
        const deleted = await inbox.type('debate_deleted', channel);
        assert.equal(deleted.data.id, id);
        assert.equal(inbox.of('debate_started').length, 1);
        assert.equal(inbox.of('debate_ended').length, 1);
        assert.equal(inbox.of('debate_updated').length, 3);
      }
    } finally {
      io.close();
      await ws.close();
    }
  });

  it('delivers extraction progress (throttled, the last value kept) and completion, in order', async () => {
    const io = await connectIo(host.url);
    const ws = await connectWs(host.url);
    const perDebate = await connectWs(host.url);
    try {
      await io.subscribe('extractions');
      await ws.request({ type: 'subscribe', channel: 'extractions' });
      await perDebate.request({ type: 'subscribe', channel: 'debate:77' });
      const job = { extraction_id: 'job-1', debate_id: 77, format: 'mp3', quality: 'medium' };
      await bus.emit('extraction.started', { ...job, status: 'running', progress: 0 });
      const values: number[] = [];
      const t0 = performance.now();
      for (let p = 1; p <= 60; p++) {
        values.push(p * (100 / 60));
        await bus.emit('extraction.progress', { ...job, status: 'running', progress: p * (100 / 60) });
      }
      await bus.emit('extraction.completed', { ...job, status: 'completed', progress: 100, file_size: 1234, duration_seconds: 34 });
      // the first progress goes at once, then at most one per interval (300 ms here), then the pending one before the completion
      const bound = 2 + Math.ceil((performance.now() - t0) / 300);
      for (const inbox of [io.inbox, ws.inbox, perDebate.inbox]) {
        const completed = await inbox.type('extraction_completed');
        assert.equal(completed.data.file_size, 1234);
        const sequence = inbox.messages.filter((m) => m.type.startsWith('extraction_'));
        assert.equal(sequence[0]!.type, 'extraction_started');
        assert.equal(sequence.at(-1)!.type, 'extraction_completed');
        const progress = sequence.filter((m) => m.type === 'extraction_progress').map((m) => m.data.progress as number);
        assert.ok(progress.length >= 1 && progress.length <= bound, `throttled: ${progress.length} progress messages for 60 events (bound ${bound})`);
        assert.equal(progress.at(-1), values.at(-1), 'the last progress is never dropped');
        assert.deepEqual([...progress].sort((a, b) => a - b), progress, 'in order');
      }
      assert.equal(perDebate.inbox.messages.find((m) => m.type === 'extraction_completed')!.channel, 'debate:77');
      // the throttle's trailing send: a lone late progress still arrives after the interval
      const job2 = { ...job, extraction_id: 'job-2' };
      await bus.emit('extraction.progress', { ...job2, status: 'running', progress: 10 });
      await bus.emit('extraction.progress', { ...job2, status: 'running', progress: 20 });
      await bus.emit('extraction.progress', { ...job2, status: 'running', progress: 30 });
      await ws.inbox.next((m) => m.type === 'extraction_progress' && m.data.extraction_id === 'job-2' && m.data.progress === 30, 5000, 'the trailing progress');
      const job2Values = ws.inbox.messages.filter((m) => m.data.extraction_id === 'job-2').map((m) => m.data.progress);
      assert.deepEqual(job2Values, [10, 30]);
      await bus.emit('extraction.failed', { ...job2, status: 'failed', error: 'ffmpeg exited with 1' });
      assert.equal((await ws.inbox.type('extraction_failed')).data.error, 'ffmpeg exited with 1');
      await bus.emit('extraction.cancelled', { ...job, extraction_id: 'job-3', status: 'cancelled' });
      await ws.inbox.type('extraction_cancelled');
    } finally {
      io.close();
      await ws.close();
      await perDebate.close();
    }
  });

  it('stops delivering a channel after unsubscribe', async () => {
    const io = await connectIo(host.url);
    const ws = await connectWs(host.url);
    try {
      for (const ch of ['system', 'extractions']) {
        await io.subscribe(ch);
        await ws.request({ type: 'subscribe', channel: ch });
      }
      const ioAck = await io.unsubscribe('extractions');
      assert.equal(ioAck.type, 'unsubscribed');
      assert.deepEqual(ioAck.data.channels, ['system']);
      const wsAck = await ws.request({ type: 'unsubscribe', channel: 'extractions' });
      assert.equal(wsAck.type, 'unsubscribed');
      assert.deepEqual([wsAck.data.channels, wsAck.data.was_subscribed], [['system'], true]);
      assert.equal((await ws.request({ type: 'unsubscribe', channel: 'extractions' })).data.was_subscribed, false);
      await bus.emit('extraction.started', { extraction_id: 'job-u', debate_id: 1, format: 'mp3', quality: 'low', status: 'running' });
      await bus.emit('system.status', { status: 'degraded', detail: 'marker' });
      for (const inbox of [io.inbox, ws.inbox]) {
        const status = await inbox.type('system_status', 'system');
        assert.equal(status.data.detail, 'marker');
        assert.equal(inbox.of('extraction_started').length, 0);
      }
    } finally {
      io.close();
      await ws.close();
    }
  });
});
