import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ExtractionEvent, Logger, PluginEvents } from '@robian/core';
import type { ExtractionJob } from './entities.ts';
import type { JobStore } from './jobs.ts';
import { ExtractionError, type ExtractResult } from './pipeline.ts';
import type { AudioFormat, Rendition } from './renditions.ts';

export interface SchedulerOptions {
  store: JobStore;
  events: PluginEvents;
  logger: Logger;
  concurrency: number;
  timeoutMs: number;
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  progressIntervalMs: number;
  /** Scheduled-task clocks (`robian_schedule_*{task}`) for the poll and reap loops. */
  schedules?: { due(task: string, next: Date): void; ran(task: string, ok: boolean, next?: Date): void };
  /** Does the work of one job; must honour the signal (kill its processes, remove its temp files). */
  execute(job: ExtractionJob, signal: AbortSignal, onProgress: (percent: number) => void): Promise<ExtractResult>;
}

type StopReason = 'cancelled' | 'timeout' | 'shutdown' | 'lost';

class StopSignal extends Error {
  readonly reason: StopReason;
  constructor(reason: StopReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface Running {
  job: ExtractionJob;
  controller: AbortController;
  progress: number;
  done: Promise<void>;
}

/**
 * A bounded scheduler of extraction jobs: claims up to `concurrency` jobs from the database (the
 * claim is a conditional UPDATE, so several instances can share a queue), runs each under a
 * lease it renews, a timeout, and bounded retries with exponential backoff.
 */
export class ExtractionScheduler {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly o: SchedulerOptions;
  readonly #running = new Map<number, Running>();
  #timers: NodeJS.Timeout[] = [];
  #stopping = false;
  #ticking = false;
  #again = false;

  constructor(o: SchedulerOptions) {
    this.o = o;
  }

  get running(): number {
    return this.#running.size;
  }

  start(): void {
    const clock = this.o.schedules;
    const every = (ms: number, fn: () => Promise<unknown>, task?: string) => {
      if (task) clock?.due(task, new Date(Date.now() + ms));
      const t = setInterval(() => {
        fn().then(
          () => task && clock?.ran(task, true, new Date(Date.now() + ms)),
          (err: unknown) => {
            if (task) clock?.ran(task, false, new Date(Date.now() + ms));
            this.o.logger.warn({ err }, 'extraction scheduler task failed');
          },
        );
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.o.pollMs, () => this.tick(), 'audio.extraction-poll');
    // renews leases and records progress in the rows: every third of the lease, and at least every 2 s
    every(Math.max(200, Math.min(2000, Math.floor(this.o.leaseMs / 3))), () => this.heartbeat());
    every(this.o.leaseMs, () => this.reap(), 'audio.lease-reap');
    void this.reap()
      .then(() => this.tick())
      .catch((err: unknown) => this.o.logger.warn({ err }, 'extraction scheduler first pass failed'));
  }

  async reap(): Promise<void> {
    const r = await this.o.store.reap(this.o.maxAttempts);
    if (r.requeued || r.failed) this.o.logger.warn(r, 'extraction jobs of a stopped worker were taken back');
    if (r.requeued) this.nudge();
  }

  /** Looks for work now (after a new job is queued). */
  nudge(): void {
    void this.tick().catch((err: unknown) => this.o.logger.warn({ err }, 'extraction scheduler tick failed'));
  }

  async tick(): Promise<void> {
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    try {
      do {
        this.#again = false;
        while (!this.#stopping && this.#running.size < this.o.concurrency) {
          const job = await this.o.store.claim(this.owner, this.o.leaseMs);
          if (!job) break;
          this.#launch(job);
        }
      } while (this.#again && !this.#stopping);
    } finally {
      this.#ticking = false;
    }
  }

  async heartbeat(): Promise<void> {
    for (const r of this.#running.values()) {
      const mine = await this.o.store.heartbeat(r.job.id, this.owner, this.o.leaseMs, r.progress);
      if (!mine && !r.controller.signal.aborted) {
        // cancelled through another instance (or the lease was lost): stop the processes
        const current = await this.o.store.get(r.job.id);
        r.controller.abort(
          current?.status === 'cancelled' ? new StopSignal('cancelled', 'cancelled by an administrator') : new StopSignal('lost', 'the job is no longer held by this worker'),
        );
      }
    }
  }

  /** Stops a job running here (after the row was marked cancelled). */
  abortLocal(jobId: number): boolean {
    const r = this.#running.get(jobId);
    if (!r) return false;
    r.controller.abort(new StopSignal('cancelled', 'cancelled by an administrator'));
    return true;
  }

  /** Stops the jobs of a debate running here (the debate was deleted) and resolves once they are gone. */
  async abortDebate(debateId: number): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const r of this.#running.values()) {
      if (jobDebateId(r.job) !== debateId) continue;
      r.controller.abort(new StopSignal('cancelled', 'the debate was deleted'));
      waits.push(r.done);
    }
    await Promise.all(waits);
  }

  /** Whether a job runs in this process, and its finish. */
  local(jobId: number): Promise<void> | undefined {
    return this.#running.get(jobId)?.done;
  }

  event(job: ExtractionJob, status: ExtractionEvent['status'], progress?: number): ExtractionEvent {
    return { extraction_id: job.id, debate_id: jobDebateId(job), format: job.format, quality: job.quality, status, ...(progress === undefined ? {} : { progress }) };
  }

  #launch(job: ExtractionJob): void {
    const controller = new AbortController();
    const entry: Running = { job, controller, progress: 0, done: Promise.resolve() };
    this.#running.set(job.id, entry);
    entry.done = this.#run(entry).finally(() => {
      this.#running.delete(job.id);
      if (!this.#stopping) this.nudge();
    });
  }

  async #run(entry: Running): Promise<void> {
    const { job, controller } = entry;
    const { events, logger, store } = this.o;
    const log = logger.child({ job: job.id, debate: jobDebateId(job), rendition: `${job.format}/${job.quality}`, attempt: job.attempts });
    const timer = setTimeout(() => controller.abort(new StopSignal('timeout', `extraction timed out after ${Math.round(this.o.timeoutMs / 1000)} s (EXTRACTION_TIMEOUT)`)), this.o.timeoutMs);
    timer.unref();
    let lastEmit = 0;
    let lastPercent = -1;
    log.info('extraction started');
    void events.emit('extraction.started', this.event(job, 'running', 0));
    try {
      const result = await this.o.execute(job, controller.signal, (percent) => {
        entry.progress = percent;
        const now = Date.now();
        const rounded = Math.floor(percent);
        if (now - lastEmit >= this.o.progressIntervalMs && rounded !== lastPercent) {
          lastEmit = now;
          lastPercent = rounded;
          void events.emit('extraction.progress', { ...this.event(job, 'running'), progress: Math.round(percent * 10) / 10 });
        }
      });
      if (await store.complete(job.id, this.owner)) {
        log.info({ copied: result.copied, bytes: result.file.size }, 'extraction completed');
        void events.emit('extraction.completed', {
          ...this.event(job, 'completed', 100),
          file_size: result.file.size,
          ...(result.durationSeconds === undefined ? {} : { duration_seconds: result.durationSeconds }),
        });
      } else log.warn('extraction finished but the job was no longer ours');
    } catch (err) {
      const stop = controller.signal.aborted && controller.signal.reason instanceof StopSignal ? controller.signal.reason : undefined;
      if (stop?.reason === 'cancelled') {
        log.info('extraction cancelled');
        void events.emit('extraction.cancelled', this.event(job, 'cancelled', entry.progress));
        return;
      }
      if (stop?.reason === 'shutdown') {
        await store.release(job.id, this.owner).catch(() => false);
        log.info('extraction given back to the queue (shutdown)');
        return;
      }
      if (stop?.reason === 'lost') return;
      const message = stop ? stop.message : (err as Error).message;
      const permanent = !stop && err instanceof ExtractionError && err.permanent;
      const retry = !permanent && job.attempts < this.o.maxAttempts ? this.o.retryBaseMs * 2 ** (job.attempts - 1) : undefined;
      const status = await store.fail(job.id, this.owner, message, retry);
      if (status === 'queued') {
        log.warn({ err: message, retry_in_ms: retry }, 'extraction failed, will retry');
        const t = setTimeout(() => this.nudge(), (retry ?? 0) + 10);
        t.unref();
      } else if (status === 'failed') {
        log.error({ err: message }, 'extraction failed');
        void events.emit('extraction.failed', { ...this.event(job, 'failed', entry.progress), error: message });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops claiming, kills what runs here and gives it back to the queue. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const all = [...this.#running.values()];
    for (const r of all) r.controller.abort(new StopSignal('shutdown', 'the host is stopping'));
    await Promise.allSettled(all.map((r) => r.done));
  }
}

export function jobDebateId(job: ExtractionJob): number {
  const d = job.debate as unknown as { id?: number } | number;
  return typeof d === 'number' ? d : Number(d.id);
}

export const renditionOf = (job: ExtractionJob): Rendition => ({ format: job.format as AudioFormat, quality: job.quality });
