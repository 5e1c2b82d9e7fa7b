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

/** `from … where …` selecting the matching debates as `d`, and the score expression. */
function source(request: SearchRequest, dialect: Dialect, filter: Sql | undefined): { from: string; params: unknown[]; score: string } {
  const params: unknown[] = [];
  let from: string;
  let score: string;
  if (!hasTerms(request.query)) {
    from = 'from debate d where 1 = 1';
    score = 'null';
  } else if (dialect === 'postgresql') {
    from = "from (select to_tsquery('french', ?) as tsq) q join search_debate s on s.document @@ q.tsq join debate d on d.id = s.debate_id where 1 = 1";
    params.push(toTsQuery(request.query));
    score = 'ts_rank(s.document, q.tsq)';
  } else {
    from = 'from search_debate_fts join debate d on d.id = search_debate_fts.rowid where search_debate_fts match ?';
    params.push(toFts5Query(request.query));
    // bm25: lower is better; weights per column: title, agenda/keywords/tags, names, description
    score = '(-bm25(search_debate_fts, 10.0, 4.0, 3.0, 1.0))';
  }
  if (filter) {
    from += ` and d.id in (${filter.sql})`;
    params.push(...filter.params);
  }
  return { from, params, score };
}

function yearExpression(dialect: Dialect): string {
  return dialect === 'postgresql'
    ? "cast(extract(year from d.date at time zone 'UTC') as int)"
    : "cast(case when typeof(d.date) = 'integer' then strftime('%Y', d.date / 1000, 'unixepoch') else substr(d.date, 1, 4) end as integer)";
}

/** Runs a search: one query for the page, one for the facets (whose type counts add up to the total). */
export async function runSearch(em: EntityManager, dialect: Dialect, request: SearchRequest): Promise<SearchPage> {
  const conn = em.getConnection();
  const filter = filterSubquery(em, request.filters, dialect);
  const { from, params, score } = source(request, dialect, filter);
  const ranked = hasTerms(request.query);
  const dir = request.sortOrder === 'asc' ? 'asc' : 'desc';
  let order: string;
  if (request.sortBy === 'relevance') order = ranked ? 'score desc, d.date desc, d.id desc' : 'd.date desc, d.id desc';
  else order = `${SORT_COLUMNS[request.sortBy]} ${dir}${ranked ? ', score desc' : ''}, d.id ${dir}`;
  const offset = (request.page - 1) * request.perPage;
  const pageSql = `select d.id as id, ${score} as score ${from} order by ${order} limit ? offset ?`;
  const rows = await conn.execute<{ id: number; score: number | string | null }[]>(pageSql, [...params, request.perPage, offset]);

  const facetSql = [
    `with hits as materialized (select d.id as id, d.commission_id as commission_id, d.type as type, ${yearExpression(dialect)} as year ${from})`,
    "select 'commission' as facet, commission_id as num, null as str, count(*) as n from hits where commission_id is not null group by commission_id",
    "union all select 'type' as facet, null as num, type as str, count(*) as n from hits group by type",
    "union all select 'year' as facet, year as num, null as str, count(*) as n from hits group by year",
  ].join(' ');
  const facetRows = await conn.execute<{ facet: string; num: number | string | null; str: string | null; n: number | string }[]>(facetSql, params);
  const facets: SearchPage['facets'] = { commissions: [], types: [], years: [] };
  let total = 0;
  for (const r of facetRows) {
    const count = Number(r.n);
    if (r.facet === 'commission') facets.commissions.push({ value: Number(r.num), count });
    else if (r.facet === 'type') {
      facets.types.push({ value: String(r.str), count });
      total += count;
    } else if (r.num !== null) facets.years.push({ value: Number(r.num), count });
  }
  const byCount = <T>(a: FacetCount<T>, b: FacetCount<T>) => b.count - a.count || String(a.value).localeCompare(String(b.value));
  facets.commissions.sort(byCount);
  facets.types.sort(byCount);
  facets.years.sort((a, b) => b.value - a.value);
  return {
    hits: rows.map((r) => ({ id: Number(r.id), score: r.score === null || r.score === undefined ? null : Math.round(Number(r.score) * 1e6) / 1e6 })),
    total,
    facets,
  };
}
