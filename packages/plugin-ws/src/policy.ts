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

/** A granted subscription: the caller adds the channel, then gives the reserved slot back. */
export interface SubscribeGrant {
  ok: true;
  channel: ParsedChannel;
  /** Frees the slot reserved while the token was checked: call it once the channel is added (or given up). */
  release(): void;
}

/**
 * The checks of a subscription, the same on both protocols: a documented channel, under the
 * per-connection cap (joining a channel again is not counted), and the user's token for
 * `user:{id}`.
 *
 * The cap counts the channels being granted as well as those joined: the slot is reserved in
 * `pending` before the token check awaits and freed by the grant's `release()` once the caller
 * has added the channel. Checking the cap before an `await` and adding after it let a burst of
 * subscriptions pass the same check (50 allowed, 56–60 accepted: issue #11 item 4).
 */
export async function decideSubscribe(
  raw: unknown,
  current: ReadonlySet<string>,
  pending: Set<string>,
  limits: Limits,
  registry: AuthRegistry,
  token: string | undefined,
): Promise<SubscribeGrant | SubscribeRefusal> {
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
  const fresh = !current.has(channel.name) && !pending.has(channel.name);
  if (fresh && current.size + pending.size >= limits.maxChannelsPerConnection) {
    return { ok: false, code: 'too_many_channels', message: `a connection may subscribe to at most ${limits.maxChannelsPerConnection} channels` };
  }
  if (fresh) pending.add(channel.name);
  let released = false;
  const release = () => {
    if (fresh && !released) pending.delete(channel.name);
    released = true;
  };
  try {
    const allowed = await authorizeChannel(registry, channel, token);
    if (!allowed.ok) {
      release();
      return allowed;
    }
  } catch (err) {
    release();
    throw err;
  }
  return { ok: true, channel, release };
}
