import type { EntityManager, PluginContext } from '@robian/core';

/** Buffers view counts and writes them in one statement per debate every few seconds. */
export class ViewCounter {
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
