import { randomUUID } from 'node:crypto';
import type { EventName, ExtractionEvent, RobianEvents } from '@robian/core';
import { debateChannel } from './channels.ts';

/** What every client receives, on both protocols: the original API's envelope. */
export interface Envelope<T = unknown> {
  type: string;
  /** The channel the message was published on (absent on replies that concern no channel). */
  channel?: string;
  data: T;
  /** ISO 8601 date-time of publication. */
  timestamp: string;
  /** Unique per message (a UUID), so that a client can drop a duplicate after a reconnection. */
  message_id: string;
}

export function envelope<T>(type: string, data: T, channel?: string): Envelope<T> {
  return { type, ...(channel === undefined ? {} : { channel }), data, timestamp: new Date().toISOString(), message_id: randomUUID() };
}

/** One publication: a type and data for one channel. */
export interface Publication {
  channel: string;
  type: string;
  data: unknown;
}

export const EXTRACTION_TYPES: Partial<Record<EventName, string>> = {
  'extraction.started': 'extraction_started',
  'extraction.progress': 'extraction_progress',
  'extraction.completed': 'extraction_completed',
  'extraction.failed': 'extraction_failed',
  'extraction.cancelled': 'extraction_cancelled',
};

const LIVE = 'en_cours';
const ENDED = new Set(['termine', 'disponible']);

// ids are strings on the wire, as everywhere in Robian's API (the bus carries the database's numbers)
const wire = (id: unknown): string | undefined => (typeof id === 'number' || typeof id === 'string' ? String(id) : undefined);
const debateId = (debate: Record<string, unknown> | undefined): string | undefined => wire(debate?.id);

/**
 * Maps an event of the core bus to what clients receive. Unknown events map to nothing, so a
 * plugin's own events never leak to clients by accident.
 *
 * - `debate.created|updated|deleted` → `debate_*` on `debates` and `debate:{id}`;
 * - `debate.updated` whose status becomes `en_cours` → also `debate_started`; whose status goes
 *   from `en_cours` to `termine` or `disponible` → also `debate_ended` (both channels);
 * - `extraction.*` → `extraction_*` on `extractions` and `debate:{debate_id}`;
 * - `system.status` → `system_status` on `system`.
 */
export function publicationsFor(name: EventName, payload: unknown, instance: string): Publication[] {
  switch (name) {
    case 'debate.created': {
      const { debate } = payload as RobianEvents['debate.created'];
      return both('debate_created', debateId(debate), debate);
    }
    case 'debate.updated': {
      const { debate, previousStatus } = payload as RobianEvents['debate.updated'];
      const id = debateId(debate);
      const out = both('debate_updated', id, debate);
      const status = typeof debate.status === 'string' ? debate.status : undefined;
      if (status !== undefined && previousStatus !== undefined && status !== previousStatus) {
        const transition = { debate_id: id, status, previous_status: previousStatus, debate };
        if (status === LIVE) out.push(...both('debate_started', id, transition));
        else if (previousStatus === LIVE && ENDED.has(status)) out.push(...both('debate_ended', id, transition));
      }
      return out;
    }
    case 'debate.deleted': {
      const { id, debate } = payload as RobianEvents['debate.deleted'];
      const data: Record<string, unknown> = { id: wire(id), ...(debate && typeof debate.title === 'string' ? { title: debate.title } : {}) };
      return both('debate_deleted', wire(id), data);
    }
    case 'system.status': {
      const p = payload as RobianEvents['system.status'];
      return [{ channel: 'system', type: 'system_status', data: { status: p.status, ...(p.detail ? { detail: p.detail } : {}), instance } }];
    }
    default: {
      const type = EXTRACTION_TYPES[name];
      if (!type) return [];
      const event = payload as ExtractionEvent;
      const p = { ...event, debate_id: wire(event.debate_id), extraction_id: wire(event.extraction_id) };
      const out: Publication[] = [{ channel: 'extractions', type, data: p }];
      if (p.debate_id !== undefined) out.push({ channel: debateChannel(p.debate_id), type, data: p });
      return out;
    }
  }
}

function both(type: string, id: number | string | undefined, data: unknown): Publication[] {
  const out: Publication[] = [{ channel: 'debates', type, data }];
  if (id !== undefined) out.push({ channel: debateChannel(id), type, data });
  return out;
}
