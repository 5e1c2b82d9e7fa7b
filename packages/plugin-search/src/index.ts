import { PLUGIN_API_VERSION, definePlugin, z } from '@robian/core';
import { DebateSearch } from './debate-search.ts';
import { Directory } from './directory.ts';
import { MomentSearch } from './moment-search.ts';
import { searchMigrations } from './migrations.ts';
import { SearchIndex } from './search-index.ts';

export const SEARCH_PLUGIN = 'search';

/**
 * French full-text search over debates, facets, and the committee and deputy routes. `setup`
 * wires the instance's index and the domain classes that own their routes, and returns the
 * runtime's health (plugin API v2).
 */
export const searchPlugin = definePlugin({
  name: SEARCH_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'French full-text search over debates, facets, and the committee and deputy routes',
  options: z.object({
    /** Matches counted, faceted and ranked exactly; beyond, the most recent ones (docs/search.md § Broad queries). */
    exactLimit: z.coerce.number().int().min(100).max(1_000_000).default(5000),
    /** The same for `/api/search/moments`: transcripts are ~3,000 moments a sitting (docs/search.md § Broad queries). */
    momentExactLimit: z.coerce.number().int().min(100).max(1_000_000).default(500),
  }),
  env: { exactLimit: 'SEARCH_EXACT_LIMIT', momentExactLimit: 'SEARCH_MOMENT_EXACT_LIMIT' },
  migrations: searchMigrations,
  unmanagedSchema: { tables: [/^search_debate/, /^search_moment/], triggers: true, routines: true },
  async setup(ctx) {
    const index = new SearchIndex(ctx, ctx.options.exactLimit, ctx.options.momentExactLimit);
    await index.open();
    index.register();
    const moments = new MomentSearch(index);
    moments.register();
    new DebateSearch(index, moments).register();
    new Directory(index).register();
    return { health: () => index.health() };
  },
});

export { SearchIndex, type SearchService } from './search-index.ts';
export { DebateSearch } from './debate-search.ts';
export { MomentSearch, momentViews, momentView, momentHit, momentResponse, MOMENTS_PER_DEBATE } from './moment-search.ts';
export { runMomentSearch, type MomentRequest, type MomentPage } from './moment-engine.ts';
export { toMomentTsQuery, toMomentFts5Query } from './moment-query.ts';
export { search0004Moments } from './moment-migrations.ts';
export { Directory, commissionRow, deputyRow } from './directory.ts';
export { searchQuery, searchResponse, searchHit, searchHighlight, HIGHLIGHT_FIELDS, type SearchQuery } from './wire.ts';
export { parseQuery, toTsQuery, toFts5Query, lightStem, normalizeText, highlight, termMatcher, hasTerms, FRENCH_STOP_WORDS, MAX_QUERY_LENGTH, MAX_QUERY_WORDS, type ParsedQuery, type QueryClause, type QueryItem, type QueryWord } from './query.ts';
export { runSearch, filterSubquery, SEARCH_PLANNER_SETTINGS, SEARCH_SORTS, type SearchRequest, type SearchPage, type SearchFilters, type SearchSort } from './engine.ts';
export { resolveName, suggest, editDistance, nameSimilarity, type Suggestion, type NameKind } from './names.ts';
export { searchMigrations, search0001Index, search0002Year, search0003Deferred } from './migrations.ts';
