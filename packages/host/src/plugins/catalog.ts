import {
  DebateSchema,
  AudioFileSchema,
  NotFoundError,
  PLUGIN_API_VERSION,
  cacheKeyOf,
  debateCreateSchema,
  debateFilter,
  resolveListNames,
  debateListQuery,
  debateListView,
  debateOrder,
  debateUpdateSchema,
  debateView,
  definePlugin,
  idParams,
  statsView,
  loadDebatePage,
  toDebateView,
  z,
  type Debate,
  type DebateCreateInput,
  type DebateUpdateInput,
  type DebateView,
  type EntityManager,
  type PluginContext,
  type CacheNamespace,
  type JsonBody,
  type RobianContext,
  NO_ID,
} from '@robian/core';

import { POPULATE, loadView, saveDebate } from './debate-writes.ts';
import { ViewCounter } from './view-counter.ts';

export const CATALOG_PLUGIN = 'catalog';

const listenerPositionView = z
  .object({ position_seconds: z.number(), rendition: z.string().nullable(), updated_at: z.string() })
  .meta({ id: 'ListenerPosition' });

/** The catalogue's routes: `/api/debats/…` (the seed README's) and `/api/debates/…` (the original's), one handler each. */
class Debates {
  readonly ctx: PluginContext;
  readonly cache: CacheNamespace;
  readonly views: ViewCounter;

  constructor(ctx: PluginContext, viewFlushIntervalMs: number) {
    this.ctx = ctx;
    this.cache = ctx.cache.namespace('debates', ctx.config.cacheTtl.debates);
    this.views = new ViewCounter(ctx, viewFlushIntervalMs);
    ctx.onStop(() => this.views.stop());
  }

  get em(): EntityManager {
    return this.ctx.em as unknown as EntityManager;
  }

  register(): void {
    const router = this.ctx.router;
    for (const [base, original] of [
      ['/api/debats', false],
      ['/api/debates', true],
    ] as const) {
      const suffix = original ? 'Original' : '';
      const tags = ['debates'];
      const note = original ? ' (the original RobianAPI\'s path)' : '';
      router.route({
        method: 'get',
        path: `${base}/`,
        operationId: `listDebates${suffix}`,
        summary: `List debates, filtered, sorted and paginated${note}`,
        description: 'Strong `ETag`; `If-None-Match` gets a 304.',
        tags,
        query: debateListQuery,
        responses: { 200: { description: 'A page of debates', schema: debateListView }, 304: { description: 'Not modified' } },
        handler: (_koa, { query }) => this.list(query),
      });
      router.route({
        method: 'get',
        path: `${base}/{id}`,
        operationId: `getDebate${suffix}`,
        summary: `One debate${note}`,
        tags,
        params: idParams,
        description: "Counts a view. With a listener access token (when plugin-listeners is installed), `progress` carries the caller's resume position (null when none). Strong `ETag`; `If-None-Match` gets a 304.",
        responses: {
          200: { description: 'The debate', schema: debateView.extend({ progress: listenerPositionView.nullable().optional() }) },
          304: { description: 'Not modified' },
          404: { description: 'No such debate' },
        },
        handler: (koa, { params }) => this.detail(koa, params.id),
      });
      router.route({
        method: 'post',
        path: `${base}/`,
        operationId: `createDebate${suffix}`,
        summary: `Create a debate (admin)${note}`,
        description: original ? 'Answers 200, as the original did.' : undefined,
        tags,
        auth: 'admin',
        body: debateCreateSchema,
        status: original ? 200 : 201,
        responses: { [original ? 200 : 201]: { description: 'Created', schema: debateView }, 409: { description: 'source_url or (source, external_id) already used' } },
        handler: (koa, { body }) => this.create(koa, body),
      });
      router.route({
        method: 'put',
        path: `${base}/{id}`,
        operationId: `updateDebate${suffix}`,
        summary: `Change a debate (admin); only the fields sent change${note}`,
        tags,
        auth: 'admin',
        params: idParams,
        body: debateUpdateSchema,
        responses: { 200: { description: 'Updated', schema: debateView }, 404: { description: 'No such debate' }, 409: { description: 'Conflict' } },
        handler: (_koa, { params, body }) => this.update(params.id, body as DebateUpdateInput),
      });
      router.route({
        method: 'delete',
        path: `${base}/{id}`,
        operationId: `deleteDebate${suffix}`,
        summary: `Delete a debate and what belongs to it (admin)${note}`,
        description: original ? 'Answers 200 `{message}`, as the original did.' : undefined,
        tags,
        auth: 'admin',
        params: idParams,
        responses: original
          ? { 200: { description: 'Deleted', schema: deletedView }, 404: { description: 'No such debate' } }
          : { 204: { description: 'Deleted' }, 404: { description: 'No such debate' } },
        handler: async (koa, { params }) => {
          await this.delete(params.id);
          if (original) return { message: `Débat ${params.id} supprimé` };
          koa.status = 204;
          return undefined;
        },
      });
    }

    router.route({
      method: 'get',
      path: '/api/stats',
      operationId: 'getStats',
      summary: 'Catalogue statistics',
      tags: ['debates'],
      responses: { 200: { description: 'Counts', schema: statsView } },
      handler: () => this.cache.wrapJson('stats', () => this.stats()),
    });
  }

  list(query: z.output<typeof debateListQuery>): Promise<JsonBody | undefined> {
    return this.cache.wrapJson(`list:${cacheKeyOf(query as Record<string, unknown>)}`, async () => {
      const offset = (query.page - 1) * query.per_page;
      // the page's views without hydrating entities (docs/performance.md, debates list)
      // ?commission= and ?depute= name them as /api/commissions/{name}/debats does (one resolution)
      const names = await resolveListNames(this.em, query);
      const where = debateFilter(query, { dialect: this.ctx.config.database.kind, names });
      const { total, debates: items } = await loadDebatePage(this.em, where, { orderBy: debateOrder(query), limit: query.per_page, offset });
      return { debates: items, total, page: query.page, per_page: query.per_page, has_next: offset + items.length < total, has_prev: query.page > 1 };
    });
  }

  async detail(koa: RobianContext, id: number): Promise<JsonBody> {
    const body = id === NO_ID ? undefined : await this.cache.wrapJson(`detail:${id}`, async () => (await loadView(this.em, id)) ?? undefined);
    if (!body) throw new NotFoundError(`debate ${koa.params.id} does not exist`);
    this.views.add(id);
    // per-caller fields are added after the shared cache, never stored in it
    const position = this.ctx.services.maybe('listeners.position');
    if (position) {
      const progress = await position(koa, id);
      if (progress !== undefined) {
        koa.set('Cache-Control', 'private, no-cache');
        return body.withFields({ progress });
      }
    }
    return body;
  }

  async create(koa: RobianContext, body: DebateCreateInput): Promise<DebateView> {
    const manager = this.em;
    const debate = manager.create(DebateSchema, { title: body.title, date: body.date, ...(body.source ? { source: body.source } : {}) } as never) as Debate;
    await saveDebate(manager, debate, body);
    await this.cache.invalidate();
    const view = (await loadView(manager, debate.id))!;
    koa.set('Location', `/api/debats/${debate.id}`);
    void this.ctx.events.emit('debate.created', { debate: view });
    return view;
  }

  async update(id: number, body: DebateUpdateInput): Promise<DebateView> {
    const manager = this.em;
    const debate = (await manager.findOne(DebateSchema, { id }, { populate: ['speakers'] as never })) as Debate | null;
    if (!debate) throw new NotFoundError(`debate ${id === NO_ID ? 'with this id' : id} does not exist`);
    const previousStatus = debate.status;
    await saveDebate(manager, debate, body, debate.id);
    await this.cache.invalidate();
    manager.clear();
    const view = (await loadView(manager, debate.id))!;
    void this.ctx.events.emit('debate.updated', { debate: view, previousStatus });
    return view;
  }

  async delete(id: number): Promise<void> {
    const manager = this.em;
    const debate = (await manager.findOne(DebateSchema, { id }, { populate: POPULATE as never })) as Debate | null;
    if (!debate) throw new NotFoundError(`debate ${id === NO_ID ? 'with this id' : id} does not exist`);
    const view = toDebateView(debate);
    await manager.transactional(async (tx) => {
      await tx.nativeDelete(AudioFileSchema, { debate: id } as never);
      await tx.getConnection().execute('delete from debate_speaker where debate_id = ?', [id], 'run', tx.getTransactionContext());
      await tx.nativeDelete(DebateSchema, { id });
    });
    manager.clear();
    await this.cache.invalidate();
    void this.ctx.events.emit('debate.deleted', { id, debate: view });
  }

  async stats(): Promise<z.output<typeof statsView>> {
    const conn = this.em.getConnection();
    const [totals] = await conn.execute<{ total: number; with_audio: number; minutes: number; views: number; latest: string | Date | null }[]>(
      'select count(*) as total, coalesce(sum(case when has_audio then 1 else 0 end), 0) as with_audio, coalesce(sum(duration_minutes), 0) as minutes, coalesce(sum(view_count), 0) as views, max(date) as latest from debate',
    );
    const byType = await conn.execute<{ k: string; n: number }[]>('select type as k, count(*) as n from debate group by type');
    const byStatus = await conn.execute<{ k: string; n: number }[]>('select status as k, count(*) as n from debate group by status');
    const [counts] = await conn.execute<{ c: number; d: number; a: number }[]>(
      'select (select count(*) from commission) as c, (select count(*) from deputy) as d, (select count(*) from audio_file) as a',
    );
    const latest = totals?.latest ? new Date(typeof totals.latest === 'string' && /^\d+$/.test(totals.latest) ? Number(totals.latest) : totals.latest) : null;
    return {
      total_debates: Number(totals?.total ?? 0),
      debates_with_audio: Number(totals?.with_audio ?? 0),
      total_duration_minutes: Number(totals?.minutes ?? 0),
      total_views: Number(totals?.views ?? 0),
      total_commissions: Number(counts?.c ?? 0),
      total_deputies: Number(counts?.d ?? 0),
      total_audio_files: Number(counts?.a ?? 0),
      by_type: Object.fromEntries(byType.map((r) => [r.k, Number(r.n)])),
      by_status: Object.fromEntries(byStatus.map((r) => [r.k, Number(r.n)])),
      latest_debate_date: latest && !Number.isNaN(latest.getTime()) ? latest.toISOString() : null,
    };
  }
}

const deletedView = z.object({ message: z.string() }).meta({ id: 'Deleted' });

/**
 * The debates catalogue: list, detail, create/update/delete (admin) and stats, on the wire
 * format of the original API, under both path families.
 */
export const catalogPlugin = definePlugin({
  name: CATALOG_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Debates: list, detail, admin writes, stats',
  options: z.object({
    viewFlushIntervalMs: z.coerce.number().int().min(50).max(600_000).default(2000),
  }),
  setup(ctx) {
    new Debates(ctx as PluginContext, ctx.options.viewFlushIntervalMs).register();
  },
});
