import { raw, type EntityMetadata, type FilterQuery, type QueryOrderMap } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { AudioFileSchema, CommissionSchema, DebateSchema, DeputySchema, type AudioFile, type Commission, type Debate, type Deputy } from './entities.ts';
import type { ResolvedNames } from './named.ts';
import { slugify, type DebateListQuery } from './wire.ts';
import { debateViewOf, type DebateFields, type DebateView } from './views.ts';

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
export function debateFilter(q: Partial<DebateListQuery>, options: { includeText?: boolean; dialect?: 'sqlite' | 'postgresql'; names?: ResolvedNames } = {}): FilterQuery<Debate> {
  const and: Record<string, unknown>[] = [];
  if (q.q && (options.includeText ?? true)) {
    // a plain substring test, the same on SQLite and PostgreSQL, with no wildcard to escape
    // (plugin-search does the real full-text search)
    const needle = q.q.toLowerCase();
    const position = options.dialect === 'postgresql' ? 'strpos' : 'instr';
    and.push({
      $or: [
        { [raw((alias: string) => `${position}(lower(${alias}.title), ?)`, [needle])]: { $gt: 0 } },
        { [raw((alias: string) => `${position}(lower(coalesce(${alias}.description, '')), ?)`, [needle])]: { $gt: 0 } },
      ],
    });
  }
  if (q.type) and.push({ type: q.type });
  if (q.status) and.push({ status: q.status });
  // `names`: resolved by resolveListNames (the resolution of /api/commissions/{name}/…); 0 matches nothing
  const names = options.names ?? {};
  if (q.commission) and.push({ commission: names.commission !== undefined ? (names.commission ?? 0) : commissionMatch(q.commission) });
  if (q.depute) and.push({ speakers: { $some: names.depute !== undefined ? (names.depute ?? 0) : deputyMatch(q.depute) } });
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
  // empty values last in both directions, on both databases; only duration can be empty, and the
  // other columns keep a plain order that their indexes serve
  const direction = column === 'durationMinutes' ? `${q.sort_order} nulls last` : q.sort_order;
  return [{ [column]: direction } as QueryOrderMap<Debate>, { id: q.sort_order } as QueryOrderMap<Debate>];
}

/**
 * Rows of a table as plain objects keyed by property name, with the values the entities would hold
 * (dates, booleans, JSON): MikroORM's own result mapper, then each property's custom type.
 */
function plainRows<T>(em: EntityManager, meta: EntityMetadata, rows: Record<string, unknown>[]): T[] {
  const driver = em.getDriver();
  const platform = em.getPlatform();
  const converted = meta.props.filter((p) => p.customType && p.fieldNames?.length === 1);
  return rows.map((row) => {
    const out = driver.mapResult(row as never, meta) as Record<string, unknown>;
    for (const prop of converted) {
      const value = out[prop.name];
      if (value !== null && value !== undefined) out[prop.name] = prop.customType!.convertToJSValue(value, platform);
    }
    return out as T;
  });
}

/**
 * Debates by id as their wire views, read with four plain queries run at once (the debates, their
 * committees, speakers and audio files) and no entity hydration: a page of 20 search hits costs
 * ~1.4 ms this way against ~4.6 ms through `em.find` with three populated relations (100,000
 * debates, PostgreSQL; docs/performance.md). The views are those of `toDebateView`.
 */
export async function loadDebateViews(em: EntityManager, ids: readonly number[]): Promise<Map<number, DebateView>> {
  const out = new Map<number, DebateView>();
  if (ids.length === 0) return out;
  const conn = em.getConnection();
  const metadata = em.getMetadata();
  const meta = (schema: { meta: { className: string } }) => metadata.get(schema.meta.className as never);
  const list = [...ids];
  const [debateRows, commissionRows, speakerRows, audioRows] = await Promise.all([
    conn.execute<Record<string, unknown>[]>('select * from debate where id in (?)', [list]),
    conn.execute<Record<string, unknown>[]>('select * from commission where id in (select commission_id from debate where id in (?))', [list]),
    conn.execute<Record<string, unknown>[]>(
      'select ds.debate_id as robian_debate_id, p.* from debate_speaker ds join deputy p on p.id = ds.deputy_id where ds.debate_id in (?)',
      [list],
    ),
    conn.execute<Record<string, unknown>[]>('select * from audio_file where debate_id in (?) order by id', [list]),
  ]);
  const commissions = new Map(plainRows<Commission>(em, meta(CommissionSchema), commissionRows).map((c) => [Number(c.id), c]));
  const speakers = new Map<number, Deputy[]>();
  const deputies = plainRows<Deputy>(em, meta(DeputySchema), speakerRows);
  const push = <T>(map: Map<number, T[]>, key: number, value: T) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  speakerRows.forEach((row, i) => push(speakers, Number(row.robian_debate_id), deputies[i]!));
  const audio = new Map<number, AudioFile[]>();
  for (const a of plainRows<AudioFile & { debate: unknown }>(em, meta(AudioFileSchema), audioRows)) {
    push(audio, Number(typeof a.debate === 'object' && a.debate !== null ? (a.debate as { id: number }).id : a.debate), a);
  }
  for (const d of plainRows<DebateFields & { commission?: unknown }>(em, meta(DebateSchema), debateRows)) {
    const commissionId = d.commission === null || d.commission === undefined ? null : Number(typeof d.commission === 'object' ? (d.commission as { id: number }).id : d.commission);
    const id = Number(d.id);
    out.set(
      id,
      debateViewOf({ ...d, commission: commissionId === null ? null : { id: commissionId } }, commissionId === null ? null : (commissions.get(commissionId) ?? null), speakers.get(id) ?? [], audio.get(id) ?? []),
    );
  }
  return out;
}

/**
 * One page of debates as wire views, with the total: the count and the page's ids at once (the ids on
 * a forked entity manager: one runs a query at a time), then `loadDebateViews`. What the catalogue's
 * list and the committee and deputy debate lists answer with.
 */
export async function loadDebatePage(
  em: EntityManager,
  where: FilterQuery<Debate>,
  page: { orderBy: QueryOrderMap<Debate>[]; limit: number; offset: number },
): Promise<{ total: number; debates: DebateView[] }> {
  const [total, rows] = await Promise.all([
    em.count(DebateSchema, where as never),
    em.fork().find(DebateSchema, where as never, { fields: ['id'] as never, orderBy: page.orderBy as never, limit: page.limit, offset: page.offset }),
  ]);
  const ids = (rows as { id: number }[]).map((d) => d.id);
  const views = await loadDebateViews(em, ids);
  return { total, debates: ids.map((id) => views.get(id)).filter((v) => v !== undefined) };
}
