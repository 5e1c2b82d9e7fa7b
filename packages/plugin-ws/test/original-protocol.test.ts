/**
 * The contract of `/ws` with a client of the original RobianAPI (RobianAPP), field by field from
 * the original's protocol (api/services/websocket_service.py; ../shared/notes/ORIGINAL-API.md
 * § WebSocket): envelope keys always present, the closed set of types, each payload's keys and
 * JSON types. Over a real host, a real WebSocket client, on SQLite and on PostgreSQL + Redis.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { usePlugin } from '@robian/core';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { wsPlugin } from '@robian/plugin-ws';
import { busPlugin, connectIo, connectWs, sleep, type Message, type WsTestClient } from './helpers.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The original's MessageType: a client's enum of it fails on anything else. */
const ORIGINAL_TYPES = new Set([
  'connect',
  'subscribe',
  'unsubscribe',
  'ping',
  'connected',
  'subscribed',
  'unsubscribed',
  'pong',
  'error',
  'debate_started',
  'debate_ended',
  'extraction_started',
  'extraction_completed',
  'extraction_failed',
  'system_status',
]);

type Json = Record<string, unknown>;

/** The envelope: exactly its five keys, every one present; channel and data null or of their type. */
function envelope(m: Message, type: string, channel: string | null): Json | null {
  assert.deepEqual(Object.keys(m).sort(), ['channel', 'data', 'message_id', 'timestamp', 'type'], `keys of ${JSON.stringify(m)}`);
  assert.equal(m.type, type);
  assert.equal(m.channel, channel);
  assert.equal(typeof m.timestamp, 'string');
  assert.match(m.timestamp, ISO);
  assert.match(m.message_id, UUID);
  assert.ok(m.data === null || (typeof m.data === 'object' && !Array.isArray(m.data)), 'data is an object or null');
  return m.data as Json | null;
}

/** A payload with exactly these keys, each of the JSON type given. */
function shape(data: Json | null, fields: Record<string, 'string' | 'number' | 'integer' | 'object' | 'array'>): Json {
  assert.ok(data, 'data is present');
  assert.deepEqual(Object.keys(data).sort(), Object.keys(fields).sort(), `keys of ${JSON.stringify(data)}`);
  for (const [key, kind] of Object.entries(fields)) {
    const v: unknown = data[key];
    if (kind === 'integer') assert.ok(Number.isInteger(v), `${key} is an integer: ${JSON.stringify(v)}`);
    else if (kind === 'array') assert.ok(Array.isArray(v), `${key} is an array`);
    else if (kind === 'object') assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${key} is an object: ${JSON.stringify(v)}`);
    else assert.equal(typeof v, kind, `${key} is a ${kind}: ${JSON.stringify(v)}`);
  }
  return data;
}

const original = (url: string, query?: string) => connectWs(url, { protocol: 'original', ...(query ? { query } : {}) });
const send = (c: WsTestClient, value: unknown) => c.send(value);

for (const mode of STORAGE_MODES) {
  describe(`/ws speaks the original RobianAPI protocol by default (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    const bus = busPlugin();
    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: [usePlugin(wsPlugin, { progressIntervalMs: 0 }), bus.plugin] });
    });
    after(() => host.close());

    const createDebate = async (title: string) => {
      const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title, date: '2025-06-05', type: 'seance_publique', status: 'programme' } });
      assert.equal(res.status, 201);
      return (await res.json()) as Json & { id: number | string };
    };
    const viewOf = async (id: number | string) => {
      const res = await host.request(`/api/debats/${id}`);
      assert.equal(res.status, 200);
      return (await res.json()) as Json;
    };

    it('greets with connected {client_id, server_time, available_channels}, honouring ?client_id=', async () => {
      const named = await original(host.url, 'client_id=app-1234');
      const anonymous = await original(host.url);
      try {
        const hello = shape(envelope(named.inbox.of('connected')[0]!, 'connected', null), { client_id: 'string', server_time: 'string', available_channels: 'array' });
        assert.equal(hello.client_id, 'app-1234');
        assert.match(hello.server_time as string, ISO);
        assert.deepEqual(hello.available_channels, ['debates', 'extractions', 'system', 'user']);
        const other = shape(envelope(anonymous.inbox.of('connected')[0]!, 'connected', null), { client_id: 'string', server_time: 'string', available_channels: 'array' });
        assert.match(other.client_id as string, UUID);
      } finally {
        await named.close();
        await anonymous.close();
      }
    });

    it('answers ping with pong (data null), subscribe/unsubscribe with {subscribed_to}/{unsubscribed_from}', async () => {
      const c = await original(host.url);
      try {
        send(c, { type: 'ping' });
        assert.equal(envelope(await c.inbox.type('pong'), 'pong', null), null);
        send(c, { type: 'subscribe', channel: 'debates' });
        assert.deepEqual(shape(envelope(await c.inbox.type('subscribed'), 'subscribed', 'debates'), { subscribed_to: 'string' }), { subscribed_to: 'debates' });
        send(c, { type: 'subscribe', channel: 'user' });
        assert.deepEqual(envelope(await c.inbox.type('subscribed'), 'subscribed', 'user'), { subscribed_to: 'user' });
        send(c, { type: 'unsubscribe', channel: 'debates' });
        assert.deepEqual(shape(envelope(await c.inbox.type('unsubscribed'), 'unsubscribed', 'debates'), { unsubscribed_from: 'string' }), { unsubscribed_from: 'debates' });
      } finally {
        await c.close();
      }
    });

    it('refuses bad messages with error {error: "<text>"} in the original wording, and ignores its own other types', async () => {
      const c = await original(host.url);
      try {
        const error = async () => shape(envelope(await c.inbox.type('error'), 'error', null), { error: 'string' }).error as string;
        send(c, 'not json{');
        assert.equal(await error(), 'Invalid JSON format');
        send(c, { type: 'subscribe' });
        assert.equal(await error(), 'Channel name required for subscription');
        send(c, { type: 'unsubscribe' });
        assert.equal(await error(), 'Channel name required for unsubscription');
        send(c, { type: 'subscribe', channel: 'nope' });
        assert.equal(await error(), 'Invalid channel: nope');
        send(c, { type: 'dance' });
        assert.match(await error(), /^Invalid message type: 'dance'/);
        // a type of the protocol that the server does not handle is ignored, as the original did
        send(c, { type: 'connect' });
        send(c, { type: 'ping' });
        await c.inbox.type('pong');
        assert.equal(c.inbox.of('error').length, 5);
      } finally {
        await c.close();
      }
    });

    it('reaches old clients with debates created and updated as system_status + action, and sittings starting and ending as debate_started/ended', async () => {
      const follower = await original(host.url);
      const rich = await connectWs(host.url); // ?protocol=robian
      const io = await connectIo(host.url);
      try {
        send(follower, { type: 'subscribe', channel: 'debates' });
        await follower.inbox.type('subscribed');
        await rich.request({ type: 'subscribe', channel: 'debates' });
        await io.subscribe('debates');

        const created = await createDebate('Séance du contrat');
        const id = String(created.id);
        const onCreated = shape(envelope(await follower.inbox.type('system_status'), 'system_status', 'debates'), { status: 'string', details: 'object', timestamp: 'string', action: 'string' });
        assert.equal(onCreated.action, 'created');
        assert.equal(onCreated.status, 'debate_created');
        assert.match(onCreated.timestamp as string, ISO);
        const details = shape(onCreated.details as Json, { debate_id: 'string', debate: 'object' });
        assert.equal(details.debate_id, id);
        const debate = details.debate as Json;
        const view = await viewOf(id);
        assert.deepEqual(Object.keys(debate).sort(), Object.keys(view).sort(), "the debate is core's wire view, as GET /api/debats/{id} returns it");
        assert.equal(String(debate.id), id);
        assert.equal(debate.title, 'Séance du contrat');

        // a client of debate:{id} as well: the original sent the message with the debate's own channel, `debates`
        const one = await original(host.url);
        send(one, { type: 'subscribe', channel: `debate:${id}` });
        await one.inbox.type('subscribed');
        send(follower, { type: 'subscribe', channel: `debate:${id}` });
        await follower.inbox.type('subscribed');

        const put = (status: string) => host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { status } });
        assert.equal((await put('en_cours')).status, 200);
        for (const c of [follower, one]) {
          const updated = shape(envelope(await c.inbox.type('system_status'), 'system_status', 'debates'), { status: 'string', details: 'object', timestamp: 'string', action: 'string' });
          assert.equal(updated.action, 'updated');
          assert.equal(((updated.details as Json).debate as Json).status, 'en_cours');
          const started = shape(envelope(await c.inbox.type('debate_started'), 'debate_started', 'debates'), { debate_id: 'string', debate: 'object', action: 'string' });
          assert.equal(started.debate_id, id);
          assert.equal(started.action, 'started');
          assert.equal((started.debate as Json).status, 'en_cours');
        }
        assert.equal((await put('termine')).status, 200);
        for (const c of [follower, one]) {
          const ended = shape(envelope(await c.inbox.type('debate_ended'), 'debate_ended', 'debates'), { debate_id: 'string', debate: 'object', action: 'string' });
          assert.deepEqual([ended.debate_id, ended.action, (ended.debate as Json).status], [id, 'ended', 'termine']);
        }
        // subscribed to debates and debate:{id}: one message, not one per channel
        await sleep(200);
        assert.equal(follower.inbox.of('debate_started').length, 1);
        assert.equal(follower.inbox.of('debate_ended').length, 1);

        // Robian's richer events reach the clients that opted in, and socket.io
        for (const inbox of [rich.inbox, io.inbox]) {
          assert.equal(String((await inbox.type('debate_created', 'debates')).data.id), id);
          await inbox.type('debate_updated', 'debates');
          assert.equal((await inbox.type('debate_started', 'debates')).data.previous_status, 'programme');
        }
        // and never the old clients
        for (const c of [follower, one]) for (const m of c.inbox.messages) assert.ok(ORIGINAL_TYPES.has(m.type), `an original client received "${m.type}"`);
        assert.equal(follower.inbox.of('debate_created').length + follower.inbox.of('debate_updated').length, 0);
        await one.close();
      } finally {
        await follower.close();
        await rich.close();
        io.close();
      }
    });

    it('sends extraction_started/completed/failed in the original shapes (ids as strings), no progress, a cancellation as a failure', async () => {
      const debate = await createDebate('Séance extraite');
      const id = Number(debate.id);
      const c = await original(host.url);
      const rich = await connectWs(host.url);
      try {
        send(c, { type: 'subscribe', channel: 'extractions' });
        await c.inbox.type('subscribed');
        await rich.request({ type: 'subscribe', channel: 'extractions' });
        const job = { debate_id: id, format: 'mp3', quality: 'medium' };
        await bus.emit('extraction.started', { ...job, extraction_id: 7, status: 'running', progress: 0 });
        await bus.emit('extraction.progress', { ...job, extraction_id: 7, status: 'running', progress: 40 });
        await bus.emit('extraction.completed', { ...job, extraction_id: 7, status: 'completed', progress: 100, file_size: 123456, duration_seconds: 3.5 });
        await bus.emit('extraction.failed', { ...job, extraction_id: 8, status: 'failed', error: 'ffmpeg exited with code 1' });
        await bus.emit('extraction.cancelled', { ...job, extraction_id: 9, status: 'cancelled', progress: 10 });

        const started = shape(envelope(await c.inbox.type('extraction_started'), 'extraction_started', 'extractions'), { debate_id: 'string', extraction_id: 'string', status: 'string', estimated_duration: 'string' });
        assert.deepEqual([started.debate_id, started.extraction_id, started.status], [String(id), '7', 'started']);
        const completed = shape(envelope(await c.inbox.type('extraction_completed'), 'extraction_completed', 'extractions'), {
          debate_id: 'string',
          extraction_id: 'string',
          status: 'string',
          audio_url: 'string',
          file_size: 'integer',
          format: 'string',
        });
        assert.deepEqual([completed.extraction_id, completed.status, completed.file_size, completed.format], ['7', 'completed', 123456, 'mp3']);
        assert.match(completed.audio_url as string, new RegExp(`^/api/debats/${id}/audio\\?`));
        const failed = shape(envelope(await c.inbox.type('extraction_failed'), 'extraction_failed', 'extractions'), { debate_id: 'string', extraction_id: 'string', status: 'string', error: 'string' });
        assert.deepEqual([failed.extraction_id, failed.status, failed.error], ['8', 'failed', 'ffmpeg exited with code 1']);
        const cancelled = shape(envelope(await c.inbox.type('extraction_failed'), 'extraction_failed', 'extractions'), { debate_id: 'string', extraction_id: 'string', status: 'string', error: 'string' });
        assert.deepEqual([cancelled.extraction_id, cancelled.error], ['9', 'cancelled']);

        await rich.inbox.type('extraction_cancelled', 'extractions');
        assert.equal(rich.inbox.of('extraction_progress').length, 1, 'the opted-in client gets the progress');
        assert.equal(c.inbox.messages.filter((m) => m.type.startsWith('extraction_')).length, 4, 'no progress, no cancelled type for the old client');
      } finally {
        await c.close();
        await rich.close();
      }
    });

    it('sends system_status {status, details, timestamp} on system', async () => {
      const c = await original(host.url);
      try {
        send(c, { type: 'subscribe', channel: 'system' });
        await c.inbox.type('subscribed');
        await bus.emit('system.status', { status: 'degraded', detail: 'redis unreachable' });
        const status = shape(envelope(await c.inbox.type('system_status'), 'system_status', 'system'), { status: 'string', details: 'object', timestamp: 'string' });
        assert.equal(status.status, 'degraded');
        assert.equal((status.details as Json).detail, 'redis unreachable');
        assert.match(status.timestamp as string, ISO);
      } finally {
        await c.close();
      }
    });

    it('refuses an unknown ?protocol= and a malformed ?client_id= with a 400 naming the parameter', async () => {
      for (const [query, field] of [
        ['protocol=v3', 'protocol'],
        ['client_id=has%20space', 'client_id'],
      ] as const) {
        const ws = new WebSocket(`${host.url.replace(/^http/, 'ws')}/ws?${query}`);
        ws.on('error', () => {});
        const [, res] = (await once(ws, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
        assert.equal(res.statusCode, 400);
        let body = '';
        for await (const chunk of res) body += String(chunk);
        assert.match(body, new RegExp(`^${field}: `));
        ws.terminate();
      }
    });
  });
}
