import { debateListQuery } from '@robian/core';
import { commissionRow, type Directory } from './directory.ts';
import type { SearchIndex } from './search-index.ts';
import { commissionList, debatesOfCommission, nameParams, namedListQuery, notFoundWithSuggestions, pageOf, stableKey } from './wire.ts';

/** Committees: `GET /api/commissions/` and `GET /api/commissions/{name}/debats`. */
export class Committees {
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
      path: '/api/commissions/',
      operationId: 'listCommissions',
      summary: 'Committees, with their number of debates',
      tags: ['search'],
      query: namedListQuery,
      responses: { 200: { description: 'A page of committees', schema: commissionList } },
      handler: async (_koa, { query }) =>
        cache.wrap(`commissions:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { rows, total } = await this.directory.list('commission', query);
          return { commissions: rows.map(commissionRow), ...pageOf(total, query.page, query.per_page, rows.length) };
        }),
    });

    ctx.router.route({
      method: 'get',
      path: '/api/commissions/{name}/debats',
      operationId: 'listCommissionDebates',
      summary: "A committee's debates (filters and pagination of /api/debats/)",
      tags: ['search'],
      params: nameParams,
      query: debateListQuery,
      responses: { 200: { description: 'The committee and a page of its debates', schema: debatesOfCommission }, 404: notFoundWithSuggestions },
      handler: async (_koa, { params, query }) =>
        cache.wrap(`commission:${encodeURIComponent(params.name)}:${stableKey(query as Record<string, unknown>)}`, async () => {
          const { row, ...rest } = await this.directory.debatesOf('commission', params.name, query);
          return { commission: commissionRow(row), ...rest };
        }),
    });
  }
}
