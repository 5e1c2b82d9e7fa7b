import { cacheKeyOf, debateFilter, debateListQuery, debateOrder, loadDebatePage, slugify, type DebateListQuery, type z } from '@robian/core';
import { resolveName, type NameKind } from './names.ts';
import type { SearchIndex } from './search-index.ts';
import { commissionList, debatesOfCommission, debatesOfDeputy, deputyList, nameParams, namedListQuery, notFoundWithSuggestions, pageOf } from './wire.ts';

/** A committee of a list, with its number of debates. */
export const commissionRow = (r: Record<string, unknown>) => ({
  id: String(r.id),
  external_id: String(r.external_id),
  name: String(r.name),
  short_name: (r.short_name as string | null) ?? null,
  slug: String(r.slug),
  kind: (r.kind as string | null) ?? null,
  active: r.active === true || r.active === 1 || r.active === '1',
  debate_count: Number(r.debate_count ?? 0),
});

/** A deputy of a list, with the number of debates they spoke in. */
export const deputyRow = (r: Record<string, unknown>) => ({
  id: String(r.id),
  external_id: String(r.external_id),
  full_name: String(r.full_name),
  first_name: String(r.first_name),
  last_name: String(r.last_name),
  slug: String(r.slug),
  political_group: (r.political_group as string | null) ?? null,
  political_group_short: (r.political_group_short as string | null) ?? null,
  active: r.active === true || r.active === 1 || r.active === '1',
  debate_count: Number(r.debate_count ?? 0),
});

interface RouteText {
  operationId: string;
  summary: string;
  description: string;
  schema: z.ZodType;
}

/** What differs between the committee routes and the deputy routes. */
const ROUTES: { kind: NameKind; segment: string; one: string; row: (r: Record<string, unknown>) => Record<string, unknown>; list: RouteText; debates: RouteText }[] = [
  {
    kind: 'commission',
    segment: 'commissions',
    one: 'commission',
    row: commissionRow,
    list: { operationId: 'listCommissions', summary: 'Committees, with their number of debates', description: 'A page of committees', schema: commissionList },
    debates: {
      operationId: 'listCommissionDebates',
      summary: "A committee's debates (filters and pagination of /api/debats/)",
      description: 'The committee and a page of its debates',
      schema: debatesOfCommission,
    },
  },
  {
    kind: 'deputy',
    segment: 'deputes',
    one: 'depute',
    row: deputyRow,
    list: { operationId: 'listDeputies', summary: 'Deputies, with the number of debates they spoke in', description: 'A page of deputies', schema: deputyList },
    debates: {
      operationId: 'listDeputyDebates',
      summary: 'The debates a deputy spoke in (filters and pagination of /api/debats/)',
      description: 'The deputy and a page of debates',
      schema: debatesOfDeputy,
    },
  },
];

/**
 * Committees and deputies: `GET /api/commissions/`, `/api/commissions/{name}/debats`,
 * `/api/deputes/` and `/api/deputes/{name}/debats` — one set of queries, two kinds of names.
 */
export class Directory {
  readonly index: SearchIndex;

  constructor(index: SearchIndex) {
    this.index = index;
  }

  register(): void {
    const { ctx, cache } = this.index;
    for (const r of ROUTES) {
      ctx.router.route({
        method: 'get',
        path: `/api/${r.segment}/`,
        operationId: r.list.operationId,
        summary: r.list.summary,
        tags: ['search'],
        query: namedListQuery,
        responses: { 200: { description: r.list.description, schema: r.list.schema } },
        handler: async (_koa, { query }) =>
          cache.wrapJson(`${r.segment}:${cacheKeyOf(query as Record<string, unknown>)}`, async () => {
            const { rows, total } = await this.list(r.kind, query);
            return { [r.segment]: rows.map(r.row), ...pageOf(total, query.page, query.per_page, rows.length) };
          }),
      });
    }
    for (const r of ROUTES) {
      ctx.router.route({
        method: 'get',
        path: `/api/${r.segment}/{name}/debats`,
        operationId: r.debates.operationId,
        summary: r.debates.summary,
        tags: ['search'],
        params: nameParams,
        query: debateListQuery,
        responses: { 200: { description: r.debates.description, schema: r.debates.schema }, 404: notFoundWithSuggestions },
        handler: async (_koa, { params, query }) =>
          cache.wrapJson(`${r.one}:${encodeURIComponent(params.name)}:${cacheKeyOf(query as Record<string, unknown>)}`, async () => {
            const { row, ...rest } = await this.debatesOf(r.kind, params.name, query);
            return { [r.one]: r.row(row), ...rest };
          }),
      });
    }
  }

  async list(kind: NameKind, query: z.output<typeof namedListQuery>) {
    const { dialect } = this.index;
    const conn = this.index.em().getConnection();
    const table = kind === 'commission' ? 'commission' : 'deputy';
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.q) {
      const slug = slugify(query.q);
      const like = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const nameColumn = kind === 'commission' ? 'name' : 'full_name';
      const parts = [`lower(t.${nameColumn}) like ? escape '\\'`];
      params.push(like(query.q.toLowerCase()));
      if (slug) {
        parts.push(`t.slug like ? escape '\\'`);
        params.push(like(slug));
      }
      if (kind === 'commission') {
        parts.push(`lower(coalesce(t.short_name, '')) like ? escape '\\'`);
        params.push(like(query.q.toLowerCase()));
      }
      where.push(`(${parts.join(' or ')})`);
    }
    if (query.active !== undefined) {
      where.push('t.active = ?');
      params.push(dialect === 'sqlite' ? (query.active ? 1 : 0) : query.active);
    }
    const whereSql = where.length ? `where ${where.join(' and ')}` : '';
    const count =
      kind === 'commission'
        ? '(select count(*) from debate d where d.commission_id = t.id)'
        : '(select count(*) from debate_speaker ds where ds.deputy_id = t.id)';
    const nameOrder = kind === 'commission' ? 'lower(t.name)' : 'lower(t.last_name), lower(t.first_name)';
    const dir = query.sort_order ?? (query.sort_by === 'name' ? 'asc' : 'desc');
    const order = query.sort_by === 'name' ? `${nameOrder.split(', ').map((c) => `${c} ${dir}`).join(', ')}, t.id ${dir}` : `debate_count ${dir}, ${nameOrder}, t.id`;
    const offset = (query.page - 1) * query.per_page;
    const rows = await conn.execute<Record<string, unknown>[]>(`select t.*, ${count} as debate_count from ${table} t ${whereSql} order by ${order} limit ? offset ?`, [
      ...params,
      query.per_page,
      offset,
    ]);
    const [totalRow] = await conn.execute<{ n: number | string }[]>(`select count(*) as n from ${table} t ${whereSql}`, params);
    return { rows, total: Number(totalRow?.n ?? 0), offset };
  }

  async debatesOf(kind: NameKind, name: string, query: DebateListQuery) {
    const { dialect } = this.index;
    const manager = this.index.em();
    const id = await resolveName(manager, dialect, kind, name);
    const conn = manager.getConnection();
    const [row] =
      kind === 'commission'
        ? await conn.execute<Record<string, unknown>[]>('select t.*, (select count(*) from debate d where d.commission_id = t.id) as debate_count from commission t where t.id = ?', [id])
        : await conn.execute<Record<string, unknown>[]>('select t.*, (select count(*) from debate_speaker ds where ds.deputy_id = t.id) as debate_count from deputy t where t.id = ?', [id]);
    const own = kind === 'commission' ? { commission: id } : { speakers: { $some: { id } } };
    // (`dialect` is read by the core versions whose text filter differs per database)
    const base = debateFilter({ ...query, ...(kind === 'commission' ? { commission: undefined } : { depute: undefined }) }, { dialect } as never);
    const where = Object.keys(base).length ? { $and: [base, own] } : own;
    const offset = (query.page - 1) * query.per_page;
    const { total, debates } = await loadDebatePage(manager, where as never, { orderBy: debateOrder(query), limit: query.per_page, offset });
    return { row: row!, debates, ...pageOf(total, query.page, query.per_page, debates.length) };
  }
}
