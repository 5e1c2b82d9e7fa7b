import { createHmac, timingSafeEqual } from 'node:crypto';
import { defineEntity } from '@mikro-orm/core';
import { NotFoundError, sqlMigration, z, type EntityManager, type PluginContext } from '@robian/core';

const p = defineEntity.properties;

/** A private collection's feed key: its generation signs the token; deleting the row revokes it. */
export const PodcastFeedKeySchema = defineEntity({
  name: 'PodcastFeedKey',
  tableName: 'podcast_feed_key',
  properties: {
    collectionId: p.integer().primary().autoincrement(false),
    generation: p.integer().default(1),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const podcast0001 = sqlMigration('podcast-0001-feed-keys', {
  sqlite: ['create table `podcast_feed_key` (`collection_id` integer not null, `generation` integer not null default 1, `created_at` datetime not null, primary key (`collection_id`))'],
  postgresql: ['create table "podcast_feed_key" ("collection_id" int not null, "generation" int not null default 1, "created_at" timestamptz not null, primary key ("collection_id"))'],
}, {
  sqlite: ['drop table if exists `podcast_feed_key`'],
  postgresql: ['drop table if exists "podcast_feed_key"'],
});

/**
 * The tokens of private collections' feeds: HMAC(SECRET_KEY, collection, generation), so a token is
 * checked without storing it; a new token bumps the generation (the old one stops working) and
 * revoking deletes the row (no token works until a new one is made).
 */
export class FeedKeys {
  readonly #ctx: PluginContext;

  constructor(ctx: PluginContext) {
    this.#ctx = ctx;
  }

  #token(collectionId: number, generation: number): string {
    return createHmac('sha256', this.#ctx.config.secretKey).update(`podcast-feed\n${collectionId}\n${generation}`).digest('base64url');
  }

  #em(): EntityManager {
    return this.#ctx.orm.em.fork() as unknown as EntityManager;
  }

  async check(collectionId: number, token: string): Promise<boolean> {
    const row = await this.#em().findOne(PodcastFeedKeySchema, { collectionId } as never);
    if (!row) return false;
    const expected = Buffer.from(this.#token(collectionId, row.generation));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  register(): void {
    const { router, services } = this.#ctx;
    const params = z.object({ id: z.coerce.number().int().min(1).max(2 ** 31 - 1) });
    const owned = async (koa: { state: { principal?: unknown } }, id: number) => {
      const me = (koa.state.principal as { id: string } | undefined)?.id;
      const c = await services.maybe('listeners.collection')?.(id);
      if (!c || c.accountId !== me) throw new NotFoundError(`collection ${id} does not exist`);
      return c;
    };
    router.route({
      method: 'post',
      path: '/api/collections/{id}/feed-token',
      operationId: 'createCollectionFeedToken',
      summary: "A new secret feed URL for one of your collections (the previous one stops working)",
      tags: ['podcast'],
      auth: 'user',
      params,
      responses: { 200: { description: 'The feed URL with its token', schema: z.object({ token: z.string(), feed_url: z.string() }) }, 404: { description: 'Not your collection' } },
      handler: async (koa, { params: { id } }) => {
        await owned(koa, id);
        const em = this.#em();
        const row = await em.findOne(PodcastFeedKeySchema, { collectionId: id } as never);
        if (row) row.generation += 1;
        else em.create(PodcastFeedKeySchema, { collectionId: id } as never);
        await em.flush();
        const generation = row?.generation ?? 1;
        const token = this.#token(id, generation);
        return { token, feed_url: `/feeds/collections/${id}.xml?token=${token}` };
      },
    });
    router.route({
      method: 'delete',
      path: '/api/collections/{id}/feed-token',
      operationId: 'revokeCollectionFeedToken',
      summary: "Revoke your collection's secret feed URL",
      tags: ['podcast'],
      auth: 'user',
      params,
      status: 204,
      responses: { 204: { description: 'Revoked' }, 404: { description: 'Not your collection' } },
      handler: async (koa, { params: { id } }) => {
        await owned(koa, id);
        await this.#em().nativeDelete(PodcastFeedKeySchema, { collectionId: id } as never);
        return undefined;
      },
    });
  }
}
