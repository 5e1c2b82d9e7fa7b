import type { AuthRegistry } from '@robian/core';
import { authorizeChannel, type SubscribeRefusal } from './auth.ts';
import { parseChannel, type ParsedChannel } from './channels.ts';

export interface Limits {
  maxChannelsPerConnection: number;
  maxMessageBytes: number;
  maxBufferedBytes: number;
  maxConsecutiveDrops: number;
  maxConnections: number;
  heartbeatIntervalMs: number;
  maxMessagesPerSecond: number;
}

/**
 * The checks of a subscription, the same on both protocols: a documented channel, under the
 * per-connection cap (joining a channel again is not counted), and the user's token for
 * `user:{id}`.
 */
export async function decideSubscribe(
  raw: unknown,
  current: ReadonlySet<string>,
  limits: Limits,
  registry: AuthRegistry,
  token: string | undefined,
): Promise<{ ok: true; channel: ParsedChannel } | SubscribeRefusal> {
  const channel = parseChannel(raw);
  if (!channel) {
    return {
      ok: false,
      code: 'invalid_channel',
      message:
        typeof raw === 'string' && raw.length > 0
          ? `unknown channel "${raw.slice(0, 80)}": use debates, extractions, system, debate:{id} or user:{id}`
          : 'the "channel" field must name a channel: debates, extractions, system, debate:{id} or user:{id}',
    };
  }
  if (!current.has(channel.name) && current.size >= limits.maxChannelsPerConnection) {
    return { ok: false, code: 'too_many_channels', message: `a connection may subscribe to at most ${limits.maxChannelsPerConnection} channels` };
  }
  const allowed = await authorizeChannel(registry, channel, token);
  if (!allowed.ok) return allowed;
  return { ok: true, channel };
}
