import {
  ConflictError,
  DebateSchema,
  CommissionSchema,
  DeputySchema,
  AudioFileSchema,
  NotFoundError,
  PLUGIN_API_VERSION,
  ValidationError,
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
} from '@robian/core';

export const CATALOG_PLUGIN = 'catalog';

const listenerPositionView = z
  .object({ position_seconds: z.number(), rendition: z.string().nullable(), updated_at: z.string() })
  .meta({ id: 'ListenerPosition' });
const POPULATE = ['commission', 'speakers', 'audioFiles'] as const;

/** Buffers view counts and writes them in one statement per debate every few seconds. */
class ViewCounter {
  readonly #pending = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly ctx: PluginContext;
  readonly intervalMs: number;
  constructor(ctx: PluginContext, intervalMs: number) {
    this.ctx = ctx;
    this.intervalMs = intervalMs;
  }

  add(id: number): void {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.flush(), this.intervalMs);
      this.#timer.unref();
    }
    this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
  }

  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = [...this.#pending];
      this.#pending.clear();
      const em = this.ctx.orm.em.fork() as unknown as EntityManager;
      for (const [id, n] of batch) {
        try {
          await em.getConnection().execute('update debate set view_count = view_count + ? where id = ?', [n, id]);
        } catch (err) {
          this.ctx.logger.warn({ err, debate: id }, 'could not record views');
        }
      }
    });
    return this.#flushing;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}

function stableKey(query: Record<string, unknown>): string {
  return Object.keys(query)
    .sort()
    .filter((k) => query[k] !== undefined)
    .map((k) => `${k}=${query[k] instanceof Date ? (query[k] as Date).toISOString() : String(query[k])}`)
    .join('&');
}

async function loadView(em: EntityManager, id: number): Promise<DebateView | null> {
  const debate = await em.findOne(DebateSchema, { id }, { populate: POPULATE as never });
  return debate ? toDebateView(debate as Debate) : null;
}

/** Applies the input, checks uniqueness and writes; a unique violation racing past the check is a 409 too. */
async function saveDebate(em: EntityManager, debate: Debate, input: Partial<DebateCreateInput>, exceptId?: number): Promise<void> {
  await applyInput(em, debate, input);
  await assertUnique(em, debate, exceptId);
  try {
    await em.flush();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('a debate with this source_url or (source, external_id) already exists');
    throw err;
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return e?.name === 'UniqueConstraintViolationException' || e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}

async function applyInput(em: EntityManager, debate: Debate, input: Partial<DebateCreateInput>): Promise<void> {
  const set = <K extends keyof Debate>(key: K, value: unknown) => {
    if (value !== undefined) (debate as Record<string, unknown>)[key as string] = value;
  };
  set('title', input.title);
  set('description', input.description);
  set('type', input.type);
  set('status', input.status);
  set('date', input.date);
  set('startTime', input.start_time);
  set('endTime', input.end_time);
  set('durationMinutes', input.duration_minutes);
  set('location', input.location);
  set('legislature', input.legislature);
  set('source', input.source);
  set('externalId', input.external_id);
  set('sourceUrl', input.source_url);
  set('videoUrl', input.video_url);
  set('thumbnailUrl', input.thumbnail_url);
  set('agendaPoints', input.agenda_points);
  set('keywords', input.keywords);
  set('tags', input.tags);
  set('chapters', input.chapters);
  if (input.commission_id !== undefined) {
    if (input.commission_id === null) debate.commission = null as never;
    else {
      const commission = await em.findOne(CommissionSchema, { id: input.commission_id });
      if (!commission) throw new ValidationError([{ in: 'body', field: 'commission_id', message: `no commission has id ${input.commission_id}` }]);
      debate.commission = commission as never;
    }
  }
  if (input.speaker_ids !== undefined) {
    const ids = [...new Set(input.speaker_ids)];
    const deputies = ids.length ? await em.find(DeputySchema, { id: { $in: ids } }) : [];
    if (deputies.length !== ids.length) {
      const found = new Set(deputies.map((d) => d.id));
      const missing = ids.filter((id) => !found.has(id));
      throw new ValidationError([{ in: 'body', field: 'speaker_ids', message: `no deputy has id ${missing.join(', ')}` }]);
    }
    debate.speakers.set(deputies as never);
  }
  if (debate.startTime && debate.endTime && debate.durationMinutes == null) {
    debate.durationMinutes = Math.max(0, Math.round((new Date(debate.endTime).getTime() - new Date(debate.startTime).getTime()) / 60000));
  }
  if (debate.startTime && debate.endTime && new Date(debate.endTime) < new Date(debate.startTime)) {
    throw new ValidationError([{ in: 'body', field: 'end_time', message: 'end_time is before start_time' }]);
  }
}

async function assertUnique(em: EntityManager, debate: Partial<Debate>, exceptId?: number): Promise<void> {
  if (debate.sourceUrl) {
    const other = await em.findOne(DebateSchema, { sourceUrl: debate.sourceUrl, ...(exceptId ? { id: { $ne: exceptId } } : {}) });
    if (other) throw new ConflictError(`a debate with this source_url already exists (id ${other.id})`, { field: 'source_url', existing_id: other.id });
  }
  if (debate.externalId) {
    const other = await em.findOne(DebateSchema, {
      source: debate.source ?? 'manual',
      externalId: debate.externalId,
      ...(exceptId ? { id: { $ne: exceptId } } : {}),
    });
    if (other) throw new ConflictError(`a debate with this source and external_id already exists (id ${other.id})`, { field: 'external_id', existing_id: other.id });
  }
}

/**
 * The debates catalogue: list, detail, create/update/delete (admin) and stats, on the wire
 * format of the original API.
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
    const ttl = ctx.config.cacheTtl.debates;
    const cache = ctx.cache.namespace('debates', ttl);
    const views = new ViewCounter(ctx as PluginContext, ctx.options.viewFlushIntervalMs);
    ctx.onStop(() => views.stop());
    const em = () => ctx.em;

    const changed = async () => {
      await cache.invalidate();
    };

    ctx.router.route({
      method: 'get',
      path: '/api/debats/',
      operationId: 'listDebates',
      summary: 'List debates, filtered, sorted and paginated',
      tags: ['debates'],
      query: debateListQuery,
      responses: { 200: { description: 'A page of debates', schema: debateListView } },
      handler: async (_koa, { query }) => {
        return cache.wrap(`list:${stableKey(query as Record<string, unknown>)}`, async () => {
          const offset = (query.page - 1) * query.per_page;
          // the page's views without hydrating entities (docs/performance.md, debates list)
          // ?commission= and ?depute= name them as /api/commissions/{name}/debats does (one resolution)
          const names = await resolveListNames(em(), query);
          const where = debateFilter(query, { dialect: ctx.config.database.kind, names });
          const { total, debates: items } = await loadDebatePage(em(), where, { orderBy: debateOrder(query), limit: query.per_page, offset });
          return {
            debates: items,
            total,
            page: query.page,
            per_page: query.per_page,
            has_next: offset + items.length < total,
            has_prev: query.page > 1,
          };
        });
      },
    });

    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}',
      operationId: 'getDebate',
      summary: 'One debate',
      tags: ['debates'],
      params: idParams,
      description: 'With a listener access token (when plugin-listeners is installed), `progress` carries the caller\'s resume position (null when none).',
      responses: { 200: { description: 'The debate', schema: debateView.extend({ progress: listenerPositionView.nullable().optional() }) }, 404: { description: 'No such debate' } },
      handler: async (koa, { params }) => {
        const view = await cache.wrap(`detail:${params.id}`, async () => (await loadView(em(), params.id)) ?? undefined);
        if (!view) throw new NotFoundError(`debate ${params.id} does not exist`);
        views.add(params.id);
        // per-caller fields are added after the shared cache, never stored in it
        const position = ctx.services.maybe('listeners.position');
        if (position) {
          const progress = await position(koa, params.id);
          if (progress !== undefined) return { ...view, progress };
        }
        return view;
      },
    });

    ctx.router.route({
      method: 'post',
      path: '/api/debats/',
      operationId: 'createDebate',
      summary: 'Create a debate (admin)',
      tags: ['debates'],
      auth: 'admin',
      body: debateCreateSchema,
      status: 201,
      responses: { 201: { description: 'Created', schema: debateView }, 409: { description: 'source_url or (source, external_id) already used' } },
      handler: async (koa, { body }) => {
        const manager = em();
        const debate = manager.create(DebateSchema, { title: body.title, date: body.date } as never) as Debate;
        await saveDebate(manager, debate, body);
        await changed();
        const view = (await loadView(manager, debate.id))!;
        koa.set('Location', `/api/debats/${debate.id}`);
        void ctx.events.emit('debate.created', { debate: view });
        return view;
      },
    });

    ctx.router.route({
      method: 'put',
      path: '/api/debats/{id}',
      operationId: 'updateDebate',
      summary: 'Change a debate (admin); only the fields sent change',
      tags: ['debates'],
      auth: 'admin',
      params: idParams,
      body: debateUpdateSchema,
      responses: { 200: { description: 'Updated', schema: debateView }, 404: { description: 'No such debate' }, 409: { description: 'Conflict' } },
      handler: async (_koa, { params, body }) => {
        const manager = em();
        const debate = (await manager.findOne(DebateSchema, { id: params.id }, { populate: ['speakers'] as never })) as Debate | null;
        if (!debate) throw new NotFoundError(`debate ${params.id} does not exist`);
        const previousStatus = debate.status;
        await saveDebate(manager, debate, body as DebateUpdateInput, debate.id);
        await changed();
        manager.clear();
        const view = (await loadView(manager, debate.id))!;
        void ctx.events.emit('debate.updated', { debate: view, previousStatus });
        return view;
      },
    });

    ctx.router.route({
      method: 'delete',
      path: '/api/debats/{id}',
      operationId: 'deleteDebate',
      summary: 'Delete a debate and what belongs to it (admin)',
      tags: ['debates'],
      auth: 'admin',
      params: idParams,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such debate' } },
      handler: async (koa, { params }) => {
        const manager = em();
        const debate = (await manager.findOne(DebateSchema, { id: params.id }, { populate: POPULATE as never })) as Debate | null;
        if (!debate) throw new NotFoundError(`debate ${params.id} does not exist`);
        const view = toDebateView(debate);
        await manager.transactional(async (tx) => {
          await tx.nativeDelete(AudioFileSchema, { debate: params.id } as never);
          await tx.getConnection().execute('delete from debate_speaker where debate_id = ?', [params.id], 'run', tx.getTransactionContext());
          await tx.nativeDelete(DebateSchema, { id: params.id });
        });
        manager.clear();
        await changed();
        void ctx.events.emit('debate.deleted', { id: params.id, debate: view });
        koa.status = 204;
        return undefined;
      },
    });

    ctx.router.route({
      method: 'get',
      path: '/api/stats',
      operationId: 'getStats',
      summary: 'Catalogue statistics',
      tags: ['debates'],
      responses: { 200: { description: 'Counts', schema: statsView } },
      handler: async () =>
        cache.wrap('stats', async () => {
          const conn = em().getConnection();
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
        }),
    });
  },
});
