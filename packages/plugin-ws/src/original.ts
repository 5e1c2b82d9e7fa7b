import { randomUUID } from 'node:crypto';
import type { EventName, ExtractionEvent, RobianEvents } from '@robian/core';
import { debateChannel } from './channels.ts';

/**
 * The original RobianAPI's `/ws` protocol, what `/ws` speaks by default (RobianAPP was written
 * against it; see docs/realtime.md): its closed set of message types, its channels and its payload
 * shapes. Robian's richer protocol (`?protocol=robian`, and socket.io) is in messages.ts.
 */

/** Every type the original protocol knows (a client's enum fails on any other). */
export const ORIGINAL_TYPES = [
  'connect',
  'subscribe',
  'unsubscribe',
  'ping',
  'connected',
  'subscribed',
  'unsubscribed',
  'pong',
  'error',
  'debate_started',
  'debate_ended',
  'extraction_started',
  'extraction_completed',
  'extraction_failed',
  'system_status',
] as const;

/** The types the original protocol pushes as events (not replies). */
export const ORIGINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['debate_started', 'debate_ended', 'extraction_started', 'extraction_completed', 'extraction_failed', 'system_status']);

/** What `connected` lists in `available_channels` (the original's channel kinds). */
export const ORIGINAL_CHANNELS = ['debates', 'extractions', 'system', 'user'] as const;

/** How long an extraction is announced to take (`estimated_duration`, a text in the original). */
export const ESTIMATED_DURATION = '5-10 minutes';

/** The original envelope: every key always present, `channel` and `data` null when they do not apply. */
export interface OriginalEnvelope {
  type: string;
  channel: string | null;
  data: Record<string, unknown> | null;
  timestamp: string;
  message_id: string;
}

export function originalEnvelope(type: string, data: Record<string, unknown> | null, channel: string | null = null): OriginalEnvelope {
  return { type, channel, data, timestamp: new Date().toISOString(), message_id: randomUUID() };
}

/** One message for original clients: its envelope's channel, the channels it is delivered on, its type and data. */
export interface OriginalPublication {
  /** The envelope's `channel`: the message's own channel (`debates`, `extractions`, `system`), as the original sent it on `debate:{id}` too. */
  channel: string;
  /** The channels whose subscribers receive it (the message's own, and `debate:{id}`). */
  to: string[];
  type: string;
  data: Record<string, unknown>;
}

/** What the event's publications need that the bus payload may not carry. */
export interface OriginalContext {
  /** The wire view of the debate (core's), or null when it is gone. */
  debate: Record<string, unknown> | null;
  /** Where a completed rendition is played. */
  audioUrl?: (e: ExtractionEvent) => string;
}

const ACTIONS: Partial<Record<EventName, string>> = { 'debate.created': 'created', 'debate.updated': 'updated', 'debate.deleted': 'deleted' };
const LIVE = 'en_cours';
const ENDED = new Set(['termine', 'disponible']);
const wireId = (id: unknown): string => String(id);

/**
 * Maps a bus event to what original clients receive:
 * - `debate.created|updated|deleted` → `system_status {status: "debate_created"…, details: {debate_id, debate}, timestamp, action}`
 *   on `debates` and `debate:{id}` (the original had no such types; a client's enum knows `system_status`);
 * - a debate going live / ending → `debate_started` / `debate_ended {debate_id, debate, action}`;
 * - `extraction.started|completed|failed` → `extraction_*` in the original's shapes; `extraction.cancelled`
 *   → `extraction_failed` with `error: "cancelled"` (the original had no cancellation; a client waiting
 *   for the job learns it ended); `extraction.progress` → nothing;
 * - `system.status` → `system_status {status, details, timestamp}` on `system`.
 */
export function originalPublicationsFor(name: EventName, payload: unknown, instance: string, context: OriginalContext): OriginalPublication[] {
  const action = ACTIONS[name];
  if (action) {
    const p = payload as { debate?: Record<string, unknown>; id?: number; previousStatus?: string };
    const id = name === 'debate.deleted' ? p.id : p.debate?.id;
    if (id === undefined || id === null) return [];
    const debateId = wireId(id);
    const to = ['debates', debateChannel(debateId)];
    const debate = context.debate ?? p.debate ?? null;
    const out: OriginalPublication[] = [
      { channel: 'debates', to, type: 'system_status', data: { status: `debate_${action}`, details: { debate_id: debateId, debate }, timestamp: new Date().toISOString(), action } },
    ];
    if (name === 'debate.updated') {
      const status = typeof debate?.status === 'string' ? debate.status : typeof p.debate?.status === 'string' ? p.debate.status : undefined;
      const before = p.previousStatus;
      if (status !== undefined && before !== undefined && status !== before) {
        if (status === LIVE) out.push({ channel: 'debates', to, type: 'debate_started', data: { debate_id: debateId, debate: debate ?? {}, action: 'started' } });
        else if (before === LIVE && ENDED.has(status)) out.push({ channel: 'debates', to, type: 'debate_ended', data: { debate_id: debateId, debate: debate ?? {}, action: 'ended' } });
      }
    }
    return out;
  }
  if (name === 'system.status') {
    const p = payload as RobianEvents['system.status'];
    return [{ channel: 'system', to: ['system'], type: 'system_status', data: { status: p.status, details: { instance, ...(p.detail ? { detail: p.detail } : {}) }, timestamp: new Date().toISOString() } }];
  }
  if (!name.startsWith('extraction.') || name === 'extraction.progress') return [];
  const e = payload as ExtractionEvent & { file_size?: number; error?: string };
  if (e.debate_id === undefined || e.debate_id === null) return [];
  const base = { debate_id: wireId(e.debate_id), extraction_id: wireId(e.extraction_id) };
  const to = ['extractions', debateChannel(e.debate_id)];
  switch (name) {
    case 'extraction.started':
      return [{ channel: 'extractions', to, type: 'extraction_started', data: { ...base, status: 'started', estimated_duration: ESTIMATED_DURATION } }];
    case 'extraction.completed': {
      const audioUrl = context.audioUrl?.(e) ?? `/api/debats/${e.debate_id}/audio?${new URLSearchParams({ format: e.format, quality: e.quality }).toString()}`;
      return [{ channel: 'extractions', to, type: 'extraction_completed', data: { ...base, status: 'completed', audio_url: audioUrl, file_size: Math.round(e.file_size ?? 0), format: e.format } }];
    }
    case 'extraction.failed':
      return [{ channel: 'extractions', to, type: 'extraction_failed', data: { ...base, status: 'failed', error: e.error ?? 'extraction failed' } }];
    case 'extraction.cancelled':
      return [{ channel: 'extractions', to, type: 'extraction_failed', data: { ...base, status: 'failed', error: 'cancelled' } }];
    default:
      return [];
  }
}
