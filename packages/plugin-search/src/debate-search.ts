import { cacheKeyOf, loadDebateViews, type z, type debateView } from '@robian/core';
import { runSearch, type SearchFilters } from './engine.ts';
import { hasTerms, highlight, parseQuery, termMatcher, toFts5Query, toTsQuery, type ParsedQuery } from './query.ts';
import type { MomentSearch } from './moment-search.ts';
import type { SearchIndex } from './search-index.ts';
import { HIGHLIGHT_FIELDS, describeQuery, pageOf, searchQuery, searchResponse, type searchHighlight } from './wire.ts';

function filtersOf(q: SearchFilters): SearchFilters {
  return { type: q.type, status: q.status, commission: q.commission, depute: q.depute, date_start: q.date_start, date_end: q.date_end, has_audio: q.has_audio };
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
  if (view.committee) {
    add('commission', view.committee.name);
    if (!out.some((h) => h.field === 'commission')) add('commission', view.committee.short_name);
  }
  for (const name of view.speakers) add('speakers', name);
  return out;
}

/** Full-text search over debates, with filters, highlights and facets: `GET /api/search`. */
export class DebateSearch {
  readonly index: SearchIndex;

  readonly moments: MomentSearch | undefined;

  constructor(index: SearchIndex, moments?: MomentSearch) {
    this.index = index;
    this.moments = moments;
  }

  /** The ids of the debates a query matches, best first (what a saved search's podcast feed lists). */
  async debateIds(q: string, options: { limit: number; hasAudio?: boolean }): Promise<number[]> {
    const parsed = parseQuery(q, {});
    const result = await runSearch(
      this.index.em(),
      this.index.dialect,
      { query: parsed, filters: options.hasAudio === undefined ? {} : { has_audio: options.hasAudio }, page: 1, perPage: options.limit, sortBy: hasTerms(parsed) ? 'relevance' : 'date', sortOrder: 'desc' },
      this.index.pool,
    );
    return result.hits.map((h) => h.id);
  }

  register(): void {
    const { ctx, dialect, cache } = this.index;
    ctx.services.provide('search.debates', (q, options) => this.debateIds(q, options));
    const em = () => this.index.em();
    const duration = ctx.metrics.histogram({
      name: 'robian_search_duration_seconds',
      help: 'Time to answer GET /api/search (cache misses only)',
      labelNames: ['mode'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
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
        const key = `search:${cacheKeyOf({ ...rest, compiled } as Record<string, unknown>)}`;
        const body = await cache.wrapJson(key, async () => {
          const stop = duration.startTimer({ mode: ranked ? 'fulltext' : 'browse' });
          const manager = em();
          const result = await runSearch(manager, dialect, {
            query: parsed,
            filters: filtersOf(query),
            page: query.page,
            perPage: query.per_page,
            sortBy: query.sort_by,
            sortOrder: query.sort_order,
            exactLimit: this.index.exactLimit,
          }, this.index.pool);
          // the page's debates and the hits' best moments (where their transcripts say the words) at
          // once, the moments on the search pool; the facet's committees came with the facets
          const ids = result.hits.map((h) => h.id);
          const [views, moments] = await Promise.all([
            // plain queries, no entity hydration: 3 ms less per page of 20 (docs/performance.md)
            loadDebateViews(manager, ids),
            this.moments ? this.moments.forDebates(parsed, query, ids) : new Map<number, never>(),
          ]);
          const debates = result.hits
            .filter((h) => views.has(h.id))
            .map((h) => {
              const view = views.get(h.id)!;
              return { ...view, score: h.score, highlights: highlightsOf(view, parsed), moments: moments.get(h.id) ?? [] };
            });
          stop();
          return {
            debates,
            ...pageOf(result.total, query.page, query.per_page, debates.length),
            total_exact: result.totalExact,
            facets_exact: result.totalExact,
            facets: {
              commissions: result.facets.commissions.map((c) => ({ id: String(c.value), external_id: c.externalId, name: c.name, short_name: c.shortName, slug: c.slug, count: c.count })),
              types: result.facets.types,
              years: result.facets.years,
            },
          };
        });
        // the cached body may have been computed for an equivalent spelling: describe this request's own
        // kept as bytes with a strong ETag; a client's refresh with If-None-Match gets a 304
        return body!.withFields({ query: describeQuery(raw, parsed, ranked) });
      },
    });
  }
}
