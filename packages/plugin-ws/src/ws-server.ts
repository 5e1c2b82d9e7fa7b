import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { AuthRegistry, Logger } from '@robian/core';
import { bearer } from './auth.ts';
import { PUBLIC_CHANNELS } from './channels.ts';
import { envelope, type Envelope } from './messages.ts';
import { decideSubscribe, type Limits } from './policy.ts';
import { MessageRate } from './rate.ts';
import type { WsStats } from './stats.ts';

interface Client {
  id: string;
  socket: WebSocket;
  channels: Set<string>;
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
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req));
  }

  /** Sends a message to the local clients subscribed to its channel. `json` is the serialised envelope. */
  deliver(channel: string, json: string): number {
    const subscribers = this.#byChannel.get(channel);
    if (!subscribers) return 0;
    let n = 0;
    for (const client of subscribers) if (this.#send(client, json)) n++;
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

  #onConnection(socket: WebSocket, req: IncomingMessage): void {
    const token = bearer(req.headers.authorization) ?? tokenFromQuery(req.url);
    const client: Client = { id: randomUUID(), socket, channels: new Set(), token, alive: true, drops: 0, rate: new MessageRate(this.#o.limits.maxMessagesPerSecond) };
    this.#clients.add(client);
    this.#o.stats.accept('ws');
    socket.on('message', (data, isBinary) => {
      client.alive = true;
      if (!client.rate.take()) {
        if (client.rate.shouldWarn()) this.#error(client, 'rate_limited', `at most ${this.#o.limits.maxMessagesPerSecond} messages per second; messages over it are ignored`);
        return;
      }
      void this.#onMessage(client, data, isBinary).catch((err: unknown) => {
        this.#o.logger.warn({ err }, 'ws: message handling failed');
        this.#reply(client, envelope('error', { code: 'internal_error', message: 'the server could not handle this message' }));
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
        const token = typeof m.token === 'string' && m.token.length <= 4096 ? m.token : client.token;
        const decision = await decideSubscribe(m.channel, client.channels, this.#o.limits, this.#o.auth, token);
        if (client.socket.readyState !== WebSocket.OPEN) return;
        if (!decision.ok) return this.#error(client, decision.code, decision.message, extra, typeof m.channel === 'string' ? m.channel : undefined);
        const name = decision.channel.name;
        client.channels.add(name);
        let set = this.#byChannel.get(name);
        if (!set) this.#byChannel.set(name, (set = new Set()));
        set.add(client);
        return this.#reply(client, envelope('subscribed', { channel: name, channels: [...client.channels], ...extra }, name));
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

  #error(client: Client, code: string, message: string, extra: Record<string, unknown> = {}, channel?: string): void {
    this.#o.stats.clientError('ws', code);
    this.#reply(client, envelope('error', { code, message, ...(channel === undefined ? {} : { channel: channel.slice(0, 80) }), ...extra }));
  }

  #reply(client: Client, message: Envelope): void {
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

function tokenFromQuery(url: string | undefined): string | undefined {
  if (!url || !url.includes('?')) return undefined;
  const token = new URL(url, 'http://x').searchParams.get('token');
  return token && token.length <= 4096 ? token : undefined;
}
