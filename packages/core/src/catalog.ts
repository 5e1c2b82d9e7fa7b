import { raw, type FilterQuery, type QueryOrderMap } from '@mikro-orm/core';
import type { Debate } from './entities.ts';
import { slugify, type DebateListQuery } from './wire.ts';

/** Escapes LIKE wildcards so that user text matches literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const SORT_COLUMNS: Record<DebateListQuery['sort_by'], keyof Debate & string> = {
  date: 'date',
  title: 'title',
  created_at: 'createdAt',
  updated_at: 'updatedAt',
  view_count: 'viewCount',
  duration_minutes: 'durationMinutes',
};

/** A committee given by id, parliament uid, slug, short name or name. */
export function commissionMatch(value: string): FilterQuery<never> {
  const v = value.trim();
  const or: Record<string, unknown>[] = [{ externalId: v }, { slug: slugify(v) }, { shortName: v }];
  if (/^\d+$/.test(v)) or.push({ id: Number(v) });
  return { $or: or } as FilterQuery<never>;
}

/** A deputy given by id, parliament uid, slug or full name. */
export function deputyMatch(value: string): FilterQuery<never> {
  const v = value.trim();
  const or: Record<string, unknown>[] = [{ externalId: v }, { slug: slugify(v) }];
  if (/^\d+$/.test(v)) or.push({ id: Number(v) });
  return { $or: or } as FilterQuery<never>;
}

/**
 * The filters of `GET /api/debats/` as a MikroORM query; plugin-search applies the same ones
 * to its hits so both routes filter alike.
 */
export function debateFilter(q: Partial<DebateListQuery>, options: { includeText?: boolean; dialect?: 'sqlite' | 'postgresql' } = {}): FilterQuery<Debate> {
  const and: Record<string, unknown>[] = [];
  if (q.q && (options.includeText ?? true)) {
    if (options.dialect === 'sqlite') {
      // SQLite has no ILIKE: a case-insensitive substring test (ASCII case folding), with no wildcard to escape
      const text = q.q;
      const contains = (column: string) => ({ [raw((alias: string) => `instr(lower(${alias}.${column}), lower(?))`, [text]) as unknown as string]: { $gt: 0 } });
      and.push({ $or: [contains('title'), contains('description')] });
    } else {
      const pattern = likePattern(q.q);
      and.push({ $or: [{ title: { $ilike: pattern } }, { description: { $ilike: pattern } }] });
    }
  }
  if (q.type) and.push({ type: q.type });
  if (q.status) and.push({ status: q.status });
  if (q.commission) and.push({ commission: commissionMatch(q.commission) });
  if (q.depute) and.push({ speakers: { $some: deputyMatch(q.depute) } });
  if (q.date_start) and.push({ date: { $gte: q.date_start } });
  if (q.date_end) {
    // a bare date as the end means the whole day
    const end = new Date(q.date_end);
    if (end.getUTCHours() === 0 && end.getUTCMinutes() === 0 && end.getUTCSeconds() === 0 && end.getUTCMilliseconds() === 0) {
      end.setUTCDate(end.getUTCDate() + 1);
      and.push({ date: { $lt: end } });
    } else and.push({ date: { $lte: end } });
  }
  if (q.has_audio !== undefined) and.push({ hasAudio: q.has_audio });
  return (and.length === 0 ? {} : and.length === 1 ? and[0] : { $and: and }) as FilterQuery<Debate>;
}

export function debateOrder(q: Pick<DebateListQuery, 'sort_by' | 'sort_order'>): QueryOrderMap<Debate>[] {
  const column = SORT_COLUMNS[q.sort_by];
  return [{ [column]: q.sort_order } as QueryOrderMap<Debate>, { id: q.sort_order } as QueryOrderMap<Debate>];
}
