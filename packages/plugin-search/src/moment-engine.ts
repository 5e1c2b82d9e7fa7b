import { CommissionSchema, DeputySchema, commissionMatch, deputyMatch, type Dialect, type EntityManager, type SessionPool } from '@robian/core';
import { directFilter, estimatedMatches, filterSubquery, type Run, type SearchFilters } from './engine.ts';
import { toMomentFts5Query, toMomentTsQuery } from './moment-query.ts';
import { hasTerms, type ParsedQuery } from './query.ts';

/** What a moment search narrows to: the debate filters, and `depute` meaning "said by this deputy". */
export interface MomentRequest {
  query: ParsedQuery;
  filters: SearchFilters;
  /** Only these debates (the moments of `/api/search`'s hits). */
  debateIds?: readonly number[];
  page: number;
  perPage: number;
  /** Matches counted, faceted and ranked exactly; beyond, the most recent ones (see docs/search.md). */
  exactLimit: number;
  /** Top moments per debate (with `debateIds`): at most this many per debate. */
  perDebate?: number;
  facets?: boolean;
}

export interface MomentRow {
  segment_id: number;
  debate_id: number;
  score: number | null;
}

export interface MomentPage {
  hits: MomentRow[];
  /** Exact when `total_exact`; else a lower bound (`exactLimit + 1`: the matches looked at). */
  total: number;
  total_exact: boolean;
  facets: { speakers: { deputy_id: number | null; name: string; count: number }[]; debates: { debate_id: number; count: number }[] };
}

const FACET_SIZE = 20;

/** Expected matches up to this many candidate sets: the whole table is searched (the text index's bitmap). */
const NARROW_SETS = 2;

/** The window a broader search walks: this many candidate sets' worth of the most recent moments. */
const MOMENT_WINDOW = 64;

interface Compiled {
  /** `from … where …` of the matching moments, with columns m_segment, m_debate, m_date, m_deputy, m_speaker, m_score. */
  select: string;
  params: unknown[];
  /**
   * PostgreSQL, with search words: the same moments among the `window` most recent ones that pass the
   * other filters (`windowed(window)`), and those filters alone (`others`, `from … where …`).
   */
  window?: { windowed: (size: number) => Pick<Compiled, 'select' | 'params'>; others: Sql; text: Sql };
}

interface Sql {
  sql: string;
  params: unknown[];
}

/** Ids named by a filter value, or undefined when the filter is absent. */
async function idsOf(em: EntityManager, kind: 'commission' | 'deputy', value: string | undefined): Promise<number[] | undefined> {
  if (value === undefined || value.trim() === '') return undefined;
  const rows = (await em.fork().find((kind === 'commission' ? CommissionSchema : DeputySchema) as never, (kind === 'commission' ? commissionMatch(value) : deputyMatch(value)) as never, { fields: ['id'] as never })) as { id: number }[];
  return rows.map((r) => Number(r.id));
}

async function compile(em: EntityManager, dialect: Dialect, request: MomentRequest): Promise<Compiled | null> {
  const ranked = hasTerms(request.query);
  const { commission, depute, type: _t, date_start: _s, date_end: _e, ...rest } = request.filters;
  const [commissions, deputies] = await Promise.all([idsOf(em, 'commission', commission), idsOf(em, 'deputy', depute)]);
  if ((commissions && commissions.length === 0) || (deputies && deputies.length === 0)) return null;
  const params: unknown[] = [];
  const where: string[] = [];
  let select: string;
  let tsquery: string | undefined;
  const direct = directFilter({ type: request.filters.type, date_start: request.filters.date_start, date_end: request.filters.date_end });
  if (dialect === 'postgresql') {
    tsquery = ranked ? toMomentTsQuery(request.query) : undefined;
    select = `select m.segment_id as m_segment, m.debate_id as m_debate, m.date as m_date, m.deputy_id as m_deputy, m.speaker as m_speaker, ${
      tsquery ? "ts_rank(m.document, to_tsquery('french', ?))" : 'null'
    } as m_score from search_moment m`;
    if (tsquery) {
      params.push(tsquery);
      where.push("m.document @@ to_tsquery('french', ?)");
      params.push(tsquery);
    }
    if (direct) {
      where.push(...direct.sql.map((c) => c.replace(/^s\./, 'm.')));
      params.push(...direct.params);
    } else throw new Error('unexpected filter shape');
    if (commissions) where.push(`m.commission_id in (${commissions.map(() => '?').join(', ')})`), params.push(...commissions);
    if (deputies) where.push(`m.deputy_id in (${deputies.map(() => '?').join(', ')})`), params.push(...deputies);
    if (request.debateIds) where.push(`m.debate_id in (${request.debateIds.map(() => '?').join(', ')})`), params.push(...request.debateIds);
  } else {
    const match = ranked ? toMomentFts5Query(request.query) : undefined;
    select = match
      ? 'select f.rowid as m_segment, t.debate_id as m_debate, d.date as m_date, t.deputy_id as m_deputy, coalesce(t.speaker_name, p.full_name) as m_speaker, (-bm25(search_moment_fts, 4.0, 1.0)) as m_score from search_moment_fts f join transcript_segment t on t.id = f.rowid join debate d on d.id = t.debate_id left join deputy p on p.id = t.deputy_id'
      : 'select t.id as m_segment, t.debate_id as m_debate, d.date as m_date, t.deputy_id as m_deputy, coalesce(t.speaker_name, p.full_name) as m_speaker, null as m_score from transcript_segment t join debate d on d.id = t.debate_id left join deputy p on p.id = t.deputy_id';
    if (match) where.push('search_moment_fts match ?'), params.push(match);
    // a phrase is matched in `span` (own text and the next cue's beginning): it must start in the own
    // text, else the next moment says it (FTS5 has no position filter: the first highlighted token of
    // `span` must lie within the own text); a row matched by a word of its own text passes
    if (match && request.query.clauses.some((c) => !c.negated && c.items.some((i) => i.kind === 'phrase'))) {
      where.push("(instr(highlight(search_moment_fts, 0, char(1), char(2)), char(1)) > 0 or instr(highlight(search_moment_fts, 1, char(1), char(2)), char(1)) between 1 and length(f.text) + 1)");
    }
    else where.push('t.id in (select rowid from search_moment_fts)');
    if (direct) {
      where.push(...direct.sql.map((c) => c.replace(/^s\./, 'd.')));
      params.push(...direct.params.map((p) => (p instanceof Date ? p.getTime() : p)));
    } else throw new Error('unexpected filter shape');
    if (commissions) where.push(`d.commission_id in (${commissions.map(() => '?').join(', ')})`), params.push(...commissions);
    if (deputies) where.push(`t.deputy_id in (${deputies.map(() => '?').join(', ')})`), params.push(...deputies);
    if (request.debateIds) where.push(`t.debate_id in (${request.debateIds.map(() => '?').join(', ')})`), params.push(...request.debateIds);
  }
  const filter = filterSubquery(em, rest, dialect);
  const debateColumn = dialect === 'postgresql' ? 'm.debate_id' : 't.debate_id';
  if (filter) {
    where.push(`exists (select 1 from (${filter.sql}) as search_filter where search_filter.id = ${debateColumn})`);
    params.push(...filter.params);
  }
  const compiled: Compiled = { select: `${select} where ${where.length ? where.join(' and ') : '1 = 1'}`, params };
  if (tsquery !== undefined) {
    // the text condition is the first of `where` and its two parameters the first of `params`
    const otherWhere = where.slice(1);
    const others: Sql = { sql: `from search_moment m where ${otherWhere.length ? otherWhere.join(' and ') : '1 = 1'}`, params: params.slice(2) };
    const text: Sql = { sql: "m.document @@ to_tsquery('french', ?)", params: [tsquery] };
    compiled.window = {
      others,
      text,
      // the window is walked in search_moment_date_idx's order, the text checked on its rows only
      windowed: (size) => ({
        select: `select w.segment_id as m_segment, w.debate_id as m_debate, w.date as m_date, w.deputy_id as m_deputy, w.speaker as m_speaker, ts_rank(w.document, to_tsquery('french', ?)) as m_score from (select m.segment_id, m.debate_id, m.date, m.deputy_id, m.speaker, m.document ${others.sql} order by m.date desc, m.segment_id asc limit ?) as w where w.document @@ to_tsquery('french', ?)`,
        params: [tsquery, ...others.params, size, tsquery],
      }),
    };
  }
  return compiled;
}

/**
 * Moments matching a query, best first, with their total and facets by speaker and debate. The
 * matches are gathered once, the most recent first and at most `exactLimit + 1` of them: up to
 * `exactLimit` matches the total, the facets and the ranking are exact; beyond, they are those of
 * the `exactLimit` most recent matches and `total_exact` is false (total: a lower bound).
 */
export async function runMomentSearch(em: EntityManager, dialect: Dialect, request: MomentRequest, pool?: SessionPool): Promise<MomentPage> {
  const empty: MomentPage = { hits: [], total: 0, total_exact: true, facets: { speakers: [], debates: [] } };
  if (request.debateIds && request.debateIds.length === 0) return empty;
  const compiled = await compile(em, dialect, request);
  if (!compiled) return empty;
  const run: Run = (sql, params) => (pool ? pool.query(sql, params) : em.getConnection().execute(sql, params));
  const ranked = hasTerms(request.query);
  const limit = request.exactLimit + 1;
  // A search with words that PostgreSQL expects to match more than a few candidate sets' worth walks a
  // window of the most recent moments only (`MOMENT_WINDOW` candidate sets), so that a query whose
  // words are common but rarely together cannot walk the whole table to fill its candidates
  // (docs/decisions.md, Transcripts and moment search, 7)
  const w = compiled.window && !request.debateIds ? compiled.window : undefined;
  const expected = w ? await estimatedMatches(run, `select 1 ${w.others.sql} and ${w.text.sql}`, [...w.others.params, ...w.text.params]) : 0;
  const window = w && expected > limit * NARROW_SETS ? limit * MOMENT_WINDOW : undefined;
  const page = await candidatePage(run, dialect, request, window !== undefined ? w!.windowed(window) : compiled, limit, ranked);
  if (window === undefined || page.total >= limit) return page;
  // fewer matches than a candidate set in the window: exact if the window held every moment the other
  // filters pass; else the total is a lower bound, and with nothing found at all the whole table is searched
  const beyond = await run<{ one: number }>(`select 1 as one ${w!.others.sql} order by m.date desc, m.segment_id asc offset ? limit 1`, [...w!.others.params, window]);
  if (beyond.length === 0) return page;
  if (page.total === 0) return candidatePage(run, dialect, request, compiled, limit, ranked);
  return { ...page, total_exact: false };
}

/** The page, total and facets of the candidates: the `limit` most recent moments `compiled` selects. */
async function candidatePage(
  run: Run,
  dialect: Dialect,
  request: MomentRequest,
  compiled: Pick<Compiled, 'select' | 'params'>,
  limit: number,
  ranked: boolean,
): Promise<MomentPage> {
  const order = ranked ? 'm_score desc, m_date desc, m_segment asc' : 'm_date desc, m_segment asc';
  const offset = (request.page - 1) * request.perPage;
  // the candidates in the order of search_moment_date_idx (date desc, segment_id asc): PostgreSQL
  // walks it and stops at the limit, where `segment_id desc` made it read and sort every moment of
  // each date it reached (a sitting's 3,000 cues share one date)
  const parts = [`with c as materialized (${compiled.select} order by m_date desc, m_segment asc limit ?)`];
  const params: unknown[] = [...compiled.params, limit];
  const f = dialect === 'postgresql' ? 'float8' : 'real';
  const noInt = 'cast(null as integer)';
  const noText = 'cast(null as text)';
  if (request.perDebate) {
    // the best moments of each debate (the moments of /api/search's hits)
    parts.push(
      `select 'hit' as k, m_segment as a, m_debate as b, ${noText} as s, cast(m_score as ${f}) as n from (select c.*, row_number() over (partition by m_debate order by ${order}) as r from c) as per where r <= ?`,
    );
    params.push(request.perDebate);
  } else {
    parts.push(`select * from (select 'hit' as k, m_segment as a, m_debate as b, ${noText} as s, cast(m_score as ${f}) as n from c order by ${order} limit ? offset ?) as page`);
    params.push(request.perPage, offset);
  }
  parts.push(`union all select 'total' as k, ${noInt} as a, ${noInt} as b, ${noText} as s, cast(count(*) as ${f}) as n from c`);
  if (request.facets !== false) {
    parts.push(
      `union all select * from (select 'speaker' as k, m_deputy as a, ${noInt} as b, cast(m_speaker as text) as s, cast(count(*) as ${f}) as n from c where m_speaker is not null group by m_deputy, m_speaker order by count(*) desc, m_speaker limit ${FACET_SIZE}) as speakers`,
      `union all select * from (select 'debate' as k, m_debate as a, ${noInt} as b, ${noText} as s, cast(count(*) as ${f}) as n from c group by m_debate order by count(*) desc, m_debate desc limit ${FACET_SIZE}) as debates`,
    );
  }
  const sql = parts.join(' ');
  type Row = { k: string; a: number | string | null; b: number | string | null; s: string | null; n: number | string | null };
  const rows = await run<Row>(sql, params);
  const page: MomentPage = { hits: [], total: 0, total_exact: true, facets: { speakers: [], debates: [] } };
  for (const r of rows) {
    if (r.k === 'hit') page.hits.push({ segment_id: Number(r.a), debate_id: Number(r.b), score: r.n === null ? null : Math.round(Number(r.n) * 1e6) / 1e6 });
    else if (r.k === 'total') {
      const n = Number(r.n);
      // a full candidate set: at least this many (facets and ranking are those of this set)
      page.total_exact = n < limit;
      page.total = n;
    } else if (r.k === 'speaker') page.facets.speakers.push({ deputy_id: r.a === null ? null : Number(r.a), name: String(r.s), count: Number(r.n) });
    else if (r.k === 'debate') page.facets.debates.push({ debate_id: Number(r.a), count: Number(r.n) });
  }
  return page;
}
