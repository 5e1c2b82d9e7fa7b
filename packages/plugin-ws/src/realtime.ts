import { hostname } from 'node:os';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProblemError, type Disposer, type EventName, type ExtractionEvent, type PluginContext, type PluginHealth } from '@robian/core';
import { REPLY_TYPES, parseChannel } from './channels.ts';
import { envelope, publicationsFor, type Publication } from './messages.ts';
import type { WsOptions } from './options.ts';
import type { Limits } from './policy.ts';
import { RedisLink } from './redis.ts';
import { SocketIoEndpoint } from './socketio.ts';
import { WsStats, type Protocol } from './stats.ts';
import { ProgressThrottle } from './throttle.ts';
import { PlainWsEndpoint } from './ws-server.ts';

/** Types a published message may not take: the protocol's replies and socket.io's reserved events. */
const RESERVED_TYPES = new Set<string>([...REPLY_TYPES, 'connect', 'connect_error', 'disconnect', 'disconnecting']);

/** Publishes to real-time clients from another plugin (e.g. private messages to `user:{id}`). */
export interface RealtimeService {
  /** Sends `{type, channel, data, timestamp, message_id}` to the channel's clients on every instance. */
  publish(channel: string, type: string, data: unknown): void;
  /** Open connections on this instance. */
  connections(): { socketio: number; ws: number };
}

declare module '@robian/core' {
  interface RobianServices {
    realtime: RealtimeService;
  }
}

/**
 * One instance of the plugin (a process may run several hosts: tests, embedding): the endpoints,
 * the Redis bridge and the statistics, built in setup, opened by `start`, closed by `stop`.
 * Owns the `/ws` documentation route, the `realtime` service and the events it relays.
 */
export class Realtime {
  readonly ctx: PluginContext<WsOptions>;
  readonly stats: WsStats;
  readonly limits: Limits;
  readonly instance = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  readonly throttle: ProgressThrottle;
  plain: PlainWsEndpoint | undefined;
  sio: SocketIoEndpoint | undefined;
  redis: RedisLink | undefined;
  #attach: Disposer | undefined;
  readonly #detachers = new Map<Server, () => void>();
  #started = false;

  constructor(ctx: PluginContext<WsOptions>) {
    this.ctx = ctx;
    const o = ctx.options;
    this.limits = {
      maxChannelsPerConnection: o.maxChannelsPerConnection,
      maxMessageBytes: o.maxMessageBytes,
      maxBufferedBytes: o.maxBufferedBytes,
      maxConsecutiveDrops: o.maxConsecutiveDrops,
      maxConnections: o.maxConnections,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      maxMessagesPerSecond: o.maxMessagesPerSecond,
    };
    this.stats = new WsStats(ctx.metrics, {
      connections: (p) => this.#connections(p),
      subscriptions: (p) => (p === 'ws' ? (this.plain?.subscriptions ?? 0) : (this.sio?.subscriptions ?? 0)),
      redis: () => this.#redisState(),
    });
    this.throttle = new ProgressThrottle(o.progressIntervalMs, (p) => this.#publishEvent('extraction.progress', p), () => this.stats.coalesce(1));
  }

  register(): void {
    const path = this.ctx.options.path;
    // documents the endpoint in /openapi.json; a plain GET (no upgrade) learns what to do
    this.ctx.router.route({
      method: 'get',
      path,
      operationId: 'realtimeWebSocket',
      summary: 'Real-time events over a plain WebSocket (connect with a WebSocket client)',
      description:
        'Upgrade to a WebSocket. The server sends `connected`; send `{"type":"subscribe","channel":"debates"}` (channels: debates, extractions, system, debate:{id}, user:{id}), `unsubscribe`, `ping`. ' +
        'Messages: `{type, channel, data, timestamp, message_id}`. socket.io clients connect to the same host (path `' +
        this.ctx.options.socketIoPath +
        '`). See docs/realtime.md.',
      tags: ['realtime'],
      responses: { 101: { description: 'Switching to the WebSocket protocol' }, 426: { description: 'Not a WebSocket upgrade request' } },
      handler: () => {
        throw new ProblemError(426, 'upgrade-required', 'Upgrade required', `${path} is a WebSocket endpoint: connect with a WebSocket client.`, {}, {
          Upgrade: 'websocket',
          Connection: 'Upgrade',
        });
      },
    });
    this.ctx.events.onAny((name, payload) => this.#onEvent(name, payload));
    this.ctx.services.provide('realtime', {
      publish: (channel, type, data) => {
        if (!parseChannel(channel)) throw new Error(`realtime.publish: "${channel}" is not a channel`);
        if (typeof type !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(type) || RESERVED_TYPES.has(type)) {
          throw new Error(`realtime.publish: "${type}" is not a message type (snake_case, not a reply or socket.io event name)`);
        }
        this.publish({ channel, type, data });
      },
      connections: () => ({ socketio: this.#connections('socketio'), ws: this.#connections('ws') }),
    });
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const o = ctx.options;
    const auth = ctx.auth.registry;
    const logger = ctx.logger;
    const canAccept = () => this.#connections('socketio') + this.#connections('ws') < this.limits.maxConnections;
    this.plain = new PlainWsEndpoint({ limits: this.limits, stats: this.stats, logger, auth, canAccept });
    if (o.socketIo) {
      this.sio = new SocketIoEndpoint({
        path: o.socketIoPath,
        transports: o.socketIoTransports,
        corsOrigins: ctx.config.corsOrigins,
        limits: this.limits,
        stats: this.stats,
        logger,
        auth,
        canAccept,
      });
    }
    const redisUrl = o.redisUrl ?? ctx.config.redisUrl;
    if (o.redis && redisUrl) {
      this.redis = new RedisLink(redisUrl, ctx.config.redisKeyPrefix, logger, () => this.stats.bridgeError());
      await this.redis.connect();
      if (this.sio) this.sio.io.adapter(this.redis.adapter());
      // node-redis queues the SUBSCRIBE while Redis is away and sends it once connected
      const subscribed = this.redis.subscribe((raw) => this.#fromBridge(raw)).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'ws: bridge subscription failed');
      });
      if (this.redis.ready) await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    }
    this.#started = true;
    const http = ctx.services.maybe('http.server');
    if (http) this.#attach = http.attach((server) => this.#attachTo(server));
    else ctx.logger.warn('ws: no "http.server" service (a kernel without the host?): the real-time endpoints are not served');
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.#attach?.();
    this.#attach = undefined;
    for (const detach of [...this.#detachers.values()]) detach();
    this.throttle.close();
    this.plain?.close();
    await this.sio?.close().catch((err: unknown) => this.ctx.logger.warn({ err }, 'ws: socket.io close failed'));
    await this.redis?.close();
    this.plain = undefined;
    this.sio = undefined;
    this.redis = undefined;
  }

  health(): PluginHealth {
    const redis = this.#redisState();
    const s = this.stats;
    return {
      status: redis === 'down' ? 'degraded' : 'ok',
      instance: this.instance,
      redis,
      ...(redis === 'down' && this.redis?.lastError ? { redis_error: this.redis.lastError } : {}),
      connections: { socketio: this.#connections('socketio'), ws: this.#connections('ws') },
      subscriptions: { socketio: this.sio?.subscriptions ?? 0, ws: this.plain?.subscriptions ?? 0 },
      buffered_bytes: { socketio: this.sio?.buffered ?? { total: 0, max: 0 }, ws: this.plain?.buffered ?? { total: 0, max: 0 } },
      messages: {
        published: s.published,
        sent: { ...s.sent },
        dropped: { ...s.dropped },
        progress_coalesced: s.progressCoalesced,
        bridge: { out: s.bridgeOut, in: s.bridgeIn, errors: s.bridgeErrors },
      },
      connections_total: { ...s.accepted },
      connections_refused: { ...s.refused },
      disconnects: { ...s.disconnects },
      client_errors: { ...s.clientErrors },
      limits: {
        max_connections: this.limits.maxConnections,
        max_channels_per_connection: this.limits.maxChannelsPerConnection,
        max_message_bytes: this.limits.maxMessageBytes,
        max_buffered_bytes: this.limits.maxBufferedBytes,
        max_messages_per_second: this.limits.maxMessagesPerSecond,
        heartbeat_interval_ms: this.limits.heartbeatIntervalMs,
        progress_interval_ms: this.ctx.options.progressIntervalMs,
      },
    };
  }

  /** One message to the channel's clients: socket.io (all instances through the adapter), local /ws, and the bridge. */
  publish(p: Publication): void {
    if (!this.#started) return;
    const message = envelope(p.type, p.data, p.channel);
    this.stats.publish(p.type);
    this.sio?.broadcast(message);
    const json = JSON.stringify(message);
    this.plain?.deliver(p.channel, json);
    if (this.redis) {
      this.redis.publish(`${this.instance}\n${p.channel}\n${json}`);
      this.stats.bridge('out');
    }
  }

  #onEvent(name: EventName, payload: unknown): void {
    if (!this.#started) return;
    if (name === 'extraction.progress') {
      this.throttle.progress(payload as ExtractionEvent & { progress: number });
      return;
    }
    if (name.startsWith('extraction.')) {
      const id = (payload as ExtractionEvent | undefined)?.extraction_id;
      // a pending progress goes out before the job's next state
      if (id !== undefined) this.throttle.finish(id);
    }
    this.#publishEvent(name, payload);
  }

  #publishEvent(name: EventName, payload: unknown): void {
    for (const p of publicationsFor(name, payload, this.instance)) this.publish(p);
  }

  /** A message another instance published (`{origin}\n{channel}\n{json}`): delivered to this instance's /ws clients. */
  #fromBridge(raw: string): void {
    const first = raw.indexOf('\n');
    const second = first > 0 ? raw.indexOf('\n', first + 1) : -1;
    if (second <= first + 1 || raw.slice(0, first) === this.instance) return;
    const channel = raw.slice(first + 1, second);
    if (!parseChannel(channel)) return;
    this.stats.bridge('in');
    this.plain?.deliver(channel, raw.slice(second + 1));
  }

  #connections(p: Protocol): number {
    return p === 'ws' ? (this.plain?.connections ?? 0) : (this.sio?.connections ?? 0);
  }

  #redisState(): 'disabled' | 'up' | 'down' {
    if (!this.redis) return 'disabled';
    return this.redis.ready ? 'up' : 'down';
  }

  /**
   * Takes the upgrade requests for /ws and socket.io (others are left to the server's other
   * listeners, or refused with 404 when there is none, as Node does), and socket.io's polling
   * requests ahead of the host's Koa handler.
   */
  #attachTo(server: Server): () => void {
    const wsPath = this.ctx.options.path;
    const sio = this.sio;
    const original = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (sio && this.#started && sio.matches(req.url)) return sio.handleRequest(req, res);
      for (const listener of original) listener.call(server, req, res);
    };
    if (sio) {
      server.removeAllListeners('request');
      server.on('request', onRequest);
    }
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      if (this.#started && this.plain && pathname === wsPath) return this.plain.handleUpgrade(req, socket, head);
      if (this.#started && sio?.matches(url)) return sio.handleUpgrade(req, socket, head);
      if (server.listenerCount('upgrade') === 1) {
        socket.on('error', () => {});
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    server.on('upgrade', onUpgrade);
    let attached = true;
    const detach = () => {
      if (!attached) return;
      attached = false;
      this.#detachers.delete(server);
      server.removeListener('upgrade', onUpgrade);
      if (sio) {
        server.removeListener('request', onRequest);
        const now = server.listeners('request');
        for (const listener of original) if (!now.includes(listener)) server.on('request', listener);
      }
      if (this.#detachers.size === 0) {
        // the last server goes: tell the clients now, before the server waits for them
        this.plain?.closeAll();
        this.sio?.disconnectAll();
      }
    };
    this.#detachers.set(server, detach);
    return detach;
  }
}
