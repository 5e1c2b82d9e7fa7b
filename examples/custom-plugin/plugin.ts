// A plugin written outside Robian: it counts new debates per type and exposes the counts.
import { PLUGIN_API_VERSION, definePlugin, z } from '@robian/core';

declare module '@robian/core' {
  interface RobianServices {
    'newsroom.counts': { snapshot(): Record<string, number> };
  }
}

export const newsroomPlugin = definePlugin({
  name: 'newsroom',
  version: '1.0.0',
  apiVersion: PLUGIN_API_VERSION,
  dependsOn: ['catalog'],
  options: z.object({
    greeting: z.string().min(1).max(100).default('Bonjour'),
  }),
  env: { greeting: 'NEWSROOM_GREETING' },
  setup(ctx) {
    const counts: Record<string, number> = {};
    ctx.events.on('debate.created', ({ debate }) => {
      const type = String(debate.type);
      counts[type] = (counts[type] ?? 0) + 1;
    });
    ctx.services.provide('newsroom.counts', { snapshot: () => ({ ...counts }) });
    ctx.router.route({
      method: 'get',
      path: '/api/newsroom/{type}',
      summary: 'How many debates of a type were created since start',
      tags: ['newsroom'],
      params: z.object({ type: z.enum(['seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre']) }),
      responses: { 200: { description: 'The count', schema: z.object({ greeting: z.string(), type: z.string(), created: z.number() }) } },
      handler: (_koa, { params }) => ({ greeting: ctx.options.greeting, type: params.type, created: counts[params.type] ?? 0 }),
    });
  },
  health() {
    return { status: 'ok' };
  },
});
