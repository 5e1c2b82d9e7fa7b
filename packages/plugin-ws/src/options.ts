import { option, z } from '@robian/core';

const int = (min: number, max: number, dflt: number) => option.int(dflt, min, max);
const bool = (dflt: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
    .transform((v) => (typeof v === 'boolean' ? v : ['true', '1', 'yes', 'on'].includes(v)))
    .default(dflt);
const path = (dflt: string) =>
  z
    .string()
    .regex(/^\/[A-Za-z0-9._~\/-]{0,127}$/, 'expected a path such as /ws')
    .default(dflt);

export const wsOptionsSchema = z.object({
  /** Path of the plain WebSocket endpoint. */
  path: path('/ws'),
  /** socket.io on (default) or off. */
  socketIo: bool(true),
  /** Path of socket.io (the client's `path` option). */
  socketIoPath: path('/socket.io'),
  /** socket.io transports: `websocket` only avoids the sticky sessions polling needs behind a load balancer. */
  socketIoTransports: z
    .union([z.array(z.enum(['polling', 'websocket'])), z.string()])
    .transform((v, ctx) => {
      const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
      const bad = list.filter((t) => t !== 'polling' && t !== 'websocket');
      if (bad.length || list.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of polling, websocket' });
        return z.NEVER;
      }
      return [...new Set(list)] as ('polling' | 'websocket')[];
    })
    .default(['polling', 'websocket']),
  /** Ping every this many ms; a connection silent for a whole interval (no pong) is closed. */
  heartbeatIntervalMs: int(50, 600_000, 30_000),
  maxChannelsPerConnection: int(1, 10_000, 50),
  /** Largest message a client may send (bytes); over it the connection is closed (1009 on /ws). */
  maxMessageBytes: int(256, 1_048_576, 16_384),
  /** Bytes waiting to be sent to one client past which its messages are dropped. */
  maxBufferedBytes: int(1024, 256 * 1_048_576, 262_144),
  /** Messages dropped in a row for one client (its buffer staying full) before it is disconnected. */
  maxConsecutiveDrops: int(1, 1_000_000, 1000),
  /** Messages a client may send per second (subscribe, unsubscribe, ping); over it they are ignored. */
  maxMessagesPerSecond: int(1, 10_000, 20),
  /** Connections (both protocols) this instance accepts. */
  maxConnections: int(1, 1_000_000, 10_000),
  /** Minimum time between two `extraction_progress` messages of one job (ms); 0 disables throttling. */
  progressIntervalMs: int(0, 60_000, 500),
  /** Use Redis (REDIS_URL) to reach the clients of the other instances. */
  redis: bool(true),
  /** Another Redis for the real-time traffic than REDIS_URL (the cache's), e.g. a dedicated pub/sub server. */
  redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis://host:port URL').optional(),
});

export type WsOptions = z.output<typeof wsOptionsSchema>;

/** The environment variables that fill the options. */
export const wsEnv = {
  path: 'WS_PATH',
  socketIo: 'WS_SOCKETIO',
  socketIoPath: 'WS_SOCKETIO_PATH',
  socketIoTransports: 'WS_SOCKETIO_TRANSPORTS',
  heartbeatIntervalMs: 'WS_HEARTBEAT_INTERVAL_MS',
  maxChannelsPerConnection: 'WS_MAX_CHANNELS',
  maxMessageBytes: 'WS_MAX_MESSAGE_BYTES',
  maxBufferedBytes: 'WS_MAX_BUFFERED_BYTES',
  maxConsecutiveDrops: 'WS_MAX_CONSECUTIVE_DROPS',
  maxConnections: 'WS_MAX_CONNECTIONS',
  maxMessagesPerSecond: 'WS_MAX_MESSAGES_PER_SECOND',
  progressIntervalMs: 'WS_PROGRESS_INTERVAL_MS',
  redis: 'WS_REDIS',
  redisUrl: 'WS_REDIS_URL',
} as const;
