import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { AuthRegistry, Logger } from '@robian/core';
import { bearer } from './auth.ts';
import { PUBLIC_CHANNELS } from './channels.ts';
import { envelope, type Envelope } from './messages.ts';
import { ORIGINAL_CHANNELS, ORIGINAL_TYPES, originalEnvelope, type OriginalEnvelope } from './original.ts';
import { decideSubscribe, type Limits } from './policy.ts';
import { MessageRate } from './rate.ts';
import type { WsStats } from './stats.ts';

/**
 * What a `/ws` connection speaks: `original`, the original RobianAPI's protocol (the default), or
 * `robian`, Robian's richer one (`?protocol=robian`: every event type, replies with codes).
 */
export type WsDialect = 'original' | 'robian';
export const WS_DIALECTS: readonly WsDialect[] = ['original', 'robian'];

interface Client {
  id: string;
  socket: WebSocket;
  dialect: WsDialect;
  channels: Set<string>;
  /** Channels being granted (token check in flight): they count toward the cap. */
  pending: Set<string>;
  /** Token given at the upgrade (Authorization header or `?token=`), for user channels. */
  token: string | undefined;
  alive: boolean;
  /** Messages dropped in a row because the send buffer was full. */
  drops: number;
  rate: MessageRate;
}

export interface PlainWsOptions {
  limits: Limits;
  stats: WsStats;
  logger: Logger;
  auth: AuthRegistry;
  /** Whether one more connection (of either protocol) may open on this instance. */
  canAccept(): boolean;
}

const CLOSE_GOING_AWAY = 1001;

/**
 * The plain WebSocket endpoint (`WS /ws`) with the original JSON protocol:
 * `{"type":"subscribe","channel":"debates"}`, `unsubscribe`, `ping`; replies `connected`,
 * `subscribed`, `unsubscribed`, `pong`, `error`; events as `{type, channel, data, timestamp, message_id}`.
 * Each connection speaks the original's shapes (default) or Robian's (`?protocol=robian`).
 */
export class PlainWsEndpoint {
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<Client>();
  readonly #byChannel = new Map<string, Set<Client>>();
  readonly #o: PlainWsOptions;
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  constructor(options: PlainWsOptions) {
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: options.limits.maxMessageBytes });
    this.#heartbeat = setInterval(() => this.#beat(), options.limits.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  get connections(): number {
    return this.#clients.size;
  }

  get subscriptions(): number {
    let n = 0;
    for (const c of this.#clients) n += c.channels.size;
    return n;
  }

  /** Bytes waiting to be written, over all clients and for the fullest one. */
  get buffered(): { total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const c of this.#clients) {
      const b = c.socket.bufferedAmount;
      total += b;
      if (b > max) max = b;
    }
    return { total, max };
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { stats } = this.#o;
    if (this.#closed || !this.#o.canAccept()) {
      stats.refuse('ws', this.#closed ? 'shutdown' : 'max_connections');
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n\r\ntoo many real-time connections');
      return;
    }
    const query = connectionQuery(req.url);
    if (!query.ok) {
      stats.refuse('ws', 'bad_request');
      const body = `${query.field}: ${query.message}`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req, query));
  }

  /**
   * Sends a message to the local clients subscribed to its channel that speak `dialect`. `json`
   * is the serialised envelope; `skip` are clients it already reached (a message for several channels).
   */
  deliver(channel: string, json: string, dialect: WsDialect = 'robian', skip?: Set<unknown>): number {
    const subscribers = this.#byChannel.get(channel);
    if (!subscribers) return 0;
    let n = 0;
    for (const client of subscribers) {
      if (client.dialect !== dialect || skip?.has(client)) continue;
      skip?.add(client);
      if (this.#send(client, json)) n++;
    }
    return n;
  }

  /** Sends one message to the subscribers of any of `channels` speaking `dialect`, once per client. */
  deliverOnce(channels: readonly string[], json: string, dialect: WsDialect): number {
    const reached = new Set<unknown>();
    let n = 0;
    for (const channel of channels) n += this.deliver(channel, json, dialect, reached);
    return n;
  }

  /** Closes every connection (1001, so that clients reconnect to another instance). */
  closeAll(reason = 'server shutting down'): void {
    for (const client of [...this.#clients]) {
      this.#o.stats.disconnect('ws', 'shutdown');
      client.socket.close(CLOSE_GOING_AWAY, reason);
      // a client that does not answer the close handshake is cut after a short while
      setTimeout(() => client.socket.terminate(), 2000).unref();
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.closeAll();
    this.#wss.close();
  }

  #onConnection(socket: WebSocket, req: IncomingMessage, query: ConnectionQuery): void {
    const token = bearer(req.headers.authorization) ?? query.token;
    const client: Client = {
      id: query.clientId ?? randomUUID(),
      socket,
      dialect: query.dialect,
      channels: new Set(),
      pending: new Set(),
      token,
      alive: true,
      drops: 0,
      rate: new MessageRate(this.#o.limits.maxMessagesPerSecond),
    };
    this.#clients.add(client);
    this.#o.stats.accept('ws');
    socket.on('message', (data, isBinary) => {
      client.alive = true;
      if (!client.rate.take()) {
        if (client.rate.shouldWarn()) this.#error(client, 'rate_limited', `at most ${this.#o.limits.maxMessagesPerSecond} messages per second; messages over it are ignored`);
        return;
      }
      const handle = client.dialect === 'original' ? this.#onOriginalMessage(client, data, isBinary) : this.#onMessage(client, data, isBinary);
      void handle.catch((err: unknown) => {
        this.#o.logger.warn({ err }, 'ws: message handling failed');
        this.#error(client, 'internal_error', 'the server could not handle this message');
      });
    });
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('error', (err) => {
      // protocol errors (e.g. a frame over maxPayload): ws closes the connection itself
      this.#o.logger.debug({ err: err.message, client: client.id }, 'ws: connection error');
    });
    socket.on('close', () => this.#forget(client));
    const { limits } = this.#o;
    if (client.dialect === 'original') {
      this.#reply(client, originalEnvelope('connected', { client_id: client.id, server_time: new Date().toISOString(), available_channels: [...ORIGINAL_CHANNELS] }));
      return;
    }
    this.#reply(
      client,
      envelope('connected', {
        client_id: client.id,
        channels: [...PUBLIC_CHANNELS, 'debate:{id}', 'user:{id}'],
        heartbeat_interval_ms: limits.heartbeatIntervalMs,
        max_channels: limits.maxChannelsPerConnection,
        max_message_bytes: limits.maxMessageBytes,
      }),
    );
  }

  async #onMessage(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return this.#error(client, 'malformed', 'send JSON text messages, not binary');
    let message: unknown;
    try {
      message = JSON.parse(rawToString(data));
    } catch {
      return this.#error(client, 'malformed', 'the message is not valid JSON');
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.#error(client, 'malformed', 'a message is a JSON object with a "type"');
    }
    const m = message as Record<string, unknown>;
    const requestId = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id).slice(0, 64) : undefined;
    const extra = requestId === undefined ? {} : { request_id: requestId };
    switch (m.type) {
      case 'ping':
        return this.#reply(client, envelope('pong', { ...extra }));
      case 'subscribe': {
        const joined = await this.#join(client, m);
        if (!joined) return;
        if (!joined.ok) return this.#error(client, joined.code, joined.message, extra, typeof m.channel === 'string' ? m.channel : undefined);
        return this.#reply(client, envelope('subscribed', { channel: joined.name, channels: [...client.channels], ...extra }, joined.name));
      }
      case 'unsubscribe': {
        if (typeof m.channel !== 'string' || m.channel.length === 0) {
          return this.#error(client, 'invalid_channel', 'the "channel" field must name a channel', extra);
        }
        const name = m.channel.slice(0, 80);
        const was = client.channels.delete(name);
        if (was) this.#unindex(client, name);
        return this.#reply(client, envelope('unsubscribed', { channel: name, channels: [...client.channels], was_subscribed: was, ...extra }, name));
      }
      default:
        return this.#error(
          client,
          'unknown_type',
          typeof m.type === 'string' ? `unknown message type "${m.type.slice(0, 40)}": use subscribe, unsubscribe or ping` : 'a message needs a "type": subscribe, unsubscribe or ping',
          extra,
        );
    }
  }

  /** The original protocol: the original's replies and error texts, no request ids, no codes. */
  async #onOriginalMessage(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    let message: unknown;
    try {
      if (isBinary) throw new SyntaxError('binary');
      message = JSON.parse(rawToString(data));
    } catch {
      return this.#error(client, 'malformed', 'Invalid JSON format');
    }
    const m = (typeof message === 'object' && message !== null && !Array.isArray(message) ? message : {}) as Record<string, unknown>;
    switch (m.type) {
      case 'ping':
        return this.#reply(client, originalEnvelope('pong', null));
      case 'subscribe': {
        if (typeof m.channel !== 'string' || m.channel.length === 0) return this.#error(client, 'invalid_channel', 'Channel name required for subscription');
        const joined = await this.#join(client, m);
        if (!joined) return;
        if (!joined.ok) return this.#error(client, joined.code, joined.code === 'invalid_channel' ? `Invalid channel: ${m.channel.slice(0, 80)}` : joined.message);
        return this.#reply(client, originalEnvelope('subscribed', { subscribed_to: joined.name }, joined.name));
      }
      case 'unsubscribe': {
        if (typeof m.channel !== 'string' || m.channel.length === 0) return this.#error(client, 'invalid_channel', 'Channel name required for unsubscription');
        const name = m.channel.slice(0, 80);
        if (client.channels.delete(name)) this.#unindex(client, name);
        return this.#reply(client, originalEnvelope('unsubscribed', { unsubscribed_from: name }, name));
      }
      default:
        // the original ignored the other types of its protocol and refused the rest
        if (typeof m.type === 'string' && (ORIGINAL_TYPES as readonly string[]).includes(m.type)) return;
        return this.#error(client, 'unknown_type', `Invalid message type: ${typeof m.type === 'string' ? `'${m.type.slice(0, 40)}'` : 'a message is a JSON object with a "type"'} is not a valid MessageType`);
    }
  }

  /**
   * Subscribes a client to the channel a `subscribe` message names, after the checks of
   * `decideSubscribe`. Undefined when the connection closed meanwhile. The original's plain
   * `user` channel (listed in its `available_channels`) is accepted for original clients.
   */
  async #join(client: Client, m: Record<string, unknown>): Promise<{ ok: true; name: string } | { ok: false; code: string; message: string } | undefined> {
    if (client.dialect === 'original' && m.channel === 'user') {
      if (!client.channels.has('user') && client.channels.size + client.pending.size >= this.#o.limits.maxChannelsPerConnection) {
        return { ok: false, code: 'too_many_channels', message: `a connection may subscribe to at most ${this.#o.limits.maxChannelsPerConnection} channels` };
      }
      this.#index(client, 'user');
      return { ok: true, name: 'user' };
    }
    const token = typeof m.token === 'string' && m.token.length <= 4096 ? m.token : client.token;
    const decision = await decideSubscribe(m.channel, client.channels, client.pending, this.#o.limits, this.#o.auth, token);
    if (!decision.ok) return client.socket.readyState === WebSocket.OPEN ? decision : undefined;
    try {
      if (client.socket.readyState !== WebSocket.OPEN) return undefined;
      this.#index(client, decision.channel.name);
    } finally {
      decision.release();
    }
    return { ok: true, name: decision.channel.name };
  }

  #index(client: Client, name: string): void {
    client.channels.add(name);
    let set = this.#byChannel.get(name);
    if (!set) this.#byChannel.set(name, (set = new Set()));
    set.add(client);
  }

  #error(client: Client, code: string, message: string, extra: Record<string, unknown> = {}, channel?: string): void {
    this.#o.stats.clientError('ws', code);
    if (client.dialect === 'original') return this.#reply(client, originalEnvelope('error', { error: message }));
    this.#reply(client, envelope('error', { code, message, ...(channel === undefined ? {} : { channel: channel.slice(0, 80) }), ...extra }));
  }

  #reply(client: Client, message: Envelope | OriginalEnvelope): void {
    this.#send(client, JSON.stringify(message));
  }

  /** Writes to one client unless its send buffer is over the limit (then drops, and cuts a client that stays full). */
  #send(client: Client, json: string): boolean {
    const { socket } = client;
    if (socket.readyState !== WebSocket.OPEN) return false;
    const { limits, stats } = this.#o;
    if (socket.bufferedAmount > limits.maxBufferedBytes) {
      stats.drop('ws');
      if (++client.drops > limits.maxConsecutiveDrops) {
        stats.disconnect('ws', 'slow');
        this.#o.logger.info({ client: client.id, buffered: socket.bufferedAmount }, 'ws: closing a client that does not read its messages');
        socket.terminate();
      }
      return false;
    }
    client.drops = 0;
    socket.send(json);
    stats.send('ws');
    return true;
  }

  #beat(): void {
    for (const client of this.#clients) {
      if (!client.alive) {
        this.#o.stats.disconnect('ws', 'heartbeat');
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.socket.ping();
      } catch {
        /* closing */
      }
    }
  }

  #forget(client: Client): void {
    if (!this.#clients.delete(client)) return;
    for (const name of client.channels) this.#unindex(client, name);
    client.channels.clear();
  }

  #unindex(client: Client, name: string): void {
    const set = this.#byChannel.get(name);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.#byChannel.delete(name);
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

interface ConnectionQuery {
  ok: true;
  dialect: WsDialect;
  clientId: string | undefined;
  token: string | undefined;
}

/** A client id given with `?client_id=`: printable ASCII without spaces, at most 128 characters. */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** `?protocol=`, `?client_id=` and `?token=` of an upgrade request; a bad value is a 400 naming it. */
export function connectionQuery(url: string | undefined): ConnectionQuery | { ok: false; field: string; message: string } {
  const params = url?.includes('?') ? new URL(url, 'http://x').searchParams : new URLSearchParams();
  const protocol = params.get('protocol') ?? 'original';
  if (!(WS_DIALECTS as readonly string[]).includes(protocol)) return { ok: false, field: 'protocol', message: `expected ${WS_DIALECTS.join(' or ')}, got "${protocol.slice(0, 40)}"` };
  const clientId = params.get('client_id') ?? undefined;
  if (clientId !== undefined && !CLIENT_ID.test(clientId)) return { ok: false, field: 'client_id', message: 'expected 1 to 128 printable characters without spaces' };
  const token = params.get('token');
  return { ok: true, dialect: protocol as WsDialect, clientId, token: token && token.length <= 4096 ? token : undefined };
}
