import type { EntityManager, PluginContext, PluginHealth } from '@robian/core';
import { z } from '@robian/core';
import { WebhookDeliverySchema, type WebhookDelivery } from './entities.ts';
import type { WebhookOptions } from './options.ts';
import { signPayload } from './signature.ts';

const MAX_BACKOFF_MS = 3_600_000;
const BATCH = 20;

const deliveryView = z.object({
  id: z.number(),
  event: z.string(),
  url: z.string(),
  status: z.enum(['pending', 'sending', 'delivered', 'failed']),
  attempts: z.number(),
  next_attempt_at: z.string(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
});

/**
 * The deliveries: queued in the database when an event arrives (one row per endpoint), then sent by
 * a poller that claims due rows one by one (an update that only one instance can win), signs each
 * body, and either marks it delivered (2xx) or schedules the next attempt with a doubling wait.
 * A row left `sending` by a process that died is taken again once its attempt's deadline passed.
 */
export class Deliveries {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #delivered = 0;
  #failed = 0;

  readonly ctx: PluginContext<WebhookOptions>;

  constructor(ctx: PluginContext<WebhookOptions>) {
    this.ctx = ctx;
  }

  register(): void {
    const { ctx } = this;
    ctx.events.on('extraction.completed', (event) =>
      this.enqueue('audio.ready', { debate_id: String(event.debate_id), format: event.format, quality: event.quality, file_size: event.file_size ?? null, duration_seconds: event.duration_seconds ?? null }),
    );
    ctx.router.route({
      method: 'get',
      path: '/api/webhooks/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'The latest webhook deliveries, newest first, with their state',
      tags: ['webhooks'],
      auth: 'admin',
      responses: { 200: { description: 'Deliveries', schema: z.object({ deliveries: z.array(deliveryView) }) } },
      handler: async () => ({ deliveries: (await this.#em().find(WebhookDeliverySchema, {}, { orderBy: { id: 'desc' }, limit: 50 })).map(view) }),
    });
  }

  async enqueue(event: string, data: Record<string, unknown>): Promise<void> {
    const { urls } = this.ctx.options;
    if (urls.length === 0) return;
    const em = this.#em();
    const payload = JSON.stringify({ event, occurred_at: new Date().toISOString(), data });
    for (const url of urls) em.create(WebhookDeliverySchema, { event, url, payload, nextAttemptAt: new Date() } as never);
    await em.flush();
    this.poke();
  }

  start(): void {
    if (!this.ctx.workers) return;
    this.#timer = setInterval(() => this.poke(), this.ctx.options.pollMs);
    this.#timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  health(): PluginHealth {
    return { status: 'ok', endpoints: this.ctx.options.urls.length, delivered: this.#delivered, failed: this.#failed };
  }

  /** Runs a pass now unless one is running (passes never overlap within an instance). */
  poke(): void {
    if (!this.ctx.workers || this.#running) return;
    this.#running = this.#pass()
      .catch((err: unknown) => this.ctx.logger.warn({ err }, 'webhooks: delivery pass failed'))
      .finally(() => (this.#running = undefined));
  }

  async #pass(): Promise<void> {
    const em = this.#em();
    const now = new Date();
    const stale = new Date(now.getTime() - this.ctx.options.timeoutMs * 2);
    const due = await em.find(
      WebhookDeliverySchema,
      { $or: [{ status: 'pending', nextAttemptAt: { $lte: now } }, { status: 'sending', nextAttemptAt: { $lte: stale } }] } as never,
      { orderBy: { id: 'asc' }, limit: BATCH },
    );
    for (const row of due) {
      // the claim: only the instance whose update matched the row as it read it sends it
      const claimed = await em.nativeUpdate(WebhookDeliverySchema, { id: row.id, status: row.status, attempts: row.attempts } as never, { status: 'sending', nextAttemptAt: new Date() } as never);
      if (claimed === 1) await this.#attempt(row);
    }
  }

  async #attempt(row: WebhookDelivery): Promise<void> {
    const { options, logger } = this.ctx;
    const attempts = row.attempts + 1;
    let error: string | undefined;
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        // a redirect is an answer, not an instruction: the endpoint is the operator's, not the response's
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'robian-webhooks',
          'x-robian-event': row.event,
          'x-robian-delivery': String(row.id),
          'x-robian-signature': signPayload(options.secret, row.payload),
        },
        body: row.payload,
      });
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
    }
    const em = this.#em();
    if (!error) {
      this.#delivered++;
      await em.nativeUpdate(WebhookDeliverySchema, { id: row.id } as never, { status: 'delivered', attempts, deliveredAt: new Date(), lastError: null } as never);
      return;
    }
    const failed = attempts >= options.maxAttempts;
    if (failed) this.#failed++;
    const wait = Math.min(MAX_BACKOFF_MS, options.retryBaseMs * 2 ** (attempts - 1));
    logger.info({ delivery: row.id, url: row.url, attempts, error }, failed ? 'webhooks: delivery failed for good' : 'webhooks: delivery will be retried');
    await em.nativeUpdate(
      WebhookDeliverySchema,
      { id: row.id } as never,
      { status: failed ? 'failed' : 'pending', attempts, lastError: error, nextAttemptAt: new Date(Date.now() + wait) } as never,
    );
  }

  #em(): EntityManager {
    return this.ctx.orm.em.fork() as unknown as EntityManager;
  }
}

function view(row: WebhookDelivery): z.output<typeof deliveryView> {
  return {
    id: row.id,
    event: row.event,
    url: row.url,
    status: row.status as z.output<typeof deliveryView>['status'],
    attempts: row.attempts,
    next_attempt_at: row.nextAttemptAt.toISOString(),
    last_error: row.lastError ?? null,
    created_at: row.createdAt.toISOString(),
    delivered_at: row.deliveredAt ? row.deliveredAt.toISOString() : null,
  };
}
