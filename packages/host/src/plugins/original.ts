import { DebateSchema, NotFoundError, PASS, PLUGIN_API_VERSION, definePlugin, parisDay, sourceUrlOf, z, type Debate, type RobianKernel, type RobianContext } from '@robian/core';
import { HOST_VERSION } from '../version.ts';

/*
 * What the original RobianAPI answered beside the catalogue, on its own paths: the service
 * description (`GET /`), the per-part health checks in its words, and the day's programme.
 */

const serviceView = z
  .object({
    message: z.string(),
    version: z.string(),
    environment: z.string(),
    status: z.literal('operational'),
    features: z.array(z.string()),
    endpoints: z.record(z.string(), z.string()),
    links: z.record(z.string(), z.string()),
  })
  .meta({ id: 'Service' });

const programmeItem = z
  .object({
    id: z.string(),
    date: z.string().meta({ example: '2025-06-05' }),
    heure: z.string().meta({ description: 'HH:MM, Paris time', example: '15:00' }),
    titre: z.string(),
    type: z.string(),
    status: z.string(),
    commission: z.string().nullable(),
    salle: z.string().nullable(),
    url: z.string().nullable(),
  })
  .meta({ id: 'ProgrammeItem' });

const dayParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date, YYYY-MM-DD')
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'expected a real date');

const PARIS_TIME = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hour12: false });

const now = () => new Date().toISOString();

export function originalPlugin(kernel: RobianKernel) {
  return definePlugin({
    name: 'original',
    version: HOST_VERSION,
    apiVersion: PLUGIN_API_VERSION,
    description: "The original RobianAPI's service description, health checks and programme",
    setup(ctx) {
      const routes = kernel.openapi;
      ctx.router.route({
        method: 'get',
        path: '/',
        operationId: 'service',
        summary: 'What this service is and where its routes are (JSON; a browser gets the web player when it is installed)',
        tags: ['system'],
        responses: { 200: { description: 'The service', schema: serviceView } },
        handler: (koa) => {
          // a browser gets the web player (its own route on `/`, further down) when it is running
          if (koa.accepts('json', 'html') === 'html' && kernel.plugins().some((p) => p.name === 'player' && p.state === 'started')) return PASS;
          koa.vary('Accept');
          return service();
        },
      });
      const service = () => ({
          message: 'Robian: the debates of the Assemblée nationale, to listen to',
          version: HOST_VERSION,
          environment: ctx.config.environment,
          status: 'operational' as const,
          features: [...new Set(routes.routes().map((r) => r.owner))].sort(),
          endpoints: {
            debates: '/api/debats/',
            debates_original: '/api/debates/',
            search: '/api/search',
            commissions: '/api/commissions',
            deputes: '/api/deputes',
            programme: '/api/programme',
            streaming: '/api/streaming/{id}/info',
            websocket: '/ws',
            health: '/health',
          },
          links: { documentation: '/docs', openapi: '/openapi.json', health: '/health/' },
        });

      const probe = (koa: RobianContext, ok: boolean, body: Record<string, unknown>) => {
        koa.set('Cache-Control', 'no-store');
        koa.status = ok ? 200 : 503;
        koa.body = body;
        return undefined;
      };
      const health = () => kernel.health();
      const word = (s: string) => (s === 'ok' ? 'healthy' : s === 'degraded' ? 'degraded' : 'unhealthy');
      const part = (path: string, operationId: string, summary: string, answer: (koa: RobianContext) => Promise<undefined>) =>
        ctx.router.route({ method: 'get', path, operationId, summary, tags: ['system'], responses: { 200: { description: 'Healthy' }, 503: { description: 'Unhealthy' } }, handler: (koa) => answer(koa) });

      part('/health/database', 'healthDatabase', 'The database answers (status healthy | unhealthy, latency)', async (koa) => {
        const { database } = await health();
        return probe(koa, database.status === 'ok', { status: word(database.status), timestamp: now(), connection: { status: word(database.status), dialect: database.dialect, latency_ms: database.latency_ms ?? null } });
      });
      part('/health/cache', 'healthCache', 'The cache (memory, and Redis when configured)', async (koa) => {
        const { cache } = await health();
        return probe(koa, true, { status: word(cache.status), timestamp: now(), cache_stats: { mode: cache.mode, redis: cache.redis, redis_connected: cache.redis === 'up', hits: cache.stats.hits, misses: cache.stats.misses } });
      });
      part('/health/websockets', 'healthWebsockets', 'The realtime plugin (connections)', async (koa) => {
        const ws = (await health()).plugins['ws'] as { status: string; connections?: { socketio: number; ws: number } } | undefined;
        if (!ws) throw new NotFoundError('no realtime plugin (@robian/plugin-ws) is installed on this host');
        const connections = ws.connections ?? { socketio: 0, ws: 0 };
        return probe(koa, ws.status !== 'down', { status: word(ws.status), timestamp: now(), websocket_stats: { total_connections: connections.socketio + connections.ws, connections } });
      });
      part('/health/readiness', 'healthReadiness', 'Ready for traffic: the database answers (503 not_ready otherwise)', async (koa) => {
        const { database } = await health();
        const ready = database.status === 'ok';
        return probe(koa, ready, ready ? { status: 'ready', timestamp: now(), version: HOST_VERSION } : { status: 'not_ready', reason: 'database_not_healthy', timestamp: now() });
      });
      part('/health/liveness', 'healthLiveness', 'The process answers', async (koa) =>
        probe(koa, true, { status: 'alive', timestamp: now(), version: HOST_VERSION, uptime: `${Math.round((Date.now() - kernel.startedAt) / 1000)}s` }),
      );

      ctx.router.route({
        method: 'get',
        path: '/api/programme',
        operationId: 'getProgramme',
        summary: "The sittings of a day (Paris time), in order, from the catalogue (the original RobianAPI's programme)",
        tags: ['debates'],
        query: z.object({ date_param: dayParam.optional().meta({ description: 'The day, YYYY-MM-DD; today (Paris) by default' }) }),
        responses: { 200: { description: "The day's sittings", schema: z.array(programmeItem) } },
        handler: async (_koa, { query }) => {
          const day = query.date_param ?? parisDay(new Date());
          const noon = Date.parse(`${day}T12:00:00Z`);
          // a Paris day lies within 12 hours either side of its noon UTC
          const rows = (await ctx.em.find(DebateSchema, { date: { $gte: new Date(noon - 13 * 3600e3), $lte: new Date(noon + 13 * 3600e3) } } as never, {
            populate: ['commission'] as never,
            orderBy: { date: 'asc', id: 'asc' } as never,
            limit: 500,
            disableIdentityMap: true,
          })) as Debate[];
          return rows
            .filter((d) => parisDay(d.date) === day)
            .map((d) => ({
              id: String(d.id),
              date: day,
              heure: PARIS_TIME.format(new Date(d.startTime ?? d.date)),
              titre: d.title,
              type: d.type,
              status: d.status,
              commission: (d.commission as { name?: string } | null)?.name ?? null,
              salle: d.location ?? null,
              url: sourceUrlOf(d),
            }));
        },
      });
    },
  });
}
