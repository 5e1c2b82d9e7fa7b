import { cacheKeyOf, z, type EntityManager } from '@robian/core';
import { runMomentSearch, type MomentPage } from './moment-engine.ts';
import { toMomentFts5Query, toMomentTsQuery } from './moment-query.ts';
import { hasTerms, highlight, parseQuery, termMatcher, type ParsedQuery } from './query.ts';
import type { SearchIndex } from './search-index.ts';
import { describeQuery, momentView, pageOf, searchQuery, searchQueryInfo } from './wire.ts';

export { momentSpeaker, momentView } from './wire.ts';

/** Moments shown per debate hit of `/api/search`. */
export const MOMENTS_PER_DEBATE = 3;
const SNIPPET_LENGTH = 240;

export const momentHit = momentView
  .extend({
    debate: z.object({ id: z.string(), title: z.string(), date: z.string(), type: z.string(), has_audio: z.boolean(), commission: z.object({ id: z.string(), name: z.string(), short_name: z.string().nullable() }).nullable() }),
  })
  .meta({ id: 'MomentHit' });

export const momentQuery = searchQuery;

export const momentResponse = z
  .object({
    moments: z.array(momentHit),
    total: z.number().int(),
    total_exact: z.boolean().meta({ description: 'false: more matches than the exact limit; `total` is a lower bound' }),
    facets_exact: z.boolean().meta({ description: 'false: facets and ranking are those of the most recent matches only' }),
    page: z.number().int(),
    per_page: z.number().int(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
    facets: z.object({
      speakers: z.array(z.object({ name: z.string(), deputy_id: z.string().nullable(), slug: z.string().nullable(), count: z.number().int() })),
      debates: z.array(z.object({ debate_id: z.string(), title: z.string(), date: z.string(), count: z.number().int() })),
    }),
    query: searchQueryInfo,
  })
  .meta({ id: 'MomentResults' });

type SegmentRow = {
  id: number;
  debate_id: number;
  position: number;
  start_seconds: number;
  end_seconds: number;
  text: string;
  speaker_name: string | null;
  deputy_id: number | null;
  next_text: string | null;
  next_end: number | null;
};
type DebateRow = { id: number; title: string; date: string | number | Date; type: string; has_audio: boolean | number; commission_id: number | null; c_name: string | null; c_short: string | null };
type DeputyRow = { id: number; external_id: string; full_name: string; slug: string; political_group_short: string | null };

const toDate = (v: string | number | Date) => (v instanceof Date ? v : new Date(typeof v === 'string' && !/^\d+$/.test(v) ? v : Number(v)));
const seconds = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The moments of a page of hits as wire objects: their segments (with the next one, for phrases
 * that run into it), debates and deputies read with three plain queries.
 */
export async function momentViews(em: EntityManager, parsed: ParsedQuery, hits: MomentPage['hits']): Promise<z.output<typeof momentHit>[]> {
  if (hits.length === 0) return [];
  const ids = hits.map((h) => h.segment_id);
  const segments = await em.execute<SegmentRow[]>(
    `select t.id, t.debate_id, t.position, t.start_seconds, t.end_seconds, t.text, t.speaker_name, t.deputy_id, n.text as next_text, n.end_seconds as next_end
     from transcript_segment t left join transcript_segment n on n.debate_id = t.debate_id and n.source = t.source and n.position = t.position + 1
     where t.id in (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  const byId = new Map(segments.map((s) => [Number(s.id), s]));
  const debateIds = [...new Set(segments.map((s) => Number(s.debate_id)))];
  const deputyIds = [...new Set(segments.map((s) => s.deputy_id).filter((d): d is number => d !== null).map(Number))];
  const [debates, deputies] = await Promise.all([
    em.fork().execute<DebateRow[]>(
      `select d.id, d.title, d.date, d.type, d.has_audio, d.commission_id, c.name as c_name, c.short_name as c_short from debate d left join commission c on c.id = d.commission_id where d.id in (${debateIds.map(() => '?').join(', ')})`,
      debateIds,
    ),
    deputyIds.length
      ? em.fork().execute<DeputyRow[]>(`select id, external_id, full_name, slug, political_group_short from deputy where id in (${deputyIds.map(() => '?').join(', ')})`, deputyIds)
      : Promise.resolve([] as DeputyRow[]),
  ]);
  const debateOf = new Map(debates.map((d) => [Number(d.id), d]));
  const deputyOf = new Map(deputies.map((d) => [Number(d.id), d]));
  const match = hasTerms(parsed) ? termMatcher(parsed) : undefined;
  const phrases = parsed.clauses.some((c) => !c.negated && c.items.some((i) => i.kind === 'phrase'));
  const out: z.output<typeof momentHit>[] = [];
  for (const h of hits) {
    const s = byId.get(h.segment_id);
    const d = s ? debateOf.get(Number(s.debate_id)) : undefined;
    if (!s || !d) continue;
    const deputy = s.deputy_id === null ? undefined : deputyOf.get(Number(s.deputy_id));
    // a phrase that runs into the next cue: the moment lasts until that cue's end, and shows it
    const own = match ? highlight(s.text, match, SNIPPET_LENGTH) : undefined;
    const runsOn = phrases && s.next_text !== null && s.next_end !== null;
    const text = runsOn ? `${s.text} ${s.next_text}` : s.text;
    const snippet = (match ? highlight(text, match, SNIPPET_LENGTH) : undefined) ?? own ?? escape(text.slice(0, SNIPPET_LENGTH));
    const start = seconds(Number(s.start_seconds));
    const hasAudio = d.has_audio === true || d.has_audio === 1;
    out.push({
      segment_id: String(s.id),
      debate_id: String(s.debate_id),
      position: Number(s.position),
      start_seconds: start,
      end_seconds: seconds(Number(runsOn ? s.next_end : s.end_seconds)),
      speaker: {
        name: s.speaker_name ?? deputy?.full_name ?? null,
        deputy_id: s.deputy_id === null ? null : String(s.deputy_id),
        deputy: deputy ? { id: String(deputy.id), external_id: deputy.external_id, full_name: deputy.full_name, slug: deputy.slug, political_group_short: deputy.political_group_short } : null,
      },
      snippet,
      score: h.score,
      stream_url: hasAudio ? `/api/debats/${s.debate_id}/audio#t=${start}` : null,
      transcript_url: `/api/debats/${s.debate_id}/transcript#segment-${s.position}`,
      debate: {
        id: String(d.id),
        title: d.title,
        date: toDate(d.date).toISOString(),
        type: d.type,
        has_audio: hasAudio,
        commission: d.commission_id === null ? null : { id: String(d.commission_id), name: d.c_name ?? '', short_name: d.c_short },
      },
    });
  }
  return out;
}

/** The query with its required clauses made one: any of their words (exclusions kept). */
export function anyWord(parsed: ParsedQuery): ParsedQuery {
  const required = parsed.clauses.filter((c) => !c.negated);
  if (required.length <= 1) return parsed;
  return { ...parsed, clauses: [{ negated: false, items: required.flatMap((c) => c.items) }, ...parsed.clauses.filter((c) => c.negated)] };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `GET /api/search/moments`, and the moments `GET /api/search` adds to its hits. */
export class MomentSearch {
  readonly index: SearchIndex;

  constructor(index: SearchIndex) {
    this.index = index;
  }

  /** The best moments of each debate of a page of `/api/search` (none without search words). */
  async forDebates(parsed: ParsedQuery, filters: z.output<typeof searchQuery>, debateIds: number[]): Promise<Map<number, z.output<typeof momentView>[]>> {
    const out = new Map<number, z.output<typeof momentView>[]>();
    if (!hasTerms(parsed) || debateIds.length === 0) return out;
    const em = this.index.em();
    // "said by" applies to moments; the debate filters already chose the debates. A debate matches by
    // its title, agenda, names…: its moments are those that say any of the words, best first
    const page = await runMomentSearch(
      em,
      this.index.dialect,
      { query: anyWord(parsed), filters: { depute: filters.depute }, debateIds, page: 1, perPage: debateIds.length * MOMENTS_PER_DEBATE, exactLimit: this.index.exactLimit, perDebate: MOMENTS_PER_DEBATE, facets: false },
      this.index.pool,
    );
    for (const m of await momentViews(em, parsed, page.hits)) {
      const { debate: _d, ...moment } = m;
      const list = out.get(Number(m.debate_id)) ?? [];
      list.push(moment);
      out.set(Number(m.debate_id), list);
    }
    return out;
  }

  register(): void {
    const { ctx, dialect, cache } = this.index;
    ctx.router.route({
      method: 'get',
      path: '/api/search/moments',
      operationId: 'searchMoments',
      summary: 'Moments of debates where the words were said, best first, with their time and speaker',
      description:
        'Searches the transcripts (the preferred source of each debate). Same query language and filters as /api/search; `depute` means "said by this deputy", `commission` the debates of that committee. Each moment has its start and end, speaker, a highlighted snippet and a stream URL starting there. Totals, facets and ranking are exact up to SEARCH_MOMENT_EXACT_LIMIT matches (default 500); beyond, `total_exact`/`facets_exact` are false and they cover the most recent matches.',
      tags: ['search'],
      query: momentQuery,
      responses: { 200: { description: 'A page of moments', schema: momentResponse } },
      handler: async (_koa, { query }) => {
        const raw = query.q ?? '';
        const parsed = parseQuery(raw, { prefix: query.prefix });
        const ranked = hasTerms(parsed);
        const compiled = ranked ? (dialect === 'postgresql' ? toMomentTsQuery(parsed) : toMomentFts5Query(parsed)) : '';
        const { q: _q, prefix: _p, sort_by: _sb, sort_order: _so, ...rest } = query;
        const key = `moments:${cacheKeyOf({ ...rest, compiled } as Record<string, unknown>)}`;
        const body = await cache.wrapJson(key, async () => {
          const em = this.index.em();
          const result = await runMomentSearch(
            em,
            dialect,
            {
              query: parsed,
              filters: { type: query.type, status: query.status, commission: query.commission, depute: query.depute, date_start: query.date_start, date_end: query.date_end, has_audio: query.has_audio },
              page: query.page,
              perPage: query.per_page,
              exactLimit: this.index.momentExactLimit,
            },
            this.index.pool,
          );
          const moments = await momentViews(em, parsed, result.hits);
          const facetDebates = result.facets.debates.map((f) => f.debate_id);
          const deputyIds = result.facets.speakers.map((f) => f.deputy_id).filter((d): d is number => d !== null);
          const [debates, deputies] = await Promise.all([
            facetDebates.length ? em.fork().execute<{ id: number; title: string; date: string | number | Date }[]>(`select id, title, date from debate where id in (${facetDebates.map(() => '?').join(', ')})`, facetDebates) : [],
            deputyIds.length ? em.fork().execute<{ id: number; slug: string }[]>(`select id, slug from deputy where id in (${deputyIds.map(() => '?').join(', ')})`, deputyIds) : [],
          ]);
          const debateOf = new Map(debates.map((d) => [Number(d.id), d]));
          const slugOf = new Map(deputies.map((d) => [Number(d.id), d.slug]));
          return {
            moments,
            ...pageOf(result.total, query.page, query.per_page, moments.length),
            total_exact: result.total_exact,
            facets_exact: result.total_exact,
            facets: {
              speakers: result.facets.speakers.map((f) => ({ name: f.name, deputy_id: f.deputy_id === null ? null : String(f.deputy_id), slug: f.deputy_id === null ? null : (slugOf.get(f.deputy_id) ?? null), count: f.count })),
              debates: result.facets.debates
                .filter((f) => debateOf.has(f.debate_id))
                .map((f) => ({ debate_id: String(f.debate_id), title: debateOf.get(f.debate_id)!.title, date: toDate(debateOf.get(f.debate_id)!.date).toISOString(), count: f.count })),
            },
          };
        });
        // kept as bytes with a strong ETag; a client's refresh with If-None-Match gets a 304
        return body!.withFields({ query: describeQuery(raw, parsed, ranked) });
      },
    });
  }
}
