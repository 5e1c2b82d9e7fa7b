/**
 * Channels a client can subscribe to, and the message types of the original API.
 *
 * - `debates`: every debate created, updated, deleted, started, ended;
 * - `extractions`: every extraction job's life (started, progress, completed, failed, cancelled);
 * - `debate:{id}`: everything about one debate (its updates, its extractions, its start and end);
 * - `system`: the status of the instances;
 * - `user:{id}`: private messages for one user (needs that user's token).
 */
export const PUBLIC_CHANNELS = ['debates', 'extractions', 'system'] as const;

export type ChannelKind = (typeof PUBLIC_CHANNELS)[number] | 'debate' | 'user';

export interface ParsedChannel {
  name: string;
  kind: ChannelKind;
  /** The debate id or user id of `debate:{id}` / `user:{id}`. */
  id?: string;
}

const DEBATE_CHANNEL = /^debate:([1-9][0-9]{0,9})$/;
const USER_CHANNEL = /^user:([A-Za-z0-9_-]{1,64})$/;
/** Longest channel name accepted (checked before any regex runs). */
export const MAX_CHANNEL_LENGTH = 72;

/** The channel, or undefined when the name is not one of the documented channels. */
export function parseChannel(name: unknown): ParsedChannel | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CHANNEL_LENGTH) return undefined;
  if ((PUBLIC_CHANNELS as readonly string[]).includes(name)) return { name, kind: name as ParsedChannel['kind'] };
  let m = DEBATE_CHANNEL.exec(name);
  if (m && Number(m[1]) <= 2 ** 31 - 1) return { name, kind: 'debate', id: m[1]! };
  m = USER_CHANNEL.exec(name);
  if (m) return { name, kind: 'user', id: m[1]! };
  return undefined;
}

export const debateChannel = (id: number | string): string => `debate:${id}`;
export const userChannel = (id: number | string): string => `user:${id}`;

/** Message types sent to clients (the original API's names, plus `extraction_progress`). */
export const MESSAGE_TYPES = [
  'debate_created',
  'debate_updated',
  'debate_deleted',
  'debate_started',
  'debate_ended',
  'extraction_started',
  'extraction_progress',
  'extraction_completed',
  'extraction_failed',
  'extraction_cancelled',
  'system_status',
] as const;

/** Replies of the protocol itself (not events). */
export const REPLY_TYPES = ['connected', 'subscribed', 'unsubscribed', 'pong', 'error'] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number] | (string & {});
