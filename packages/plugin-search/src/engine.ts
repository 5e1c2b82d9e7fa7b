import { DebateSchema, debateFilter, type DebateListQuery, type Dialect, type EntityManager } from '@robian/core';
import { hasTerms, toFts5Query, toTsQuery, type ParsedQuery } from './query.ts';

/** The filters of `/api/debats/` that a search narrows to. */
export type SearchFilters = Pick<Partial<DebateListQuery>, 'type' | 'status' | 'commission' | 'depute' | 'date_start' | 'date_end' | 'has_audio'>;

export const SEARCH_SORTS = ['relevance', 'date', 'title', 'created_at', 'updated_at', 'view_count', 'duration_minutes'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

export interface SearchRequest {
  query: ParsedQuery;
  filters: SearchFilters;
  page: number;
  perPage: number;
  sortBy: SearchSort;
  sortOrder: 'asc' | 'desc';
}

export interface FacetCount<T> {
  value: T;
  count: number;
}

export interface SearchPage {
  /** Debate ids of the page, best first, with their score (null when there is no text to rank by). */
  hits: { id: number; score: number | null }[];
  total: number;
  facets: {
    commissions: FacetCount<number>[];
    types: FacetCount<string>[];
    years: FacetCount<number>[];
  };
}

const SORT_COLUMNS: Record<Exclude<SearchSort, 'relevance'>, string> = {
  date: 'd.date',
  title: 'd.title',
  created_at: 'd.created_at',
  updated_at: 'd.updated_at',
  view_count: 'd.view_count',
  duration_minutes: 'd.duration_minutes',
};

interface Sql {
  sql: string;
  params: unknown[];
}

/** A value as the driver binds it (better-sqlite3 takes neither Date nor boolean). */
function bindable(value: unknown, dialect: Dialect): unknown {
  if (dialect === 'sqlite') {
    if (value instanceof Date) return value.getTime();
    if (typeof value === 'boolean') return value ? 1 : 0;
  }
  return value;
}

/**
 * The filters of `/api/debats/` (core's `debateFilter`, so both routes filter alike), compiled by
 * MikroORM's query builder into `select d.id from debate d …`, used as a sub-query.
 */
export function filterSubquery(em: EntityManager, filters: SearchFilters, dialect: Dialect): Sql | undefined {
  const where = debateFilter(filters, { includeText: false });
  if (Object.keys(where).length === 0) return undefined;
  const { sql, params } = em.createQueryBuilder(DebateSchema, 'd').select('d.id').where(where as never).toQuery();
  return { sql, params: params.map((p) => bindable(p, dialect)) };
}

interface Source {
  /** `from … where …` of the matching debates. */
  from: string;
  params: unknown[];
  /** Expressions over it: the debate id, the score, and the columns facets and the date order read. */
  id: string;
  score: string;
  date: string;
  type: string;
  commission: string;
}

/**
 * The matching debates. On PostgreSQL the narrow `search_debate` table holds the document and a copy of
 * date, type and committee, so a search reads only it (and `debate` when sorted by another column).
 */
function source(request: SearchRequest, dialect: Dialect, filter: Sql | undefined): Source {
  const params: unknown[] = [];
  let src: Source;
  if (!hasTerms(request.query)) {
    src = { from: 'from debate d where 1 = 1', params, id: 'd.id', score: 'null', date: 'd.date', type: 'd.type', commission: 'd.commission_id' };
  } else if (dialect === 'postgresql') {
    const joinDebate = request.sortBy !== 'relevance' && request.sortBy !== 'date';
    src = {
      from: `from search_debate s${joinDebate ? ' join debate d on d.id = s.debate_id' : ''} where s.document @@ to_tsquery('french', ?)`,
      params,
      id: 's.debate_id',
      score: "ts_rank(s.document, to_tsquery('french', ?))",
      date: 's.date',
      type: 's.type',
      commission: 's.commission_id',
    };
  } else {
    src = {
      from: 'from search_debate_fts join debate d on d.id = search_debate_fts.rowid where search_debate_fts match ?',
      params,
      id: 'd.id',
      // bm25: lower is better; weights per column: title, agenda/keywords/tags, names, description
      score: '(-bm25(search_debate_fts, 10.0, 4.0, 3.0, 1.0))',
      date: 'd.date',
      type: 'd.type',
      commission: 'd.commission_id',
    };
  }
  if (filter) {
    // a correlated EXISTS: SQLite then probes the filter per hit by primary key (33 ms → 2.5 ms for a
    // typical query with type and date filters on 100,000 debates); PostgreSQL plans it as a semi-join
    // either way
    src.from += ` and exists (select 1 from (${filter.sql}) as search_filter where search_filter.id = ${src.id})`;
  }
  return src;
}

function yearExpression(dialect: Dialect, column: string): string {
  return dialect === 'postgresql'
    ? `cast(extract(year from ${column} at time zone 'UTC') as int)`
    : `cast(case when typeof(${column}) = 'integer' then strftime('%Y', ${column} / 1000, 'unixepoch') else substr(${column}, 1, 4) end as integer)`;
}

/**
 * PostgreSQL settings for one search statement, local to its transaction. `random_page_cost`: the
 * index and the narrow table are in memory, and at the default (4, for spinning disks) the planner
 * reads all 100,000 documents sequentially for a prefix that matches 6,000 of them (41 ms) instead of
 * the GIN bitmap (10 ms). `jit`: never worth its compile time on statements that take milliseconds
 * (these stay under `jit_above_cost` at 100,000 debates; this keeps a larger corpus from crossing it).
 */
const PLANNER_SETTINGS = "select set_config('random_page_cost', '1.1', true), set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)";

async function withPlannerSettings<T extends Record<string, unknown>[]>(em: EntityManager, sql: string, params: unknown[]): Promise<T> {
  return em.fork().transactional(async (tx) => {
    const c = tx.getConnection();
    const ctx = tx.getTransactionContext();
    await c.execute(PLANNER_SETTINGS, [], 'all', ctx);
    return c.execute<T>(sql, params, 'all', ctx);
  });
}

/**
 * Runs a search. PostgreSQL: the page (ranked) and the facets (which give the total) as two statements
 * run at once. SQLite: one statement, the matching debates gathered once (a materialised CTE with their
 * score, date, type and committee), then the page and the three facets read from it. The type facet's
 * counts add up to the total.
 */
export async function runSearch(em: EntityManager, dialect: Dialect, request: SearchRequest): Promise<SearchPage> {
  const filter = filterSubquery(em, request.filters, dialect);
  const src = source(request, dialect, filter);
  const ranked = hasTerms(request.query);
  const compiled = ranked ? (dialect === 'postgresql' ? toTsQuery(request.query) : toFts5Query(request.query)) : undefined;
  const dir = request.sortOrder === 'asc' ? 'asc' : 'desc';
  const sortColumn = request.sortBy === 'relevance' ? undefined : request.sortBy === 'date' ? src.date : SORT_COLUMNS[request.sortBy];
  let order: string;
  if (!sortColumn) order = ranked ? 'score desc, date desc, id desc' : 'date desc, id desc';
  else order = `sort_key ${dir}${ranked ? ', score desc' : ''}, id ${dir}`;
  const offset = (request.page - 1) * request.perPage;
  const float = dialect === 'postgresql' ? 'float8' : 'real';
  const hits: SearchPage['hits'] = [];
  const facets: SearchPage['facets'] = { commissions: [], types: [], years: [] };
  let total = 0;
  const addFacet = (facet: string, num: number | string | null, str: string | null, n: number | string | null) => {
    const count = Number(n);
    if (facet === 'commission') facets.commissions.push({ value: Number(num), count });
    else if (facet === 'type') {
      facets.types.push({ value: String(str), count });
      total += count;
    } else if (num !== null) facets.years.push({ value: Number(num), count });
  };
  const score = (n: number | string | null | undefined) => (n === null || n === undefined ? null : Math.round(Number(n) * 1e6) / 1e6);
  const filterParams = filter ? filter.params : [];
  if (dialect === 'postgresql') {
    // Two statements, run at once on two pooled connections. The page ranks every hit (the order must
    // stay exact) but reads nothing else; the facets group the hits once (grouping sets) and never
    // compute a score. One statement gathering both spilled the hits to a temporary file and computed
    // ts_rank for rows the facets alone needed (see docs/decisions.md, Search).
    const pageSql = `select ${src.id} as id, cast(${src.score} as float8) as score, ${src.date} as date${sortColumn ? `, ${sortColumn} as sort_key` : ''} ${src.from} order by ${order} limit ? offset ?`;
    const pageParams = [...(compiled !== undefined ? [compiled, compiled] : []), ...filterParams, request.perPage, offset];
    const year = yearExpression(dialect, src.date);
    const facetSql = `select case when grouping(${src.commission}) = 0 then 'commission' when grouping(${src.type}) = 0 then 'type' else 'year' end as facet, coalesce(${src.commission}, ${year}) as num, ${src.type} as str, count(*) as n ${src.from} group by grouping sets ((${src.commission}), (${src.type}), (${year}))`;
    const facetParams = [...(compiled !== undefined ? [compiled] : []), ...filterParams];
    const [pageRows, facetRows] = await Promise.all([
      withPlannerSettings<{ id: number; score: number | string | null }[]>(em, pageSql, pageParams),
      withPlannerSettings<{ facet: string; num: number | string | null; str: string | null; n: number | string }[]>(em, facetSql, facetParams),
    ]);
    for (const r of pageRows) hits.push({ id: Number(r.id), score: score(r.score) });
    for (const r of facetRows) {
      // grouping by committee yields a row for the debates without one: the facet leaves them out
      if (r.facet === 'commission' && r.num === null) continue;
      addFacet(r.facet, r.num, r.facet === 'type' ? r.str : null, r.n);
    }
  } else {
    const sql = [
      `with hits as materialized (select ${src.id} as id, ${src.score} as score, ${src.date} as date, ${src.type} as type, ${src.commission} as commission_id${
        sortColumn ? `, ${sortColumn} as sort_key` : ''
      } ${src.from})`,
      `select * from (select 'hit' as facet, id as num, null as str, cast(score as ${float}) as n from hits order by ${order} limit ? offset ?) as page`,
      `union all select 'commission' as facet, commission_id as num, null as str, cast(count(*) as ${float}) as n from hits where commission_id is not null group by commission_id`,
      `union all select 'type' as facet, null as num, type as str, cast(count(*) as ${float}) as n from hits group by type`,
      `union all select 'year' as facet, ${yearExpression(dialect, 'date')} as num, null as str, cast(count(*) as ${float}) as n from hits group by 2`,
    ].join(' ');
    // parameters in the order they appear: the match's query, the filters, the page
    const params: unknown[] = [...(compiled !== undefined ? [compiled] : []), ...filterParams, request.perPage, offset];
    const rows = await em.getConnection().execute<{ facet: string; num: number | string | null; str: string | null; n: number | string | null }[]>(sql, params);
    for (const r of rows) {
      if (r.facet === 'hit') hits.push({ id: Number(r.num), score: score(r.n) });
      else addFacet(r.facet, r.num, r.str, r.n);
    }
  }
  const byCount = <T>(a: FacetCount<T>, b: FacetCount<T>) => b.count - a.count || String(a.value).localeCompare(String(b.value));
  facets.commissions.sort(byCount);
  facets.types.sort(byCount);
  facets.years.sort((a, b) => b.value - a.value);
  return { hits, total, facets };
}
