import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server as EngineServer } from 'engine.io';
import { Server as SocketIoServer, type Socket } from 'socket.io';
import type { AuthRegistry, Logger } from '@robian/core';
import { bearer } from './auth.ts';
import { PUBLIC_CHANNELS } from './channels.ts';
import { envelope, type Envelope } from './messages.ts';
import { decideSubscribe, type Limits } from './policy.ts';
import { MessageRate } from './rate.ts';
import type { WsStats } from './stats.ts';

export interface SocketIoOptions {
  /** Mount path, e.g. `/socket.io` (the client's `path` option). */
  path: string;
  transports: ('polling' | 'websocket')[];
  corsOrigins: string[];
  limits: Limits;
  stats: WsStats;
  logger: Logger;
  auth: AuthRegistry;
  canAccept(): boolean;
}

/** What socket.io's Client and engine.io's Socket expose that the backpressure gate reads. */
interface EngineConn {
  writeBuffer: unknown[];
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
}
interface IoClient {
  conn: EngineConn;
  writeToEngine(packets: unknown, opts: { preEncoded?: boolean; volatile?: boolean }): void;
}

type Ack = (reply: Envelope) => void;

/**
 * socket.io on the host's HTTP server. A client joins channels with
 * `socket.emit('subscribe', { channel, token? }, ack)` and receives each message as an event
 * named by its `type`, carrying the envelope. Channels are socket.io rooms, so the Redis
 * adapter carries a broadcast to the clients of every instance.
 */
export class SocketIoEndpoint {
  readonly engine: EngineServer;
  readonly io: SocketIoServer;
  readonly #o: SocketIoOptions;
  readonly #prefix: string;
  readonly #patched = new WeakSet<object>();

  constructor(options: SocketIoOptions) {
    this.#o = options;
    const path = options.path.replace(/\/+$/, '');
    this.#prefix = `${path}/`;
    const { limits } = options;
    this.engine = new EngineServer({
      transports: options.transports,
      // engine.io answers a silent client after pingInterval + pingTimeout
      pingInterval: limits.heartbeatIntervalMs,
      pingTimeout: Math.min(20_000, limits.heartbeatIntervalMs),
      maxHttpBufferSize: limits.maxMessageBytes,
      perMessageDeflate: false,
      httpCompression: false,
      allowUpgrades: options.transports.includes('websocket') && options.transports.includes('polling'),
      ...(options.corsOrigins.length
        ? { cors: { origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins, credentials: !options.corsOrigins.includes('*') } }
        : {}),
      allowRequest: (_req, callback) => {
        if (options.canAccept()) return callback(null, true);
        options.stats.refuse('socketio', 'max_connections');
        callback('too many real-time connections', false);
      },
    });
    this.io = new SocketIoServer({ serveClient: false, path, connectTimeout: 10_000 });
    this.io.bind(this.engine);
    this.io.on('connection', (socket) => this.#onConnection(socket));
  }

  /** Whether a request URL is for socket.io (`/socket.io/…`). */
  matches(url: string | undefined): boolean {
    return url !== undefined && url.startsWith(this.#prefix);
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.engine.handleRequest(req, res);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.engine.handleUpgrade(req, socket, head);
  }

  get connections(): number {
    return this.engine.clientsCount;
  }

  get subscriptions(): number {
    let n = 0;
    for (const socket of this.io.of('/').sockets.values()) n += socket.rooms.size - 1;
    return n;
  }

  /** Bytes waiting to be written (engine.io's write buffer estimated, plus the WebSocket's), over all clients and for the fullest one. */
  get buffered(): { total: number; max: number } {
    let total = 0;
    let max = 0;
    const clients = (this.engine as unknown as { clients: Record<string, EngineConn> }).clients;
    for (const conn of Object.values(clients)) {
      let b = conn.transport?.socket?.bufferedAmount ?? 0;
      for (const packet of conn.writeBuffer as { data?: unknown }[]) b += sizeOf(packet?.data);
      total += b;
      if (b > max) max = b;
    }
    return { total, max };
  }

  /** Publishes a message to the channel's room (on every instance when the Redis adapter is set). */
  broadcast(message: Envelope): void {
    if (message.channel === undefined) return;
    this.io.to(message.channel).emit(message.type, message);
  }

  /** Disconnects this instance's clients (they reconnect, possibly to another instance). */
  disconnectAll(): void {
    for (const socket of this.io.of('/').sockets.values()) this.#o.stats.disconnect('socketio', 'shutdown');
    this.io.local.disconnectSockets(true);
    for (const client of Object.values((this.engine as unknown as { clients: Record<string, { close(): void }> }).clients)) client.close();
  }

  async close(): Promise<void> {
    this.disconnectAll();
    this.engine.close();
    await Promise.resolve(this.io.of('/').adapter.close());
  }

  #onConnection(socket: Socket): void {
    const { stats, limits } = this.#o;
    stats.accept('socketio');
    this.#gate(socket);
    const handshakeToken =
      typeof (socket.handshake.auth as Record<string, unknown> | undefined)?.token === 'string'
        ? ((socket.handshake.auth as Record<string, unknown>).token as string)
        : bearer(socket.handshake.headers.authorization);
    const reply = (ack: unknown, event: string, message: Envelope) => {
      if (typeof ack === 'function') (ack as Ack)(message);
      else socket.emit(event, message);
      stats.send('socketio');
    };
    const fail = (ack: unknown, code: string, message: string, extra: Record<string, unknown> = {}) => {
      stats.clientError('socketio', code);
      reply(ack, 'error', envelope('error', { code, message, ...extra }));
    };
    const channels = () => new Set([...socket.rooms].filter((r) => r !== socket.id));
    /** Channels being granted (token check in flight): they count toward the cap. */
    const pending = new Set<string>();
    const rate = new MessageRate(limits.maxMessagesPerSecond);
    // runs before the handlers below: a message over the rate never reaches them
    socket.use((packet, next) => {
      if (rate.take()) return next();
      if (rate.shouldWarn()) fail(packet.at(-1), 'rate_limited', `at most ${limits.maxMessagesPerSecond} messages per second; messages over it are ignored`);
    });

    socket.on('subscribe', async (payload: unknown, ack?: unknown) => {
      try {
        const p = typeof payload === 'string' ? { channel: payload } : isObject(payload) ? payload : {};
        const token = typeof p.token === 'string' && p.token.length <= 4096 ? p.token : handshakeToken;
        const decision = await decideSubscribe(p.channel, channels(), pending, limits, this.#o.auth, token);
        if (!decision.ok) return socket.connected ? fail(ack, decision.code, decision.message, typeof p.channel === 'string' ? { channel: p.channel.slice(0, 80) } : {}) : undefined;
        try {
          if (!socket.connected) return;
          await socket.join(decision.channel.name);
        } finally {
          decision.release();
        }
        reply(ack, 'subscribed', envelope('subscribed', { channel: decision.channel.name, channels: [...channels()] }, decision.channel.name));
      } catch (err) {
        this.#o.logger.warn({ err }, 'socket.io: subscribe failed');
        fail(ack, 'internal_error', 'the server could not handle this message');
      }
    });
    socket.on('unsubscribe', async (payload: unknown, ack?: unknown) => {
      const p = typeof payload === 'string' ? { channel: payload } : isObject(payload) ? payload : {};
      if (typeof p.channel !== 'string' || p.channel.length === 0 || p.channel === socket.id) {
        return fail(ack, 'invalid_channel', 'the "channel" field must name a channel');
      }
      const name = p.channel.slice(0, 80);
      const was = socket.rooms.has(name);
      if (was) await socket.leave(name);
      reply(ack, 'unsubscribed', envelope('unsubscribed', { channel: name, channels: [...channels()], was_subscribed: was }, name));
    });
    socket.on('ping', (_payload: unknown, ack?: unknown) => reply(typeof _payload === 'function' ? _payload : ack, 'pong', envelope('pong', {})));
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'subscribe' || event === 'unsubscribe' || event === 'ping') return;
      fail(args.at(-1), 'unknown_type', `unknown event "${String(event).slice(0, 40)}": use subscribe, unsubscribe or ping`);
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'ping timeout') stats.disconnect('socketio', 'heartbeat');
    });
    reply(
      undefined,
      'connected',
      envelope('connected', {
        client_id: socket.id,
        channels: [...PUBLIC_CHANNELS, 'debate:{id}', 'user:{id}'],
        heartbeat_interval_ms: limits.heartbeatIntervalMs,
        max_channels: limits.maxChannelsPerConnection,
        max_message_bytes: limits.maxMessageBytes,
      }),
    );
  }

  /**
   * Backpressure for broadcasts. socket.io writes a broadcast to each client through
   * `client.writeToEngine(packets, { preEncoded: true })` (local and Redis-relayed alike); the
   * gate drops it when the client's buffered output (the WebSocket's `bufferedAmount`, plus
   * engine.io's write buffer when the socket is backed up) is over the limit, and cuts a client
   * that stays full.
   */
  #gate(socket: Socket): void {
    const client = socket.client as unknown as IoClient;
    if (this.#patched.has(client)) return;
    this.#patched.add(client);
    const { stats, limits, logger } = this.#o;
    const write = client.writeToEngine;
    let drops = 0;
    client.writeToEngine = function gated(this: IoClient, packets, opts) {
      if (!opts?.preEncoded) return write.call(this, packets, opts);
      const conn = this.conn;
      const packetBytes = sizeOf(packets);
      // On WebSocket, engine.io's write buffer fills up within any burst (it flushes when the
      // transport drains, after the current tick): it only counts once the socket itself is backed
      // up (bytes the kernel did not take). Long-polling clients have only the write buffer.
      const wsBuffered = conn.transport?.socket?.bufferedAmount;
      const queued = conn.writeBuffer.length * packetBytes;
      const buffered = wsBuffered === undefined ? queued : wsBuffered > 0 ? wsBuffered + queued : 0;
      if (buffered > limits.maxBufferedBytes) {
        stats.drop('socketio');
        if (++drops > limits.maxConsecutiveDrops) {
          drops = 0;
          stats.disconnect('socketio', 'slow');
          logger.info({ client: socket.id, buffered }, 'socket.io: closing a client that does not read its messages');
          conn.transport?.socket?.terminate?.();
          socket.disconnect(true);
        }
        return;
      }
      drops = 0;
      stats.send('socketio');
      write.call(this, packets, opts);
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sizeOf(packets: unknown): number {
  const list = Array.isArray(packets) ? packets : [packets];
  let n = 0;
  for (const p of list) n += typeof p === 'string' ? p.length : Buffer.isBuffer(p) ? p.length : 64;
  return n;
}
