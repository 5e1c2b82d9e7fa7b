import { AudioFileSchema, DebateSchema, type Debate, type EntityManager, type FilterQuery } from '@robian/core';
import type { Rendition } from './items.ts';

/** A sitting a live stream covers, as a feed's `podcast:liveItem`. */
export interface LiveSitting {
  debateId: number;
  title: string;
  description: string | null;
  status: 'pending' | 'live' | 'ended';
  start: Date;
  end: Date | null;
  /** The parliament's own page of the sitting (a `podcast:contentLink`). */
  sourceUrl: string | null;
  /** When the debate's row last changed (a status move changes the feed's Last-Modified). */
  changedAt: Date;
}

const OFF_AIR = ['termine', 'extraction', 'disponible', 'erreur'] as const;
const ORDER = { live: 0, pending: 1, ended: 2 } as const;

/**
 * The live items of a feed, among its debates (`where`) from a source that has live streams:
 * `live` — on air (en_cours); `pending` — scheduled (programme) to start within the window, or
 * late by less than it; `ended` — off the air since less than the window (its `endTime`), until its
 * recording is an item of this feed (ready in the feed's rendition). At most `limit`: on air first,
 * then the next to start, then the latest to have ended.
 */
export async function loadLiveSittings(
  em: EntityManager,
  options: { sources: string[]; where: FilterQuery<Debate>; rendition: Rendition; windowMs: number; now: number; limit: number },
): Promise<LiveSitting[]> {
  const { sources, where, rendition, windowMs, now, limit } = options;
  if (sources.length === 0) return [];
  const from = new Date(now - windowMs);
  const to = new Date(now + windowMs);
  const rows = (await em.find(
    DebateSchema,
    {
      $and: [
        where,
        { source: { $in: sources } },
        { $or: [{ status: 'en_cours' }, { status: 'programme', date: { $gte: from, $lte: to } }, { status: { $in: OFF_AIR }, endTime: { $gte: from, $lte: new Date(now) } }] },
      ],
    } as never,
    { orderBy: [{ date: 'desc' }, { id: 'desc' }] as never, limit },
  )) as Debate[];
  const offAir = rows.filter((d) => d.status !== 'en_cours' && d.status !== 'programme').map((d) => d.id);
  const recorded = new Set(
    offAir.length
      ? ((await em.find(AudioFileSchema, { format: rendition.format, quality: rendition.quality, debate: { $in: offAir } } as never)) as { debate: { id: number } | number }[]).map((f) =>
          typeof f.debate === 'number' ? f.debate : f.debate.id,
        )
      : [],
  );
  return rows
    .filter((d) => !recorded.has(d.id))
    .map((d) => {
      const start = new Date(d.startTime ?? d.date);
      const end = d.endTime && new Date(d.endTime).getTime() > start.getTime() ? new Date(d.endTime) : null;
      const status = d.status === 'en_cours' ? 'live' : d.status === 'programme' ? 'pending' : 'ended';
      return { debateId: d.id, title: d.title, description: d.description ?? null, status, start, end, sourceUrl: d.sourceUrl ?? null, changedAt: new Date(d.updatedAt) } as LiveSitting;
    })
    // on air, then the next to start, then the latest to have ended
    .sort((a, b) => ORDER[a.status] - ORDER[b.status] || (a.status === 'pending' ? 1 : -1) * (a.start.getTime() - b.start.getTime()));
}
