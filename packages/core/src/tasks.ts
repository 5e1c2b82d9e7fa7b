import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UniqueConstraintViolationException, defineEntity, type MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { ConflictError, NotFoundError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { PluginMetrics } from './metrics.ts';

const p = defineEntity.properties;

/**
 * One periodic task shared by every instance on a database: the row is its lease (the instance
 * that holds `owner` until `lease_expires_at` runs it), its calendar (`next_run_at`), the record of
 * its last run and a small state of its own (conditional-GET validators, cursors).
 */
export const ScheduledTaskSchema = defineEntity({
  name: 'ScheduledTask',
  tableName: 'scheduled_task',
  properties: {
    name: p.string().length(128).primary(),
    owner: p.string().length(128).nullable(),
    leaseExpiresAt: p.datetime().nullable(),
    nextRunAt: p.datetime(),
    lastStartedAt: p.datetime().nullable(),
    lastFinishedAt: p.datetime().nullable(),
    lastOutcome: p.string().length(16).nullable(),
    lastError: p.text().nullable(),
    lastDurationMs: p.integer().nullable(),
    lastSummary: p.json<Record<string, unknown>>().nullable(),
    state: p.json<Record<string, unknown>>().nullable(),
    runs: p.integer().default(0),
    failures: p.integer().default(0),
    updatedAt: p.datetime(),
  },
});
export class ScheduledTask extends ScheduledTaskSchema.class {}
ScheduledTaskSchema.setClass(ScheduledTask);

/** What a task's run gets: its signal (aborted at stop, timeout or lost lease) and its saved state. */
export interface TaskRun {
  signal: AbortSignal;
  state: Record<string, unknown>;
  /** True for `runNow` (CLI `schedule run`, tests), false for a scheduled run. */
  manual: boolean;
  /** When the task was claimed (the next run is due one interval after it). */
  startedAt: Date;
}

export interface TaskResult {
  /** What the run did, shown in status (counts, warnings). */
  summary?: Record<string, unknown>;
  /** Replaces the saved state when given. */
  state?: Record<string, unknown>;
  /** Set when part of the run failed: the outcome is `failed`, the summary and state are kept. */
  error?: string;
}

export interface TaskDefinition {
  /** Unique across the database, e.g. `assemblee.videos`. */
  name: string;
  intervalMs: number;
  /** A run still going after this is aborted (default: 10 × the interval, at least 60 s). */
  timeoutMs?: number;
  run(run: TaskRun): Promise<TaskResult | void>;
}

export interface TaskStatus {
  task: string;
  interval_seconds: number;
  running: boolean;
  owner: string | null;
  running_here: boolean;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_outcome: 'ok' | 'failed' | null;
  last_error: string | null;
  last_duration_ms: number | null;
  last_summary: Record<string, unknown> | null;
  next_run_at: string | null;
  runs: number;
  failures: number;
}

export interface TaskSchedulerOptions {
  orm: () => MikroORM;
  logger: Logger;
  tasks: TaskDefinition[];
  /** How long a lease lasts without renewal; a dead holder's task is taken over after it. */
  leaseMs: number;
  /** How often due tasks are looked for. */
  tickMs: number;
  /** Metric names start with this (`<prefix>_runs_total`…); none when absent. */
  metrics?: { registry: PluginMetrics; prefix: string };
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/**
 * Periodic tasks run once across every instance sharing the database. Claiming a due task is a
 * conditional UPDATE (free or expired lease, `next_run_at` passed) that one instance wins; the
 * winner renews the lease while it runs and sets the next run when it ends. An instance that dies
 * mid-run stops renewing, and another takes the task over when the lease expires.
 */
export class TaskScheduler {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #o: TaskSchedulerOptions;
  readonly #tasks = new Map<string, TaskDefinition>();
  readonly #running = new Map<string, { controller: AbortController; done: Promise<TaskStatus> }>();
  readonly #metrics: { runs: ReturnType<PluginMetrics['counter']>; duration: ReturnType<PluginMetrics['histogram']>; last: ReturnType<PluginMetrics['gauge']> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #ensured = false;
  #stopped = false;

  constructor(o: TaskSchedulerOptions) {
    this.#o = o;
    for (const t of o.tasks) {
      if (this.#tasks.has(t.name)) throw new Error(`task ${t.name} is defined twice`);
      this.#tasks.set(t.name, t);
    }
    if (o.metrics) {
      const { registry, prefix } = o.metrics;
      this.#metrics = {
        runs: registry.counter({ name: `${prefix}_runs_total`, help: 'Scheduled task runs in this instance, by task and outcome', labelNames: ['task', 'outcome'] }),
        duration: registry.histogram({ name: `${prefix}_duration_seconds`, help: 'Duration of scheduled task runs in this instance', labelNames: ['task'], buckets: [0.05, 0.25, 1, 5, 30, 120, 600] }),
        last: registry.gauge({ name: `${prefix}_last_run_timestamp_seconds`, help: 'End of the last run of a task in this instance, by outcome', labelNames: ['task', 'outcome'] }),
      };
    }
  }

  get names(): string[] {
    return [...this.#tasks.keys()];
  }

  #em(): EntityManager {
    return this.#o.orm().em.fork() as unknown as EntityManager;
  }

  /** Creates the rows of tasks the database does not know yet (due at once). */
  async ensure(): Promise<void> {
    if (this.#ensured) return;
    const em = this.#em();
    const known = new Set((await em.find(ScheduledTaskSchema, { name: { $in: this.names } }, { fields: ['name'] as never })).map((r) => r.name));
    for (const name of this.names) {
      if (known.has(name)) continue;
      try {
        await this.#em().insert(ScheduledTaskSchema, { name, nextRunAt: new Date(), runs: 0, failures: 0, updatedAt: new Date() } as never);
      } catch (err) {
        if (!(err instanceof UniqueConstraintViolationException)) throw err; // another instance made it
      }
    }
    this.#ensured = true;
  }

  /** Looks for due tasks every `tickMs`. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    const tick = () => {
      if (this.#ticking) return;
      this.#ticking = this.tick()
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'scheduler: could not look for due tasks'))
        .finally(() => (this.#ticking = undefined));
    };
    // the first look one tick after start: the host's other plugins (the bus bridges) are started by then
    this.#timer = setInterval(tick, this.#o.tickMs);
    this.#timer.unref();
  }

  /** Claims and starts every due task this instance is not already running. */
  async tick(): Promise<void> {
    if (this.#stopped) return;
    await this.ensure();
    for (const task of this.#tasks.values()) {
      if (this.#running.has(task.name) || this.#stopped) continue;
      const claimed = await this.#claim(task.name, true);
      if (!claimed) continue;
      if (this.#stopped) {
        await this.#em().nativeUpdate(ScheduledTaskSchema, { name: task.name, owner: this.owner }, { owner: null, leaseExpiresAt: null });
        return;
      }
      this.#execute(task, false, claimed).catch((err: unknown) => this.#o.logger.warn({ err, task: task.name }, 'scheduler: could not record a run'));
    }
  }

  async #claim(name: string, dueOnly: boolean): Promise<Date | undefined> {
    const now = new Date();
    const where: Record<string, unknown> = { name, $or: [{ owner: null }, { leaseExpiresAt: null }, { leaseExpiresAt: { $lt: now } }] };
    if (dueOnly) where.nextRunAt = { $lte: now };
    const n = await this.#em().nativeUpdate(ScheduledTaskSchema, where as never, { owner: this.owner, leaseExpiresAt: new Date(now.getTime() + this.#o.leaseMs), lastStartedAt: now, updatedAt: now });
    return n === 1 ? now : undefined;
  }

  /** Runs a task now, whatever its calendar; refused (409) while an instance holds it. */
  async runNow(name: string): Promise<TaskStatus> {
    const task = this.#tasks.get(name);
    if (!task) throw new NotFoundError(`No scheduled task "${name}" (tasks: ${this.names.join(', ')}).`);
    await this.ensure();
    const local = this.#running.get(name);
    if (local) return local.done;
    const claimed = await this.#claim(name, false);
    if (!claimed) throw new ConflictError(`Task ${name} is running on another instance.`, { task: name });
    return this.#execute(task, true, claimed);
  }

  #execute(task: TaskDefinition, manual: boolean, claimedAt: Date): Promise<TaskStatus> {
    const controller = new AbortController();
    const done = this.#runClaimed(task, controller, manual, claimedAt).finally(() => this.#running.delete(task.name));
    this.#running.set(task.name, { controller, done });
    return done;
  }

  async #runClaimed(task: TaskDefinition, controller: AbortController, manual: boolean, claimedAt: Date): Promise<TaskStatus> {
    const started = claimedAt.getTime();
    const timeoutMs = task.timeoutMs ?? Math.max(60_000, task.intervalMs * 10);
    const timeout = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    timeout.unref();
    const renew = setInterval(() => {
      this.#em()
        .nativeUpdate(ScheduledTaskSchema, { name: task.name, owner: this.owner }, { leaseExpiresAt: new Date(Date.now() + this.#o.leaseMs) })
        .then((n) => {
          if (n === 0) controller.abort(new Error('lease lost (another instance took the task over)'));
        })
        .catch((err: unknown) => this.#o.logger.warn({ err, task: task.name }, 'scheduler: could not renew a lease'));
    }, Math.max(50, Math.floor(this.#o.leaseMs / 3)));
    renew.unref();
    let outcome: 'ok' | 'failed' = 'ok';
    let error: string | null = null;
    let result: TaskResult | void = undefined;
    try {
      const row = await this.#em().findOne(ScheduledTaskSchema, { name: task.name }, { disableIdentityMap: true });
      result = await task.run({ signal: controller.signal, state: { ...(row?.state ?? {}) }, manual, startedAt: claimedAt });
      if (result?.error) {
        outcome = 'failed';
        error = result.error;
      }
    } catch (err) {
      outcome = 'failed';
      error = (controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : (err as Error)).message ?? String(err);
      this.#o.logger.warn({ err, task: task.name }, `scheduled task ${task.name} failed`);
    } finally {
      clearTimeout(timeout);
      clearInterval(renew);
    }
    const finished = Date.now();
    const em = this.#em();
    const row = await em.findOne(ScheduledTaskSchema, { name: task.name, owner: this.owner });
    if (row) {
      // the next run is one interval after this one started (at once when the run took longer)
      // (at once on another instance when this one is shutting down)
      row.nextRunAt = new Date(this.#stopped ? finished : Math.max(finished, started + task.intervalMs));
      row.owner = null;
      row.leaseExpiresAt = null;
      row.lastFinishedAt = new Date(finished);
      row.lastOutcome = outcome;
      row.lastError = error;
      row.lastDurationMs = finished - started;
      row.lastSummary = result?.summary ?? null;
      if (result?.state) row.state = result.state;
      row.runs += 1;
      if (outcome === 'failed') row.failures += 1;
      row.updatedAt = new Date(finished);
      await em.flush();
    }
    this.#metrics?.runs.inc({ task: task.name, outcome });
    this.#metrics?.duration.observe({ task: task.name }, (finished - started) / 1000);
    this.#metrics?.last.set({ task: task.name, outcome }, finished / 1000);
    return (await this.status()).find((s) => s.task === task.name)!;
  }

  /** Every task: last run, outcome, duration, next run, and who runs it now. */
  async status(): Promise<TaskStatus[]> {
    const rows = await this.#em().find(ScheduledTaskSchema, { name: { $in: this.names } }, { disableIdentityMap: true });
    const byName = new Map(rows.map((r) => [r.name, r]));
    const now = Date.now();
    return this.names.map((name) => {
      const r = byName.get(name);
      const held = Boolean(r?.owner && r.leaseExpiresAt && new Date(r.leaseExpiresAt).getTime() > now);
      return {
        task: name,
        interval_seconds: this.#tasks.get(name)!.intervalMs / 1000,
        running: held,
        owner: held ? r!.owner! : null,
        running_here: this.#running.has(name),
        last_started_at: iso(r?.lastStartedAt),
        last_finished_at: iso(r?.lastFinishedAt),
        last_outcome: (r?.lastOutcome as TaskStatus['last_outcome']) ?? null,
        last_error: r?.lastError ?? null,
        last_duration_ms: r?.lastDurationMs ?? null,
        last_summary: r?.lastSummary ?? null,
        next_run_at: iso(r?.nextRunAt),
        runs: r?.runs ?? 0,
        failures: r?.failures ?? 0,
      };
    });
  }

  /** The saved state of a task (another instance's runs write it). */
  async state(name: string): Promise<Record<string, unknown>> {
    const row = await this.#em().findOne(ScheduledTaskSchema, { name }, { disableIdentityMap: true });
    return row?.state ?? {};
  }

  /** Stops looking for tasks, aborts the runs of this instance and waits for them (their leases are released). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    const running = [...this.#running.values()];
    for (const r of running) r.controller.abort(new Error('shutting down'));
    await Promise.allSettled(running.map((r) => r.done));
  }
}
