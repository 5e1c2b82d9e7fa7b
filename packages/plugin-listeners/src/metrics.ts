import type { EntityManager, PluginContext } from '@robian/core';

/** Windows of "active": accounts whose `last_seen_at` (set as they use the API) is that recent. */
const WINDOWS = { '15m': 15 * 60, '24h': 86_400 } as const;

/** `robian_listeners_active{window}`: listener accounts seen recently (every instance: read from the table at scrape time). */
export function registerListenerMetrics<T>(ctx: PluginContext<T>): void {
  ctx.metrics.gauge({
    name: 'robian_listeners_active',
    help: 'Listener accounts seen within the window (15m, 24h)',
    labelNames: ['window'],
    async collect() {
      for (const [window, seconds] of Object.entries(WINDOWS)) {
        try {
          const since = new Date(Date.now() - seconds * 1000);
          const [row] = await (ctx.orm.em.fork() as unknown as EntityManager)
            .getConnection()
            .execute<{ n: number | string }[]>('select count(*) as n from listener_account where last_seen_at >= ?', [since]);
          this.set({ window }, Number(row?.n ?? 0));
        } catch {
          /* database away: robian_db_up says so */
        }
      }
    },
  });
}
