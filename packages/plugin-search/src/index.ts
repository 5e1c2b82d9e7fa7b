import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { DebateSearch } from './debate-search.ts';
import { Directory } from './directory.ts';
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
  migrations: searchMigrations,
  unmanagedSchema: { tables: [/^search_debate/], triggers: true, routines: true },
  async setup(ctx) {
    const index = new SearchIndex(ctx);
    await index.open();
    index.register();
    new DebateSearch(index).register();
    new Directory(index).register();
    return { health: () => index.health() };
  },
});

export { SearchIndex, type SearchService } from './search-index.ts';
export { DebateSearch } from './debate-search.ts';
export { Directory, commissionRow, deputyRow } from './directory.ts';
export { searchQuery, searchResponse, searchHit, searchHighlight, HIGHLIGHT_FIELDS, type SearchQuery } from './wire.ts';
export { parseQuery, toTsQuery, toFts5Query, lightStem, normalizeText, highlight, termMatcher, hasTerms, FRENCH_STOP_WORDS, MAX_QUERY_LENGTH, MAX_QUERY_WORDS, type ParsedQuery, type QueryClause, type QueryItem, type QueryWord } from './query.ts';
export { runSearch, filterSubquery, SEARCH_PLANNER_SETTINGS, SEARCH_SORTS, type SearchRequest, type SearchPage, type SearchFilters, type SearchSort } from './engine.ts';
export { resolveName, suggest, editDistance, nameSimilarity, type Suggestion, type NameKind } from './names.ts';
export { searchMigrations, search0001Index, search0002Year, search0003Deferred } from './migrations.ts';
