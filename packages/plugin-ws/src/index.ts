import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { wsEnv, wsOptionsSchema } from './options.ts';
import { Realtime } from './realtime.ts';

export const PLUGIN_VERSION = '0.1.0';

/**
 * `@robian/plugin-ws`: real-time events over socket.io and the plain `/ws` WebSocket protocol,
 * across instances through Redis.
 */
export const wsPlugin = definePlugin({
  name: 'ws',
  version: PLUGIN_VERSION,
  apiVersion: PLUGIN_API_VERSION,
  description: 'Real-time events: socket.io (Redis adapter) and the plain /ws channel protocol',
  options: wsOptionsSchema,
  env: wsEnv,
  setup(ctx) {
    if (ctx.options.path === ctx.options.socketIoPath) throw new Error(`the /ws path and the socket.io path must differ (both "${ctx.options.path}")`);
    const realtime = new Realtime(ctx);
    realtime.register();
    return {
      start: () => realtime.start(),
      stop: () => realtime.stop(),
      health: () => realtime.health(),
    };
  },
});

export { wsOptionsSchema, wsEnv, type WsOptions } from './options.ts';
export { Realtime, type RealtimeService } from './realtime.ts';
export { parseChannel, debateChannel, userChannel, PUBLIC_CHANNELS, MESSAGE_TYPES, REPLY_TYPES, type ParsedChannel } from './channels.ts';
export { envelope, publicationsFor, type Envelope, type Publication } from './messages.ts';
export { ProgressThrottle } from './throttle.ts';
export { ORIGINAL_TYPES, ORIGINAL_CHANNELS, originalEnvelope, originalPublicationsFor, type OriginalEnvelope, type OriginalPublication } from './original.ts';
export { WS_DIALECTS, type WsDialect } from './ws-server.ts';
