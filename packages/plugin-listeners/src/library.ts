import {
  ConflictError,
  DebateSchema,
  NotFoundError,
  ValidationError,
  toDebateView,
  type Debate,
  type EntityManager,
  type ListenerPosition,
  type PluginContext,
  type RobianContext,
} from '@robian/core';
import { listenerOf, isUniqueViolation, type Accounts } from './accounts.ts';
import {
  ListenerCollectionItemSchema,
  ListenerCollectionSchema,
  ListenerFavoriteSchema,
  ListenerProgressSchema,
  type ListenerCollection,
  type ListenerCollectionItem,
  type ListenerFavorite,
  type ListenerProgress,
} from './entities.ts';
import type { ListenersOptions } from './options.ts';
import {
  collectionAddBody,
  collectionCreateBody,
  collectionDebateParams,
  collectionDetailView,
  collectionListView,
  collectionOrderBody,
  collectionParams,
  collectionUpdateBody,
  collectionView,
  debateIdParams,
  favoriteBody,
  favoriteListView,
  favoriteView,
  pageQuery,
  progressBody,
  progressListView,
  progressView,
} from './wire.ts';
import type { z } from '@robian/core';

const DEBATE_POPULATE = ['debate', 'debate.commission', 'debate.speakers', 'debate.audioFiles'] as const;
const iso = (d: Date | string | number) => new Date(d).toISOString();
const accountIdOf = (row: { account: unknown }) => (row.account as { id: string }).id;
/** Answers with a status chosen at run time (the route's `status` is the usual one). */
function reply(koa: RobianContext, status: number, body: unknown): undefined {
  koa.status = status;
  koa.body = body;
  return undefined;
}

/** The future a device's clock may be ahead of the server's before its timestamps are clamped. */
const CLOCK_SKEW_MS = 60_000;

type CollectionView = z.output<typeof collectionView>;

function toCollectionView(c: ListenerCollection, count: number, viewer: string | undefined): CollectionView {
  return {
    id: String(c.id),
    name: c.name,
    description: c.description ?? null,
    color: c.color ?? null,
    icon: c.icon ?? null,
    sort_order: c.sortOrder,
    is_public: c.isPublic,
    is_owner: viewer !== undefined && accountIdOf(c) === viewer,
    debate_count: count,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

function toProgressView(p: ListenerProgress): z.output<typeof progressView> {
  return { debate_id: String((p.debate as unknown as { id: number }).id), position_seconds: Number(p.positionSeconds), rendition: p.rendition ?? null, updated_at: iso(p.updatedAt) };
}

/** Collections, favorites and resume positions of a listener account. */
export class Library {
  readonly ctx: PluginContext<ListenersOptions>;
  readonly accounts: Accounts;

  constructor(ctx: PluginContext<ListenersOptions>, accounts: Accounts) {
    this.ctx = ctx;
    this.accounts = accounts;
  }

  get em(): EntityManager {
    return this.ctx.em;
  }

  async #counts(ids: number[]): Promise<Map<number, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.em
      .getConnection()
      .execute<{ collection_id: number; n: number }[]>(
        `select collection_id, count(*) as n from listener_collection_item where collection_id in (${ids.map(() => '?').join(', ')}) group by collection_id`,
        ids,
      );
    return new Map(rows.map((r) => [Number(r.collection_id), Number(r.n)]));
  }

  /** A collection the caller may read: its own, or a public one. Anything else is "not found". */
  async #readable(id: number, viewer: string | undefined): Promise<ListenerCollection> {
    const c = await this.em.findOne(ListenerCollectionSchema, { id });
    if (!c || (!c.isPublic && accountIdOf(c) !== viewer)) throw new NotFoundError(`collection ${id} does not exist`);
    return c;
  }

  /** A collection and its debates in order, whoever owns it (for the podcast feeds, which check access themselves). */
  async collectionForFeed(id: number): Promise<{ id: number; name: string; description: string | null; isPublic: boolean; accountId: string; debateIds: number[] } | undefined> {
    const c = await this.em.findOne(ListenerCollectionSchema, { id });
    if (!c) return undefined;
    const items = await this.em.find(ListenerCollectionItemSchema, { collection: id } as never, { orderBy: { position: 'asc', id: 'asc' } as never });
    return { id: c.id, name: c.name, description: c.description ?? null, isPublic: c.isPublic, accountId: accountIdOf(c), debateIds: items.map((i) => (i.debate as unknown as { id: number }).id) };
  }

  /** A collection the caller owns; someone else's is "not found" too (no 403 that would confirm it exists). */
  async #owned(id: number, owner: string): Promise<ListenerCollection> {
    const c = await this.em.findOne(ListenerCollectionSchema, { id });
    if (!c || accountIdOf(c) !== owner) throw new NotFoundError(`collection ${id} does not exist`);
    return c;
  }

  async #debate(id: number): Promise<void> {
    const found = await this.em.count(DebateSchema, { id });
    if (!found) throw new NotFoundError(`debate ${id} does not exist`);
  }

  async #detail(c: ListenerCollection, viewer: string | undefined) {
    const items = (await this.em.find(ListenerCollectionItemSchema, { collection: c.id } as never, {
      populate: DEBATE_POPULATE as never,
      orderBy: [{ position: 'asc' }, { id: 'asc' }] as never,
      limit: this.ctx.options.maxCollectionItems,
    })) as ListenerCollectionItem[];
    return {
      ...toCollectionView(c, items.length, viewer),
      debates: items.map((i) => ({ position: i.position, added_at: iso(i.addedAt), debate: toDebateView(i.debate as unknown as Debate) })),
    };
  }

  /** Renumbers the items 0..n-1 in the given order of item ids. */
  async #renumber(orderedItemIds: number[]): Promise<void> {
    const conn = this.em.getConnection();
    await this.em.transactional(async (tx) => {
      const trx = tx.getTransactionContext();
      for (const [position, id] of orderedItemIds.entries()) {
        await conn.execute('update listener_collection_item set position = ? where id = ?', [position, id], 'run', trx);
      }
    });
  }

  async #touch(collectionId: number): Promise<void> {
    await this.em.nativeUpdate(ListenerCollectionSchema, { id: collectionId } as never, { updatedAt: new Date() } as never);
  }

  /** The caller's position in a debate for `GET /api/debats/{id}` (service `listeners.position`). */
  async position(koa: RobianContext, debateId: number): Promise<ListenerPosition | null | undefined> {
    let principal;
    try {
      principal = await this.accounts.authenticate(koa);
    } catch {
      return undefined; // a public route: a stale token only leaves the field out
    }
    if (!principal) return undefined;
    const row = await this.em.findOne(ListenerProgressSchema, { account: principal.id, debate: debateId } as never);
    if (!row) return null;
    const { debate_id: _d, ...view } = toProgressView(row as ListenerProgress);
    return view;
  }

  register(): void {
    const { router } = this.ctx;
    const collectionTags = ['listeners: collections'];

    router.route({
      method: 'get',
      path: '/api/collections/',
      operationId: 'listCollections',
      summary: "The caller's collections",
      tags: collectionTags,
      auth: 'user',
      responses: { 200: { description: 'Collections by sort order', schema: collectionListView } },
      handler: async (koa) => {
        const me = listenerOf(koa);
        const rows = (await this.em.find(ListenerCollectionSchema, { account: me.id } as never, {
          orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] as never,
        })) as ListenerCollection[];
        const counts = await this.#counts(rows.map((c) => c.id));
        return { collections: rows.map((c) => toCollectionView(c, counts.get(c.id) ?? 0, me.id)), total: rows.length };
      },
    });

    router.route({
      method: 'post',
      path: '/api/collections/',
      operationId: 'createCollection',
      summary: 'Create a collection',
      tags: collectionTags,
      auth: 'user',
      body: collectionCreateBody,
      status: 201,
      responses: { 201: { description: 'Created', schema: collectionView }, 409: { description: 'Too many collections' } },
      handler: async (koa, { body }) => {
        const me = listenerOf(koa);
        const em = this.em;
        const existing = await em.count(ListenerCollectionSchema, { account: me.id } as never);
        if (existing >= this.ctx.options.maxCollections) throw new ConflictError(`an account has at most ${this.ctx.options.maxCollections} collections`);
        const c = em.create(ListenerCollectionSchema, {
          account: me.id,
          name: body.name,
          description: body.description ?? null,
          color: body.color ?? null,
          icon: body.icon ?? null,
          sortOrder: body.sort_order ?? existing,
          isPublic: body.is_public ?? false,
        } as never) as ListenerCollection;
        await em.flush();
        koa.set('Location', `/api/collections/${c.id}`);
        return toCollectionView(c, 0, me.id);
      },
    });

    router.route({
      method: 'get',
      path: '/api/collections/{id}',
      operationId: 'getCollection',
      summary: 'A collection and its debates in order',
      description: 'A public collection is readable by anyone with its id; a private one only by its owner (others get 404).',
      tags: collectionTags,
      auth: 'user?',
      params: collectionParams,
      responses: { 200: { description: 'The collection', schema: collectionDetailView }, 404: { description: 'No such collection, or a private one of someone else' } },
      handler: async (koa, { params }) => {
        const viewer = (koa.state.principal as { id: string } | undefined)?.id;
        return this.#detail(await this.#readable(params.id, viewer), viewer);
      },
    });

    router.route({
      method: 'put',
      path: '/api/collections/{id}',
      operationId: 'updateCollection',
      summary: 'Change a collection (only the fields sent)',
      tags: collectionTags,
      auth: 'user',
      params: collectionParams,
      body: collectionUpdateBody,
      responses: { 200: { description: 'Updated', schema: collectionView }, 404: { description: 'No such collection of yours' } },
      handler: async (koa, { params, body }) => {
        const me = listenerOf(koa);
        const c = await this.#owned(params.id, me.id);
        if (body.name !== undefined) c.name = body.name;
        if (body.description !== undefined) c.description = body.description;
        if (body.color !== undefined) c.color = body.color;
        if (body.icon !== undefined) c.icon = body.icon;
        if (body.sort_order !== undefined) c.sortOrder = body.sort_order;
        if (body.is_public !== undefined) c.isPublic = body.is_public;
        await this.em.flush();
        return toCollectionView(c, (await this.#counts([c.id])).get(c.id) ?? 0, me.id);
      },
    });

    router.route({
      method: 'delete',
      path: '/api/collections/{id}',
      operationId: 'deleteCollection',
      summary: 'Delete a collection (the debates stay)',
      tags: collectionTags,
      auth: 'user',
      params: collectionParams,
      status: 204,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such collection of yours' } },
      handler: async (koa, { params }) => {
        const me = listenerOf(koa);
        await this.#owned(params.id, me.id);
        await this.em.transactional(async (tx) => {
          await tx.nativeDelete(ListenerCollectionItemSchema, { collection: params.id } as never);
          await tx.nativeDelete(ListenerCollectionSchema, { id: params.id } as never);
        });
        this.em.clear();
        koa.status = 204;
        return undefined;
      },
    });

    router.route({
      method: 'post',
      path: '/api/collections/{id}/debats/{debate_id}',
      operationId: 'addToCollection',
      summary: 'Add a debate to a collection (at the end, or at `position`)',
      tags: collectionTags,
      auth: 'user',
      params: collectionDebateParams,
      body: collectionAddBody,
      status: 201,
      responses: {
        201: { description: 'Added; the collection', schema: collectionDetailView },
        200: { description: 'Already there; the collection', schema: collectionDetailView },
        404: { description: 'No such collection of yours, or no such debate' },
        409: { description: 'The collection is full' },
      },
      handler: async (koa, { params, body }) => {
        const me = listenerOf(koa);
        const c = await this.#owned(params.id, me.id);
        await this.#debate(params.debate_id);
        const em = this.em;
        const items = (await em.find(ListenerCollectionItemSchema, { collection: c.id } as never, {
          orderBy: [{ position: 'asc' }, { id: 'asc' }] as never,
        })) as ListenerCollectionItem[];
        if (items.some((i) => (i.debate as unknown as { id: number }).id === params.debate_id)) {
          return reply(koa, 200, await this.#detail(c, me.id));
        }
        if (items.length >= this.ctx.options.maxCollectionItems) throw new ConflictError(`a collection holds at most ${this.ctx.options.maxCollectionItems} debates`);
        const at = Math.min(body.position ?? items.length, items.length);
        let item: ListenerCollectionItem;
        try {
          item = em.create(ListenerCollectionItemSchema, { collection: c.id, debate: params.debate_id, position: at } as never) as ListenerCollectionItem;
          await em.flush();
        } catch (err) {
          if (isUniqueViolation(err)) {
            em.clear();
            return reply(koa, 200, await this.#detail(await this.#owned(params.id, me.id), me.id));
          }
          throw err;
        }
        if (at < items.length) {
          const ids = items.map((i) => i.id);
          ids.splice(at, 0, item.id);
          await this.#renumber(ids);
        }
        await this.#touch(c.id);
        em.clear();
        return reply(koa, 201, await this.#detail(await this.#owned(params.id, me.id), me.id));
      },
    });

    router.route({
      method: 'delete',
      path: '/api/collections/{id}/debats/{debate_id}',
      operationId: 'removeFromCollection',
      summary: 'Take a debate out of a collection',
      tags: collectionTags,
      auth: 'user',
      params: collectionDebateParams,
      status: 204,
      responses: { 204: { description: 'Removed' }, 404: { description: 'No such collection of yours, or the debate is not in it' } },
      handler: async (koa, { params }) => {
        const me = listenerOf(koa);
        const c = await this.#owned(params.id, me.id);
        const removed = await this.em.nativeDelete(ListenerCollectionItemSchema, { collection: c.id, debate: params.debate_id } as never);
        if (!removed) throw new NotFoundError(`debate ${params.debate_id} is not in collection ${params.id}`);
        await this.#touch(c.id);
        koa.status = 204;
        return undefined;
      },
    });

    router.route({
      method: 'put',
      path: '/api/collections/{id}/order',
      operationId: 'orderCollection',
      summary: 'Put the debates of a collection in a new order',
      description: '`debate_ids` lists every debate of the collection once, in the wanted order.',
      tags: collectionTags,
      auth: 'user',
      params: collectionParams,
      body: collectionOrderBody,
      responses: { 200: { description: 'The collection in its new order', schema: collectionDetailView }, 404: { description: 'No such collection of yours' } },
      handler: async (koa, { params, body }) => {
        const me = listenerOf(koa);
        const c = await this.#owned(params.id, me.id);
        const items = (await this.em.find(ListenerCollectionItemSchema, { collection: c.id } as never)) as ListenerCollectionItem[];
        const byDebate = new Map(items.map((i) => [(i.debate as unknown as { id: number }).id, i.id]));
        const wanted = body.debate_ids;
        const unique = new Set(wanted);
        if (unique.size !== wanted.length || wanted.length !== items.length || wanted.some((id) => !byDebate.has(id))) {
          throw new ValidationError([
            { in: 'body', field: 'debate_ids', message: `expected each of the collection's ${items.length} debates exactly once (in the wanted order)` },
          ]);
        }
        await this.#renumber(wanted.map((id) => byDebate.get(id)!));
        await this.#touch(c.id);
        this.em.clear();
        return this.#detail(await this.#owned(params.id, me.id), me.id);
      },
    });

    const favoriteTags = ['listeners: favorites'];
    const favoriteOut = (f: ListenerFavorite) => ({
      debate_id: String((f.debate as unknown as { id: number }).id),
      note: f.note ?? null,
      tags: f.tags ?? [],
      created_at: iso(f.createdAt),
      updated_at: iso(f.updatedAt),
      debate: toDebateView(f.debate as unknown as Debate),
    });

    router.route({
      method: 'get',
      path: '/api/favorites/',
      operationId: 'listFavorites',
      summary: "The caller's favorite debates, latest first",
      tags: favoriteTags,
      auth: 'user',
      query: pageQuery,
      responses: { 200: { description: 'A page of favorites', schema: favoriteListView } },
      handler: async (koa, { query }) => {
        const me = listenerOf(koa);
        const offset = (query.page - 1) * query.per_page;
        const [rows, total] = await this.em.findAndCount(ListenerFavoriteSchema, { account: me.id } as never, {
          populate: DEBATE_POPULATE as never,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] as never,
          limit: query.per_page,
          offset,
        });
        return { favorites: (rows as ListenerFavorite[]).map(favoriteOut), total, page: query.page, per_page: query.per_page, has_next: offset + rows.length < total };
      },
    });

    router.route({
      method: 'post',
      path: '/api/favorites/{debate_id}',
      operationId: 'addFavorite',
      summary: 'Mark a debate as a favorite (or change its note and tags)',
      tags: favoriteTags,
      auth: 'user',
      params: debateIdParams,
      body: favoriteBody,
      status: 201,
      responses: {
        201: { description: 'Added', schema: favoriteView },
        200: { description: 'Already a favorite; note and tags updated when sent', schema: favoriteView },
        404: { description: 'No such debate' },
      },
      handler: async (koa, { params, body }) => {
        const me = listenerOf(koa);
        await this.#debate(params.debate_id);
        const em = this.em;
        let favorite = (await em.findOne(ListenerFavoriteSchema, { account: me.id, debate: params.debate_id } as never)) as ListenerFavorite | null;
        let status = 200;
        if (favorite) {
          if (body.note !== undefined) favorite.note = body.note;
          if (body.tags !== undefined) favorite.tags = body.tags;
          await em.flush();
        } else {
          const count = await em.count(ListenerFavoriteSchema, { account: me.id } as never);
          if (count >= this.ctx.options.maxFavorites) throw new ConflictError(`an account has at most ${this.ctx.options.maxFavorites} favorites`);
          try {
            favorite = em.create(ListenerFavoriteSchema, { account: me.id, debate: params.debate_id, note: body.note ?? null, tags: body.tags ?? null } as never) as ListenerFavorite;
            await em.flush();
            status = 201;
          } catch (err) {
            if (!isUniqueViolation(err)) throw err; // the same favorite added twice at once: the other won
            em.clear();
          }
        }
        em.clear();
        const fresh = (await em.findOne(ListenerFavoriteSchema, { account: me.id, debate: params.debate_id } as never, { populate: DEBATE_POPULATE as never })) as ListenerFavorite;
        return reply(koa, status, favoriteOut(fresh));
      },
    });

    router.route({
      method: 'delete',
      path: '/api/favorites/{debate_id}',
      operationId: 'removeFavorite',
      summary: 'Unmark a favorite',
      tags: favoriteTags,
      auth: 'user',
      params: debateIdParams,
      status: 204,
      responses: { 204: { description: 'Removed' }, 404: { description: 'Not a favorite' } },
      handler: async (koa, { params }) => {
        const me = listenerOf(koa);
        const removed = await this.em.nativeDelete(ListenerFavoriteSchema, { account: me.id, debate: params.debate_id } as never);
        if (!removed) throw new NotFoundError(`debate ${params.debate_id} is not a favorite`);
        koa.status = 204;
        return undefined;
      },
    });

    const progressTags = ['listeners: progress'];

    router.route({
      method: 'put',
      path: '/api/me/progress/{debate_id}',
      operationId: 'saveProgress',
      summary: 'Save where the listener stopped in a debate',
      description:
        'The latest write wins across devices, by `updated_at` (the device time of the position; the server time when absent, clamped to the server time plus one minute). An older write is ignored and the stored position is returned with `applied: false`.',
      tags: progressTags,
      auth: 'user',
      params: debateIdParams,
      body: progressBody,
      responses: { 200: { description: 'The stored position', schema: progressView }, 404: { description: 'No such debate' } },
      handler: async (koa, { params, body }) => {
        const me = listenerOf(koa);
        await this.#debate(params.debate_id);
        const em = this.em;
        const now = new Date();
        let at = body.updated_at ?? now;
        if (at.getTime() > now.getTime() + CLOCK_SKEW_MS) at = new Date(now.getTime() + CLOCK_SKEW_MS);
        const values = { positionSeconds: body.position_seconds, rendition: body.rendition ?? null, updatedAt: at, receivedAt: now };
        const key = { account: me.id, debate: params.debate_id };
        let applied = (await em.nativeUpdate(ListenerProgressSchema, { ...key, updatedAt: { $lt: at } } as never, values as never)) > 0;
        if (!applied) {
          const exists = await em.count(ListenerProgressSchema, key as never);
          if (!exists) {
            try {
              await em.insert(ListenerProgressSchema, { ...key, ...values } as never);
              applied = true;
            } catch (err) {
              if (!isUniqueViolation(err)) throw err;
              // another device wrote first: compare with its timestamp
              applied = (await em.nativeUpdate(ListenerProgressSchema, { ...key, updatedAt: { $lt: at } } as never, values as never)) > 0;
            }
          }
        }
        em.clear();
        const row = (await em.findOne(ListenerProgressSchema, key as never)) as ListenerProgress;
        return { ...toProgressView(row), applied };
      },
    });

    router.route({
      method: 'get',
      path: '/api/me/progress',
      operationId: 'listProgress',
      summary: "The caller's positions, most recent first",
      tags: progressTags,
      auth: 'user',
      query: pageQuery,
      responses: { 200: { description: 'A page of positions', schema: progressListView } },
      handler: async (koa, { query }) => {
        const me = listenerOf(koa);
        const offset = (query.page - 1) * query.per_page;
        const [rows, total] = await this.em.findAndCount(ListenerProgressSchema, { account: me.id } as never, {
          populate: ['debate'] as never,
          orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }] as never,
          limit: query.per_page,
          offset,
        });
        return {
          progress: (rows as ListenerProgress[]).map((p) => ({ ...toProgressView(p), debate_title: (p.debate as unknown as Debate).title })),
          total,
          page: query.page,
          per_page: query.per_page,
          has_next: offset + rows.length < total,
        };
      },
    });

    router.route({
      method: 'delete',
      path: '/api/me/progress/{debate_id}',
      operationId: 'deleteProgress',
      summary: 'Forget the position in a debate',
      tags: progressTags,
      auth: 'user',
      params: debateIdParams,
      status: 204,
      responses: { 204: { description: 'Forgotten' }, 404: { description: 'No position for this debate' } },
      handler: async (koa, { params }) => {
        const me = listenerOf(koa);
        const removed = await this.em.nativeDelete(ListenerProgressSchema, { account: me.id, debate: params.debate_id } as never);
        if (!removed) throw new NotFoundError(`no position for debate ${params.debate_id}`);
        koa.status = 204;
        return undefined;
      },
    });
  }

  /** Removes what pointed at a deleted debate (the foreign keys cascade; this also covers databases where they did not). */
  async forgetDebate(id: number): Promise<void> {
    const em = this.ctx.orm.em.fork() as unknown as EntityManager;
    await em.nativeDelete(ListenerCollectionItemSchema, { debate: id } as never);
    await em.nativeDelete(ListenerFavoriteSchema, { debate: id } as never);
    await em.nativeDelete(ListenerProgressSchema, { debate: id } as never);
  }
}
