import { z, type EntityManager, type PluginContext } from '@robian/core';
import { SenatStreamSchema } from './entities.ts';
import type { SenatOptions } from './options.ts';

const streamView = z.object({
  flux: z.string(),
  media_id: z.string(),
  debate_id: z.string(),
  stream_url: z.string().nullable(),
  last_seen_at: z.string(),
});

/** The live flux the last import saw, with the debate each one feeds. */
export class SenatStreams {
  readonly #ctx: PluginContext<SenatOptions>;

  constructor(ctx: PluginContext<SenatOptions>) {
    this.#ctx = ctx;
  }

  register(): void {
    this.#ctx.router.route({
      method: 'get',
      path: '/api/senat/streams',
      operationId: 'listSenatStreams',
      summary: 'The Sénat live flux seen by the last import, with their debates',
      tags: ['senat'],
      responses: { 200: { description: 'Flux', schema: z.object({ streams: z.array(streamView) }) } },
      handler: async () => {
        const em = this.#ctx.orm.em.fork() as unknown as EntityManager;
        const rows = await em.find(SenatStreamSchema, {}, { orderBy: { flux: 'asc' } });
        return {
          streams: rows.map((s) => ({ flux: s.flux, media_id: s.mediaId, debate_id: String(s.debate.id), stream_url: s.streamUrl ?? null, last_seen_at: s.lastSeenAt.toISOString() })),
        };
      },
    });
  }
}
