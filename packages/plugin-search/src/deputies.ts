import { debateListQuery } from '@robian/core';
import { deputyRow, type Directory } from './directory.ts';
import type { SearchIndex } from './search-index.ts';
import { deputyList, debatesOfDeputy, nameParams, namedListQuery, notFoundWithSuggestions, pageOf, stableKey } from './wire.ts';

/** Deputies: `GET /api/deputes/` and `GET /api/deputes/{name}/debats`. */
export class Deputies {
  readonly index: SearchIndex;
  readonly directory: Directory;

  constructor(index: SearchIndex, directory: Directory) {
    this.index = index;
    this.directory = directory;
  }

  register(): void {
    const { ctx, cache } = this.index;
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
          const { rows, total } = await this.directory.list('deputy', query);
          return { deputes: rows.map(deputyRow), ...pageOf(total, query.page, query.per_page, rows.length) };
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
          const { row, ...rest } = await this.directory.debatesOf('deputy', params.name, query);
          return { depute: deputyRow(row), ...rest };
        }),
    });
  }
}
