import {
  CommissionSchema,
  DebateSchema,
  PLUGIN_API_VERSION,
  commissionView,
  debateFilter,
  debateListQuery,
  debateOrder,
  debateView,
  definePlugin,
  dialectOfConfig,
  loadDebatePage,
  loadDebateViews,
  openSessionPool,
  deputyView,
  slugify,
  z,
  type Commission,
  type DebateListQuery,
  type Dialect,
  type EntityManager,
} from '@robian/core';
import { runSearch, SEARCH_PLANNER_SETTINGS, SEARCH_SORTS, type SearchFilters } from './engine.ts';
import { SQLITE_UP, searchMigrations } from './migrations.ts';
import { resolveName } from './names.ts';
import { hasTerms, highlight, MAX_QUERY_LENGTH, parseQuery, termMatcher, toFts5Query, toTsQuery, type ParsedQuery } from './query.ts';

declare module '@robian/core' {
  interface RobianServices {
    /** Provided by @robian/plugin-search. */
    search: SearchService;
  }
}

export interface SearchService {
  /** Rebuilds the whole index from the tables (the triggers keep it in step; this is for repairs). Returns the number of debates indexed. */
  reindex(): Promise<number>;
  /** Debates in the tables and in the index (equal when in step). */
  status(): Promise<{ debates: number; indexed: number }>;
}

export const SEARCH_PLUGIN = 'search';

// --- schemas ---------------------------------------------------------------------------------------

const listShape = (debateListQuery as unknown as z.ZodObject<z.ZodRawShape>).shape as (typeof debateListQuery)['shape'];
const dateOrder = (q: { date_start?: Date | undefined; date_end?: Date | undefined }) => !q.date_start || !q.date_end || q.date_start <= q.date_end;
const dateOrderIssue = { message: 'date_start must not be after date_end', path: ['date_end'] };

export const searchQuery = z
  .object({
    ...listShape,
    q: z
      .string()
      .max(MAX_QUERY_LENGTH)
      .optional()
      .meta({
        description:
          'Words to find (accents and case ignored, French stemming). "a phrase" in quotes, -word to exclude, a OR b; the last word is a prefix while typing (no space after it). Empty: every debate matching the filters.',
        example: 'réforme des retraites',
      }),
    sort_by: z.enum(SEARCH_SORTS).default('relevance').meta({ description: 'relevance (then date) by default' }),
    prefix: z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .default(true)
      .meta({ type: 'boolean', description: 'Complete the last word as a prefix when no space follows it (as-you-type); false: match it as a whole word' }),
  })
  .refine(dateOrder, dateOrderIssue);

export type SearchQuery = z.output<typeof searchQuery>;

export const HIGHLIGHT_FIELDS = ['title', 'description', 'agenda_points', 'keywords', 'tags', 'commission', 'speakers'] as const;

export const searchHighlight = z
  .object({
    field: z.enum(HIGHLIGHT_FIELDS),
    snippet: z.string().meta({ description: 'HTML-escaped text with the matching words in <mark>…</mark>' }),
  })
  .meta({ id: 'SearchHighlight' });

export const searchHit = debateView
  .extend({
    score: z.number().nullable().meta({ description: 'Relevance (higher is better); null without search words' }),
    highlights: z.array(searchHighlight),
  })
  .meta({ id: 'SearchHit' });

const facetCommission = z
  .object({ id: z.number().int(), external_id: z.string(), name: z.string(), short_name: z.string().nullable(), slug: z.string(), count: z.number().int() })
  .meta({ id: 'SearchFacetCommission' });

export const searchResponse = z
  .object({
    debates: z.array(searchHit),
    total: z.number().int(),
    page: z.number().int(),
    per_page: z.number().int(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
    facets: z.object({
      commissions: z.array(facetCommission),
      types: z.array(z.object({ value: z.string(), count: z.number().int() })),
      years: z.array(z.object({ value: z.number().int(), count: z.number().int() })),
    }),
    query: z
      .object({
        q: z.string(),
        mode: z.enum(['fulltext', 'browse']).meta({ description: 'browse: no usable word, the filters alone apply' }),
        terms: z.array(z.string()).meta({ description: 'Required words (normalised)' }),
        phrases: z.array(z.string()),
        excluded: z.array(z.string()),
        prefix: z.string().nullable().meta({ description: 'The word completed as a prefix' }),
        ignored: z.array(z.string()).meta({ description: 'Words left out: stop words, words past the 32nd' }),
      })
      .meta({ id: 'SearchQueryInfo' }),
  })
  .meta({ id: 'SearchResults' });

const namedListQuery = z.object({
  page: listShape.page,
  per_page: listShape.per_page,
  q: z.string().trim().max(200).optional().meta({ description: 'Part of the name (accents and case ignored)' }),
  active: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .meta({ type: 'boolean' }),
  sort_by: z.enum(['name', 'debate_count']).default('name'),
  sort_order: z.enum(['asc', 'desc']).optional().meta({ description: 'asc for name, desc for debate_count by default' }),
});

const commissionItem = commissionView.extend({ active: z.boolean(), debate_count: z.number().int() }).meta({ id: 'CommissionListItem' });
const deputyItem = deputyView.extend({ active: z.boolean(), debate_count: z.number().int() }).meta({ id: 'DeputyListItem' });
const pageFields = { total: z.number().int(), page: z.number().int(), per_page: z.number().int(), has_next: z.boolean(), has_prev: z.boolean() };
const commissionList = z.object({ commissions: z.array(commissionItem), ...pageFields }).meta({ id: 'CommissionList' });
const deputyList = z.object({ deputes: z.array(deputyItem), ...pageFields }).meta({ id: 'DeputyList' });
const debatesOfCommission = z.object({ commission: commissionItem, debates: z.array(debateView), ...pageFields }).meta({ id: 'CommissionDebates' });
const debatesOfDeputy = z.object({ depute: deputyItem, debates: z.array(debateView), ...pageFields }).meta({ id: 'DeputyDebates' });
const nameParams = z.object({
  name: z.string().min(1).max(255).meta({ description: "The parliament's uid, the slug, or the name itself (case and accents ignored)" }),
});
const notFoundWithSuggestions = {
  description: 'No such name; `suggestions` lists the closest ones',
  contentType: 'application/problem+json',
  schema: z
    .object({
      type: z.string(),
      title: z.string(),
      status: z.number().int(),
      detail: z.string().optional(),
      request_id: z.string().optional(),
      suggestions: z.array(z.object({ id: z.number(), external_id: z.string(), name: z.string(), slug: z.string(), href: z.string() })),
    })
    .meta({ id: 'NameNotFound' }),
};

// --- helpers ---------------------------------------------------------------------------------------

function stableKey(value: Record<string, unknown>): string {
  return Object.keys(value)
    .sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${k}=${value[k] instanceof Date ? (value[k] as Date).toISOString() : encodeURIComponent(String(value[k]))}`)
    .join('&');
}

function filtersOf(q: SearchFilters): SearchFilters {
  return { type: q.type, status: q.status, commission: q.commission, depute: q.depute, date_start: q.date_start, date_end: q.date_end, has_audio: q.has_audio };
}

function describeQuery(raw: string, parsed: ParsedQuery, ranked: boolean): z.output<typeof searchResponse>['query'] {
  const terms: string[] = [];
  const phrases: string[] = [];
  const excluded: string[] = [];
  let prefix: string | null = null;
  for (const c of parsed.clauses) {
    for (const it of c.items) {
      const text = it.kind === 'word' ? it.word.norm : it.words.map((w) => w.norm).join(' ');
      if (c.negated) excluded.push(text);
      else if (it.kind === 'phrase') phrases.push(text);
      else {
        terms.push(text);
        if (it.word.prefix) prefix = text;
      }
    }
  }
  return { q: raw, mode: ranked ? 'fulltext' : 'browse', terms, phrases, excluded, prefix, ignored: parsed.ignored };
}

function highlightsOf(view: z.output<typeof debateView>, parsed: ParsedQuery): z.output<typeof searchHighlight>[] {
  if (!hasTerms(parsed)) return [];
  const match = termMatcher(parsed);
  const out: z.output<typeof searchHighlight>[] = [];
  const add = (field: (typeof HIGHLIGHT_FIELDS)[number], text: string | null | undefined, maxLength = 0) => {
    if (!text) return;
    const snippet = highlight(text, match, maxLength);
    if (snippet) out.push({ field, snippet });
  };
  add('title', view.title);
  add('description', view.description, 240);
  for (const p of view.agenda_points.slice(0, 50)) if (out.filter((h) => h.field === 'agenda_points').length < 3) add('agenda_points', p, 240);
  for (const k of view.keywords) add('keywords', k);
  for (const t of view.tags) add('tags', t);
  if (view.commission) {
    add('commission', view.commission.name);
    if (!out.some((h) => h.field === 'commission')) add('commission', view.commission.short_name);
  }
  for (const s of view.speakers) add('speakers', s.full_name);
  return out;
}

async function commissionItems(em: EntityManager, ids: number[]): Promise<Map<number, Commission>> {
  if (ids.length === 0) return new Map();
  const rows = (await em.find(CommissionSchema, { id: { $in: ids } })) as Commission[];
  return new Map(rows.map((c) => [c.id, c]));
}

function pageOf(total: number, page: number, perPage: number, count: number) {
  const offset = (page - 1) * perPage;
  return { total, page, per_page: perPage, has_next: offset + count < total, has_prev: page > 1 };
}

async function reindexAll(em: EntityManager, dialect: Dialect): Promise<number> {
  const conn = em.getConnection();
  if (dialect === 'postgresql') {
    await conn.execute('select search_refresh(array(select id from debate))');
  } else {
    await em.transactional(async (tx) => {
      const c = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await c.execute('delete from search_debate_fts', [], 'run', ctx);
      await c.execute(SQLITE_REINDEX, [], 'run', ctx);
    });
  }
  const [row] = await conn.execute<{ n: number | string }[]>(dialect === 'postgresql' ? 'select count(*) as n from search_debate' : 'select count(*) as n from search_debate_fts');
  return Number(row?.n ?? 0);
}

/** The migration's last statement indexes every debate. */
const SQLITE_REINDEX = SQLITE_UP[SQLITE_UP.length - 1]!;

// --- the plugin ------------------------------------------------------------------------------------

export const searchPlugin = definePlugin({
  name: SEARCH_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'French full-text search over debates, facets, and the committee and deputy routes',
  migrations: searchMigrations,
  unmanagedSchema: { tables: [/^search_debate/], triggers: true, routines: true },
  async setup(ctx) {
    const dialect = dialectOfConfig(ctx.config);
    // PostgreSQL: search statements on connections of their own that start with the planner settings
    // they need (docs/decisions.md § Search 11)
    const pool = dialect === 'postgresql' ? await openSessionPool(ctx.config, { name: 'robian-search', settings: SEARCH_PLANNER_SETTINGS }) : undefined;
    if (pool) ctx.onStop(() => pool.close());
    const cache = ctx.cache.namespace('search', ctx.config.cacheTtl.search);
    const em = () => ctx.em;
    const duration = ctx.metrics.histogram({
      name: 'robian_search_duration_seconds',
      help: 'Time to answer GET /api/search (cache misses only)',
      labelNames: ['mode'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });

    const invalidate = async () => {
      await cache.invalidate();
    };
    ctx.events.on('debate.created', invalidate);
    ctx.events.on('debate.updated', invalidate);
    ctx.events.on('debate.deleted', invalidate);
    ctx.events.on('import.completed', invalidate);

    const service: SearchService = {
      async reindex() {
        const n = await reindexAll(ctx.orm.em.fork() as unknown as EntityManager, dialect);
        await invalidate();
        return n;
      },
      async status() {
        const conn = (ctx.orm.em.fork() as unknown as EntityManager).getConnection();
        const [row] = await conn.execute<{ debates: number | string; indexed: number | string }[]>(
          `select (select count(*) from debate) as debates, (select count(*) from ${dialect === 'postgresql' ? 'search_debate' : 'search_debate_fts'}) as indexed`,
        );
        return { debates: Number(row?.debates ?? 0), indexed: Number(row?.indexed ?? 0) };
      },
    };
    ctx.services.provide('search', service);

    ctx.router.route({
      method: 'get',
      path: '/api/search',
      operationId: 'searchDebates',
      summary: 'Full-text search over debates, with filters, highlights and facets',
      description:
        'Searches titles, descriptions, agenda points, keywords, tags, committee names and speakers. Accents and case are ignored and French words are stemmed ("retraites" finds "retraite"). Filters and pagination are those of /api/debats/. Facets count the whole result set by committee, type and year.',
      tags: ['search'],
      query: searchQuery,
      responses: { 200: { description: 'A page of hits', schema: searchResponse } },
      handler: async (_koa, { query }) => {
        const raw = query.q ?? '';
        const parsed = parseQuery(raw, { prefix: query.prefix });
        const ranked = hasTerms(parsed);
        // the compiled query (not the raw text) is the cache key: "Réforme" and "reforme " share an entry
        const compiled = ranked ? (dialect === 'postgresql' ? toTsQuery(parsed) : toFts5Query(parsed)) : '';
        const { q: _q, prefix: _p, ...rest } = query;
        const key = `search:${stableKey({ ...rest, compiled } as Record<string, unknown>)}`;
        const body = await cache.wrap(key, async () => {
          const stop = duration.startTimer({ mode: ranked ? 'fulltext' : 'browse' });
          const manager = em();
          const result = await runSearch(manager, dialect, {
            query: parsed,
            filters: filtersOf(query),
            page: query.page,
            perPage: query.per_page,
            sortBy: query.sort_by,
            sortOrder: query.sort_order,
          }, pool);
          // the page's debates and the facet's committees at once (the committees on a fork: an
          // entity manager runs one query at a time)
          const [views, commissions] = await Promise.all([
            // plain queries, no entity hydration: 3 ms less per page of 20 (docs/performance.md)
            loadDebateViews(
              manager,
              result.hits.map((h) => h.id),
            ),
            commissionItems(
              manager.fork() as unknown as EntityManager,
              result.facets.commissions.map((f) => f.value),
            ),
          ]);
          const debates = result.hits
            .filter((h) => views.has(h.id))
            .map((h) => {
              const view = views.get(h.id)!;
              return { ...view, score: h.score, highlights: highlightsOf(view, parsed) };
            });
          stop();
          return {
            debates,
            ...pageOf(result.total, query.page, query.per_page, debates.length),
            facets: {
              commissions: result.facets.commissions
                .filter((f) => commissions.has(f.value))
                .map((f) => {
                  const c = commissions.get(f.value)!;
                  return { id: c.id, external_id: c.externalId, name: c.name, short_name: c.shortName ?? null, slug: c.slug, count: f.count };
                }),
              types: result.facets.types,
              years: result.facets.years,
            },
          };
        });
        // the cached body may have been computed for an equivalent spelling: describe this request's own
        return { ...body, query: describeQuery(raw, parsed, ranked) };
      },
    });

    // --- committees and deputies ---------------------------------------------------------------------

    const listNamed = async (kind: 'commission' | 'deputy', query: z.output<typeof namedListQuery>) => {
      const conn = em().getConnection();
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
    };

    const commissionRow = (r: Record<string, unknown>) => ({
      id: Number(r.id),
      external_id: String(r.external_id),
      name: String(r.name),
      short_name: (r.short_name as string | null) ?? null,
      slug: String(r.slug),
      kind: (r.kind as string | null) ?? null,
      active: r.active === true || r.active === 1 || r.active === '1',
      debate_count: Number(r.debate_count ?? 0),
    });
    const deputyRow = (r: Record<string, unknown>) => ({
      id: Number(r.id),
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

    ctx.router.route({
      method: 'get',
      path: '/api/commissions/',
      operationId: 'listCommissions',
      summary: 'Committees, with their number of debates',
      tags: ['search'],
      query: namedListQuery,
      responses: { 200: { description: 'A page of committees', schema: commissionList } },
      handler: async (_koa, { query }) =>
        cache.wrap(`commissions:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { rows, total } = await listNamed('commission', query);
          return { commissions: rows.map(commissionRow), ...pageOf(total, query.page, query.per_page, rows.length) };
        }),
    });

    ctx.router.route({
      method: 'get',
      path: '/api/deputes/',
      operationId: 'listDeputies',
      summary: 'Deputies, with the number of debates they spoke in',
      tags: ['search'],
      query: namedListQuery,
      responses: { 200: { description: 'A page of deputies', schema: deputyList } },
      handler: async (_koa, { query }) =>
        cache.wrap(`deputes:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { rows, total } = await listNamed('deputy', query);
          return { deputes: rows.map(deputyRow), ...pageOf(total, query.page, query.per_page, rows.length) };
        }),
    });

    const debatesOf = async (kind: 'commission' | 'deputy', name: string, query: DebateListQuery) => {
      const manager = em();
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
    };

    ctx.router.route({
      method: 'get',
      path: '/api/commissions/{name}/debats',
      operationId: 'listCommissionDebates',
      summary: "A committee's debates (filters and pagination of /api/debats/)",
      tags: ['search'],
      params: nameParams,
      query: debateListQuery,
      responses: { 200: { description: 'The committee and a page of its debates', schema: debatesOfCommission }, 404: notFoundWithSuggestions },
      handler: async (_koa, { params, query }) =>
        cache.wrap(`commission:${encodeURIComponent(params.name)}:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { row, ...rest } = await debatesOf('commission', params.name, query);
          return { commission: commissionRow(row), ...rest };
        }),
    });

    ctx.router.route({
      method: 'get',
      path: '/api/deputes/{name}/debats',
      operationId: 'listDeputyDebates',
      summary: 'The debates a deputy spoke in (filters and pagination of /api/debats/)',
      tags: ['search'],
      params: nameParams,
      query: debateListQuery,
      responses: { 200: { description: 'The deputy and a page of debates', schema: debatesOfDeputy }, 404: notFoundWithSuggestions },
      handler: async (_koa, { params, query }) =>
        cache.wrap(`depute:${encodeURIComponent(params.name)}:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { row, ...rest } = await debatesOf('deputy', params.name, query);
          return { depute: deputyRow(row), ...rest };
        }),
    });
  },

  async health(ctx) {
    const status = await ctx.services.get('search').status();
    return { status: status.debates === status.indexed ? 'ok' : 'degraded', ...status };
  },
});
