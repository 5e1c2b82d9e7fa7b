import { NotFoundError, PLUGIN_API_VERSION, definePlugin, z, type ResponseSpec, type RobianKernel } from '@robian/core';
import { HOST_VERSION } from '../version.ts';
import { ObservabilityAccess } from './observability.ts';
import { registerSystemMetrics } from './system-metrics.ts';

const healthView = z.object({ status: z.literal('healthy'), version: z.string(), environment: z.string(), timestamp: z.string() }).meta({ id: 'Health' });

/** Liveness, readiness with details, and Prometheus metrics. */
export function systemPlugin(kernel: RobianKernel) {
  return definePlugin({
    name: 'system',
    version: HOST_VERSION,
    apiVersion: PLUGIN_API_VERSION,
    description: 'Health and metrics',
    setup(ctx) {
      registerSystemMetrics(ctx.metrics, kernel);
      const access = new ObservabilityAccess(ctx.config, ctx.auth.registry);
      const guarded: Record<number, ResponseSpec> = access.public ? {} : { 401: { description: 'No METRICS_TOKEN or admin key (OBSERVABILITY_PUBLIC=false)' }, 403: { description: 'Another token' } };
      ctx.router.route({
        method: 'get',
        path: '/health/',
        operationId: 'health',
        summary: "Liveness: the process answers (the original RobianAPI's words: status healthy)",
        tags: ['system'],
        responses: { 200: { description: 'Alive', schema: healthView } },
        handler: (koa) => {
          koa.set('Cache-Control', 'no-store');
          return { status: 'healthy' as const, version: HOST_VERSION, environment: ctx.config.environment, timestamp: new Date().toISOString() };
        },
      });
      ctx.router.route({
        method: 'get',
        path: '/health/detailed',
        operationId: 'healthDetailed',
        summary: 'Database, cache, each plugin and the process; 503 when something essential is down',
        tags: ['system'],
        responses: { 200: { description: 'Up (possibly degraded)' }, 503: { description: 'Down' }, ...guarded },
        handler: async (koa) => {
          access.check(koa);
          const report = await kernel.health();
          koa.set('Cache-Control', 'no-store');
          koa.status = report.status === 'down' ? 503 : 200;
          koa.body = { ...report, version: HOST_VERSION };
          return undefined;
        },
      });
      ctx.router.route({
        method: 'get',
        path: '/metrics',
        operationId: 'metrics',
        summary: 'Prometheus metrics (off when PROMETHEUS_METRICS=false)',
        tags: ['system'],
        responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' }, ...guarded },
        handler: async (koa) => {
          access.check(koa);
          if (!ctx.config.prometheusMetrics) throw new NotFoundError('metrics are disabled (PROMETHEUS_METRICS=false)');
          koa.set('Content-Type', kernel.metrics.contentType);
          koa.set('Cache-Control', 'no-store');
          koa.body = await kernel.metrics.text();
          return undefined;
        },
      });
    },
  });
}
