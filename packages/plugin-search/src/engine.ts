import { DebateSchema, debateFilter, type DebateListQuery, type Dialect, type EntityManager, type SessionPool } from '@robian/core';
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
  /**
   * Matches counted, faceted and ranked exactly up to this many. A query matching more is ranked and
   * faceted over `exactLimit + 1` of them — on PostgreSQL the most recent (by date), on SQLite the
   * ones indexed last (by debate id) — and its total is that lower bound (`totalExact` false).
   * Absent: everything exact.
   */
  exactLimit?: number;
}

export interface FacetCount<T> {
  value: T;
  count: number;
}

/** A committee of the committee facet, read by the facet statement itself (no look-up after it). */
export interface FacetCommittee extends FacetCount<number> {
  externalId: string;
  name: string;
  shortName: string | null;
  slug: string;
}

export interface SearchPage {
  /** Debate ids of the page, best first, with their score (null when there is no text to rank by). */
  hits: { id: number; score: number | null }[];
  total: number;
  /** False: more matches than `exactLimit`; total, facets and ranking are those of the most recent ones. */
  totalExact: boolean;
  facets: {
    commissions: FacetCommittee[];
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

/**
 * The filters `search_debate` holds a copy of (type, date range), as conditions on its own columns:
 * core's `debateFilter` (so the end-of-day rule of `date_end` is the same), walked clause by clause.
 * Anything else it returns (a shape this does not know) leaves the filter to the sub-query.
 */
export function directFilter(filters: SearchFilters): { sql: string[]; params: unknown[] } | undefined {
  const direct: SearchFilters = {};
  if (filters.type !== undefined) direct.type = filters.type;
  if (filters.date_start !== undefined) direct.date_start = filters.date_start;
  if (filters.date_end !== undefined) direct.date_end = filters.date_end;
  const where = debateFilter(direct, { includeText: false }) as Record<string, unknown>;
  const clauses = (Array.isArray(where.$and) ? where.$and : Object.keys(where).length ? [where] : []) as Record<string, unknown>[];
  const sql: string[] = [];
  const params: unknown[] = [];
  const ops: Record<string, string> = { $gte: '>=', $gt: '>', $lt: '<', $lte: '<=' };
  for (const clause of clauses) {
    const keys = Object.keys(clause);
    if (keys.length !== 1) return undefined;
    const value = clause[keys[0]!];
    if (keys[0] === 'type' && typeof value === 'string') {
      sql.push('s.type = ?');
      params.push(value);
    } else if (keys[0] === 'date' && value && typeof value === 'object' && !(value instanceof Date)) {
      for (const [op, v] of Object.entries(value)) {
        if (!ops[op] || !(v instanceof Date)) return undefined;
        sql.push(`s.date ${ops[op]} ?`);
        params.push(v);
      }
    } else return undefined;
  }
  return { sql, params };
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
  year: string;
}

/**
 * The matching debates. On PostgreSQL the narrow `search_debate` table holds the document and a copy of
 * date, type and committee, so a search reads only it (and `debate` when sorted by another column).
 */
function source(request: SearchRequest, dialect: Dialect, em: EntityManager): Source {
  const params: unknown[] = [];
  let src: Source;
  let filters = request.filters;
  if (!hasTerms(request.query)) {
    src = { from: 'from debate d where 1 = 1', params, id: 'd.id', score: 'null', date: 'd.date', type: 'd.type', commission: 'd.commission_id', year: yearExpression(dialect, 'd.date') };
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
      year: 's.year',
    };
    // type and dates on search_debate's own columns: no look-up of the debate per match for them
    const direct = directFilter(filters);
    if (direct) {
      for (const c of direct.sql) src.from += ` and ${c}`;
      params.push(...direct.params);
      const { type: _t, date_start: _s, date_end: _e, ...rest } = filters;
      filters = rest;
    }
  } else {
    // sorted by relevance or date: the narrow copy of date, type and committee (search-0006), not
    // each match's wide debate row; by another column, the debate it is read from
    const narrow = request.sortBy === 'relevance' || request.sortBy === 'date';
    const [table, id] = narrow ? ['search_debate_facets', 'd.debate_id'] : ['debate', 'd.id'];
    src = {
      from: `from search_debate_fts join ${table} d on ${id} = search_debate_fts.rowid where search_debate_fts match ?`,
      params,
      id,
      // bm25: lower is better; weights per column: title, agenda/keywords/tags, names, description
      score: '(-bm25(search_debate_fts, 10.0, 4.0, 3.0, 1.0))',
      date: 'd.date',
      type: 'd.type',
      commission: 'd.commission_id',
      year: yearExpression(dialect, 'd.date'),
    };
  }
  const filter = filterSubquery(em, filters, dialect);
  if (filter) {
    // a correlated EXISTS: SQLite then probes the filter per hit by primary key (33 ms → 2.5 ms for a
    // typical query with type and date filters on 100,000 debates); PostgreSQL plans it as a semi-join
    // either way
    src.from += ` and exists (select 1 from (${filter.sql}) as search_filter where search_filter.id = ${src.id})`;
    params.push(...filter.params);
  }
  return src;
}

function yearExpression(dialect: Dialect, column: string): string {
  return dialect === 'postgresql'
    ? `cast(extract(year from ${column} at time zone 'UTC') as int)`
    : `cast(case when typeof(${column}) = 'integer' then strftime('%Y', ${column} / 1000, 'unixepoch') else substr(${column}, 1, 4) end as integer)`;
}

/**
 * PostgreSQL planner settings for the search statements. `random_page_cost`: the index and the
 * narrow table are in memory, and at the default (4, for spinning disks) the planner reads all
 * 100,000 documents sequentially for a prefix that matches 6,000 of them (41 ms) instead of the GIN
 * bitmap (10 ms). `jit`: never worth its compile time on statements that take milliseconds (these stay
 * under `jit_above_cost` at 100,000 debates; this keeps a larger corpus from crossing it). No parallel
 * workers: the page and the facets already run at once. The plugin opens its search connections
 * with these (`openSessionPool`); `runSearch` without such a pool sets them per transaction.
 */
export const SEARCH_PLANNER_SETTINGS: Record<string, string> = { random_page_cost: '1.1', jit: 'off', max_parallel_workers_per_gather: '0' };

async function withPlannerSettings<T extends Record<string, unknown>[]>(em: EntityManager, sql: string, params: unknown[]): Promise<T> {
  return em.fork().transactional(async (tx) => {
    const c = tx.getConnection();
    const ctx = tx.getTransactionContext();
    const names = Object.keys(SEARCH_PLANNER_SETTINGS);
    await c.execute(`select ${names.map(() => 'set_config(?, ?, true)').join(', ')}`, names.flatMap((k) => [k, SEARCH_PLANNER_SETTINGS[k]]), 'all', ctx);
    return c.execute<T>(sql, params, 'all', ctx);
  });
}

/**
 * Runs a search. PostgreSQL: the page (ranked) and the facets (which give the total) as two statements
 * run at once. SQLite: one statement, the matching debates gathered once (a materialised CTE with their
 * score, date, type and committee), then the page and the three facets read from it. The type facet's
 * counts add up to the total. `pool`: PostgreSQL connections opened with `SEARCH_PLANNER_SETTINGS`
 * (one round trip per statement instead of four).
 */
export async function runSearch(em: EntityManager, dialect: Dialect, request: SearchRequest, pool?: SessionPool): Promise<SearchPage> {
  const src = source(request, dialect, em);
  const ranked = hasTerms(request.query);
  const compiled = ranked ? (dialect === 'postgresql' ? toTsQuery(request.query) : toFts5Query(request.query)) : undefined;
  const match = compiled !== undefined ? [compiled] : [];
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
  let totalExact = true;
  const score = (n: number | string | null | undefined) => (n === null || n === undefined ? null : Math.round(Number(n) * 1e6) / 1e6);
  if (dialect === 'postgresql') {
    // Two statements, run at once on two pooled connections. The page ranks every match (the order must
    // stay exact) but reads nothing else; the facets group the matches once and never
    // compute a score. One statement gathering both spilled the hits to a temporary file and computed
    // ts_rank for rows the facets alone needed (see docs/decisions.md, Search).
    // Broad queries (issue #13): when PostgreSQL expects more than `exactLimit` matches, both
    // statements read the `exactLimit + 1` most recent matches only (the date index walked, matches
    // checked as it goes), so a query matching half the corpus ranks and groups a bounded set. The
    // others (nearly all) take the exact statements: bounded, they would still read every match
    // through the text index and then sort them all by date, 1.5–3× the time (docs/performance.md).
    const run: Run = (sql, params) => (pool ? pool.query(sql, params) : withPlannerSettings(em, sql, params));
    const bound =
      request.exactLimit !== undefined &&
      ranked &&
      !joinsDebate(src) &&
      boundPays(await Promise.all([estimatedMatches(run, `select 1 ${src.from}`, [...match, ...src.params]), indexedRows(run)]), request.exactLimit);
    const candidates = (columns: string) => `(select ${columns} ${src.from} order by ${src.date} desc, ${src.id} desc limit ?) as c`;
    // the score is computed inside the candidate set, so that its sort by date carries three narrow
    // columns and not the documents (a sort of 1,500 documents cost more than the ranking itself)
    const pageSql = bound
      ? `select id, score, date${sortColumn ? ', sort_key' : ''} from ${candidates(
          `${src.id} as id, cast(${src.score} as float8) as score, ${src.date} as date${sortColumn ? `, ${sortColumn} as sort_key` : ''}`,
        )} order by ${order} limit ? offset ?`
      : `select ${src.id} as id, cast(${src.score} as float8) as score, ${src.date} as date${sortColumn ? `, ${sortColumn} as sort_key` : ''} ${src.from} order by ${order} limit ? offset ?`;
    const pageParams = bound
      ? [...match, ...match, ...src.params, request.exactLimit! + 1, request.perPage, offset]
      : [...(ranked ? [...match, ...match] : []), ...src.params, request.perPage, offset];
    // one grouping by (committee, type, year) — a few hundred groups — summed per facet here: cheaper
    // than grouping sets, which hash every match three times
    // the committees' names joined to the groups: the answer needs no look-up of them afterwards
    const groups = bound
      ? `select commission_id, type, year, count(*) as n from ${candidates(`${src.commission} as commission_id, ${src.type} as type, ${src.year} as year`)} group by 1, 2, 3`
      : `select ${src.commission} as commission_id, ${src.type} as type, ${src.year} as year, count(*) as n ${src.from} group by 1, 2, 3`;
    const facetSql = `select g.commission_id, g.type, g.year, g.n, ${COMMITTEE_COLUMNS} from (${groups}) as g left join commission c on c.id = g.commission_id`;
    const facetParams = bound ? [...match, ...src.params, request.exactLimit! + 1] : [...match, ...src.params];
    type PageRow = { id: number; score: number | string | null };
    type FacetRow = { commission_id: number | null; type: string; year: number | string | null; n: number | string } & CommitteeRow;
    const [pageRows, facetRows] = await Promise.all([run<PageRow>(pageSql, pageParams), run<FacetRow>(facetSql, facetParams)]);
    for (const r of pageRows) hits.push({ id: Number(r.id), score: score(r.score) });
    const commissions = new Map<number, FacetCommittee>();
    const types = new Map<string, number>();
    const years = new Map<number, number>();
    for (const r of facetRows) {
      const n = Number(r.n);
      total += n;
      // the debates without a committee are left out of that facet (and one deleted meanwhile)
      if (r.commission_id !== null && r.c_external_id !== null) {
        const id = Number(r.commission_id);
        const c = commissions.get(id) ?? committeeOf(id, 0, r);
        c.count += n;
        commissions.set(id, c);
      }
      types.set(r.type, (types.get(r.type) ?? 0) + n);
      if (r.year !== null) years.set(Number(r.year), (years.get(Number(r.year)) ?? 0) + n);
    }
    if (bound && total > request.exactLimit!) {
      // the candidate set is full: there are at least this many; the facets are those of this set
      totalExact = false;
    }
    facets.commissions.push(...commissions.values());
    for (const [value, count] of types) facets.types.push({ value, count });
    for (const [value, count] of years) facets.years.push({ value, count });
  } else {
    // Broad queries on SQLite: the `exactLimit + 1` matches indexed last (FTS5 walks its index by rowid,
    // the debate id, backwards and stops there), so that bm25 and the look-up of each match's debate —
    // what a query matching half the corpus spends its time on — stop at the limit. Sorted by another
    // column than relevance or date: every match, as on PostgreSQL.
    const bound = request.exactLimit !== undefined && ranked && (request.sortBy === 'relevance' || request.sortBy === 'date');
    const sql = [
      `with hits as materialized (select ${src.id} as id, ${src.score} as score, ${src.date} as date, ${src.type} as type, ${src.commission} as commission_id${
        sortColumn ? `, ${sortColumn} as sort_key` : ''
      } ${src.from}${bound ? ' order by search_debate_fts.rowid desc limit ?' : ''})`,
      `select * from (select 'hit' as facet, id as num, null as str, cast(score as ${float}) as n, ${NO_COMMITTEE} from hits order by ${order} limit ? offset ?) as page`,
      `union all select * from (select 'commission' as facet, h.commission_id as num, null as str, cast(count(*) as ${float}) as n, ${COMMITTEE_COLUMNS} from hits h join commission c on c.id = h.commission_id group by h.commission_id) as committees`,
      `union all select 'type' as facet, null as num, type as str, cast(count(*) as ${float}) as n, ${NO_COMMITTEE} from hits group by type`,
      `union all select 'year' as facet, ${yearExpression(dialect, 'date')} as num, null as str, cast(count(*) as ${float}) as n, ${NO_COMMITTEE} from hits group by 2`,
    ].join(' ');
    // parameters in the order they appear: the match's query, the filters, the page
    const params: unknown[] = [...match, ...src.params, ...(bound ? [request.exactLimit! + 1] : []), request.perPage, offset];
    const rows = await em.getConnection().execute<({ facet: string; num: number | string | null; str: string | null; n: number | string | null } & CommitteeRow)[]>(sql, params);
    for (const r of rows) {
      const count = Number(r.n);
      if (r.facet === 'hit') hits.push({ id: Number(r.num), score: score(r.n) });
      else if (r.facet === 'commission') facets.commissions.push(committeeOf(Number(r.num), count, r));
      else if (r.facet === 'type') {
        facets.types.push({ value: String(r.str), count });
        total += count;
      } else if (r.num !== null) facets.years.push({ value: Number(r.num), count });
    }
    // a full candidate set: there are at least this many; the facets are those of this set
    if (bound && total > request.exactLimit!) totalExact = false;
  }
  const byCount = <T>(a: FacetCount<T>, b: FacetCount<T>) => b.count - a.count || String(a.value).localeCompare(String(b.value));
  facets.commissions.sort(byCount);
  facets.types.sort(byCount);
  facets.years.sort((a, b) => b.value - a.value);
  return { hits, total, totalExact, facets };
}

/** The committee columns the facet statements read (`commission c`), and their absence in other rows. */
const COMMITTEE_COLUMNS = 'c.external_id as c_external_id, c.name as c_name, c.short_name as c_short_name, c.slug as c_slug';
const NO_COMMITTEE = 'cast(null as text) as c_external_id, cast(null as text) as c_name, cast(null as text) as c_short_name, cast(null as text) as c_slug';

type CommitteeRow = {
  c_external_id: string | null;
  c_name: string | null;
  c_short_name: string | null;
  c_slug: string | null;
};

function committeeOf(value: number, count: number, r: CommitteeRow): FacetCommittee {
  return { value, count, externalId: String(r.c_external_id), name: String(r.c_name), shortName: r.c_short_name, slug: String(r.c_slug) };
}

/** Runs one statement and answers its rows (the search pool's, or a transaction with the planner settings). */
export type Run = <T extends Record<string, unknown>>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * PostgreSQL's estimate of the rows a statement returns (`explain`, planned and not run: a round trip
 * and ~0.2 ms). From the text index's statistics: close for one word or prefix (`commission`: 54,350
 * for 54,360), low for words that go together (`questions au gouvernement`: 1,163 for 10,247), which
 * then get the exact statements — exact beyond `exactLimit`, and still faster than bounded there.
 */
export async function estimatedMatches(run: Run, sql: string, params: unknown[]): Promise<number> {
  const [row] = await run<{ 'QUERY PLAN': unknown }>(`explain (format json) ${sql}`, params);
  const value = row?.['QUERY PLAN'];
  const plan = (typeof value === 'string' ? JSON.parse(value) : value) as { Plan?: { 'Plan Rows'?: number } }[] | undefined;
  return Number(plan?.[0]?.Plan?.['Plan Rows'] ?? Number.POSITIVE_INFINITY);
}

/**
 * Whether the bounded statements cost less than the exact ones. The exact ones read every match; the
 * bounded ones walk the date index until `limit + 1` matches, so read about `limit × rows / matches`
 * rows: fewer only when `matches² > limit × rows` (for 100,000 debates and a limit of 5,000: above
 * ~22,000 matches). `deputy name "Lemaître"` (6,068 matches) answered exactly: 30.6 → 22.9 ms p50;
 * `commission` (54,360) bounded: 51.6 → 21.7 ms (docs/decisions.md, Transcripts and moment search, 11).
 * Without statistics (`rows` ≤ 0) only the limit counts.
 */
export function boundPays([matches, rows]: [number, number], limit: number): boolean {
  return matches > limit && (rows <= 0 || matches * matches > limit * rows);
}

/** PostgreSQL's count of `search_debate`'s rows from its statistics (-1 before the first `ANALYZE`). */
async function indexedRows(run: Run): Promise<number> {
  const [row] = await run<{ n: number | string }>("select cast(reltuples as float8) as n from pg_class where oid = cast('search_debate' as regclass)", []);
  return Number(row?.n ?? -1);
}

/** Whether the matches are read through `debate` (sorted by one of its own columns): then no bound. */
function joinsDebate(src: Source): boolean {
  return src.from.includes(' join debate d ');
}
