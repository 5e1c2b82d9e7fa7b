export { wsPlugin, wsOptionsSchema, PLUGIN_VERSION, type WsOptions, type RealtimeService } from './plugin.ts';
export { parseChannel, debateChannel, userChannel, PUBLIC_CHANNELS, MESSAGE_TYPES, REPLY_TYPES, type ParsedChannel } from './channels.ts';
export { envelope, publicationsFor, type Envelope, type Publication } from './messages.ts';
export { ProgressThrottle } from './throttle.ts';
