import { hostname } from 'node:os';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProblemError, loadDebateViews, type Disposer, type EntityManager, type EventName, type ExtractionEvent, type PluginContext, type PluginHealth } from '@robian/core';
import { REPLY_TYPES, parseChannel } from './channels.ts';
import { envelope, publicationsFor, type Publication } from './messages.ts';
import type { WsOptions } from './options.ts';
import { originalEnvelope, originalPublicationsFor, type OriginalPublication } from './original.ts';
import type { Limits } from './policy.ts';
import { RedisLink } from './redis.ts';
import { SocketIoEndpoint } from './socketio.ts';
import { WsStats, type Protocol } from './stats.ts';
import { ProgressThrottle } from './throttle.ts';
import { PlainWsEndpoint, WS_DIALECTS, type WsDialect } from './ws-server.ts';

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
  /** Debate events wait for their debate's wire view; this keeps them in the order they were raised. */
  #debateQueue: Promise<void> = Promise.resolve();

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
        'Upgrade to a WebSocket. By default the connection speaks the original RobianAPI protocol (its message types and payloads only); `?protocol=robian` gives every Robian event type, as socket.io. `?client_id=` names the connection. ' +
        'The server sends `connected`; send `{"type":"subscribe","channel":"debates"}` (channels: debates, extractions, system, debate:{id}, user:{id}), `unsubscribe`, `ping`. ' +
        'Messages: `{type, channel, data, timestamp, message_id}`. socket.io clients connect to the same host (path `' +
        this.ctx.options.socketIoPath +
        '`). See docs/realtime.md.',
      tags: ['realtime'],
      responses: {
        101: { description: 'Switching to the WebSocket protocol' },
        400: { description: 'An unknown `protocol` or a malformed `client_id` (the body names the parameter)' },
        426: { description: 'Not a WebSocket upgrade request' },
      },
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

  /** One message to the channel's clients: socket.io (all instances through the adapter), local `?protocol=robian` /ws clients, and the bridge. */
  publish(p: Publication): void {
    if (!this.#started) return;
    const message = envelope(p.type, p.data, p.channel);
    this.stats.publish(p.type);
    this.sio?.broadcast(message);
    const json = JSON.stringify(message);
    this.plain?.deliver(p.channel, json, 'robian');
    this.#bridge('robian', [p.channel], json);
  }

  /** One message in the original protocol to the /ws clients that speak it (default), here and on the other instances. */
  publishOriginal(p: OriginalPublication): void {
    if (!this.#started) return;
    // (counted once, as the event's Robian publication: the metrics' types stay Robian's)
    const json = JSON.stringify(originalEnvelope(p.type, p.data, p.channel));
    this.plain?.deliverOnce(p.to, json, 'original');
    this.#bridge('original', p.to, json);
  }

  #bridge(dialect: WsDialect, channels: string[], json: string): void {
    if (!this.redis) return;
    this.redis.publish(`${this.instance}\n${dialect}\n${channels.join(',')}\n${json}`);
    this.stats.bridge('out');
  }

  #onEvent(name: EventName, payload: unknown): void {
    if (!this.#started) return;
    if (name === 'debate.created' || name === 'debate.updated' || name === 'debate.deleted') {
      this.#debateQueue = this.#debateQueue.then(() => this.#onDebateEvent(name, payload as Record<string, unknown>)).catch((err: unknown) => {
        this.ctx.logger.warn({ err, event: name }, 'ws: could not relay a debate event');
      });
      return;
    }
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

  /** A debate event carries the debate's wire view (core's, read again: sources may emit entities); a deleted one what the event had. */
  async #onDebateEvent(name: EventName, payload: Record<string, unknown>): Promise<void> {
    const given = payload.debate as Record<string, unknown> | undefined;
    let view: Record<string, unknown> | null = null;
    if (name !== 'debate.deleted' && given?.id !== undefined) {
      try {
        const id = Number(given.id);
        const views = await loadDebateViews(this.ctx.orm.em.fork() as unknown as EntityManager, [id]);
        view = (views.get(id) as Record<string, unknown> | undefined) ?? null;
      } catch (err) {
        this.ctx.logger.debug({ err }, 'ws: could not read the debate view, relaying the event as raised');
      }
    }
    const relayed = view ? { ...payload, debate: view } : payload;
    this.#publishEvent(name, relayed);
  }

  #publishEvent(name: EventName, payload: unknown): void {
    for (const p of publicationsFor(name, payload, this.instance)) this.publish(p);
    const debate = (payload as { debate?: Record<string, unknown> } | undefined)?.debate ?? null;
    for (const p of originalPublicationsFor(name, payload, this.instance, { debate, audioUrl: (e) => this.#audioUrl(e) })) this.publishOriginal(p);
  }

  /** Where a completed rendition plays: the audio plugin's (signed when it signs) URL, else the plain route. */
  #audioUrl(e: ExtractionEvent): string {
    const audio = this.ctx.services.maybe('audio' as never) as { library?: { urls?(id: number, r: { format: string; quality: string }): { stream_url: string } } } | undefined;
    const url = audio?.library?.urls?.(Number(e.debate_id), { format: e.format, quality: e.quality })?.stream_url;
    return url ?? `/api/debats/${e.debate_id}/audio?${new URLSearchParams({ format: e.format, quality: e.quality }).toString()}`;
  }

  /** A message another instance published (`{origin}\n{dialect}\n{channels}\n{json}`): delivered to this instance's /ws clients. */
  #fromBridge(raw: string): void {
    const parts: number[] = [];
    for (let at = -1, i = 0; i < 3; i++) {
      at = raw.indexOf('\n', at + 1);
      if (at < 0) return;
      parts.push(at);
    }
    const [a, b, c] = parts as [number, number, number];
    if (raw.slice(0, a) === this.instance) return;
    const dialect = raw.slice(a + 1, b) as WsDialect;
    if (!WS_DIALECTS.includes(dialect)) return;
    const channels = raw.slice(b + 1, c).split(',');
    if (channels.length === 0 || channels.length > 4 || !channels.every((ch) => parseChannel(ch) || ch === 'user')) return;
    this.stats.bridge('in');
    this.plain?.deliverOnce(channels, raw.slice(c + 1), dialect);
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
