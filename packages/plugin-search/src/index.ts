export { searchPlugin, searchQuery, searchResponse, searchHit, searchHighlight, SEARCH_PLUGIN, HIGHLIGHT_FIELDS, type SearchService, type SearchQuery } from './plugin.ts';
export { parseQuery, toTsQuery, toFts5Query, lightStem, normalizeText, highlight, termMatcher, hasTerms, FRENCH_STOP_WORDS, MAX_QUERY_LENGTH, MAX_QUERY_WORDS, type ParsedQuery, type QueryClause, type QueryItem, type QueryWord } from './query.ts';
export { runSearch, filterSubquery, SEARCH_PLANNER_SETTINGS, SEARCH_SORTS, type SearchRequest, type SearchPage, type SearchFilters, type SearchSort } from './engine.ts';
export { resolveName, suggest, editDistance, nameSimilarity, type Suggestion, type NameKind } from './names.ts';
export { searchMigrations, search0001Index, search0002Year, search0003Deferred } from './migrations.ts';
