import { UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@robian/core';
import { ExtractionJobSchema, type ExtractionJob, type JobStatus } from './entities.ts';
import type { Rendition } from './renditions.ts';

export const PRIORITIES = { low: 0, normal: 1, high: 2, urgent: 3 } as const;
export type Priority = keyof typeof PRIORITIES;

/** The durable job rows and the conditional updates that move them between states. */
export class JobStore {
  readonly orm: MikroORM;
  constructor(orm: MikroORM) {
    this.orm = orm;
  }

  em(): EntityManager {
    return this.orm.em.fork() as unknown as EntityManager;
  }

  async get(id: number): Promise<ExtractionJob | null> {
    return this.em().findOne(ExtractionJobSchema, { id }, { disableIdentityMap: true });
  }

  async find(debateId: number, r: Rendition): Promise<ExtractionJob | null> {
    return this.em().findOne(ExtractionJobSchema, { debate: debateId, format: r.format, quality: r.quality }, { disableIdentityMap: true });
  }

  async forDebate(debateId: number): Promise<ExtractionJob[]> {
    return this.em().find(ExtractionJobSchema, { debate: debateId }, { orderBy: { id: 'asc' }, disableIdentityMap: true });
  }

  async counts(): Promise<Record<string, number>> {
    const rows = await this.em().getConnection().execute<{ status: string; n: number | string }[]>('select status, count(*) as n from audio_extraction_job group by status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * The job of a rendition, created when there is none. The unique index (debate, format, quality)
   * decides between concurrent requests, whatever instance they reach: the loser reads the winner's row.
   * A failed or cancelled job is queued again; `requeueCompleted` does the same for a completed one
   * whose file is gone.
   */
  async enqueue(debateId: number, r: Rendition, priority: number, stored: boolean): Promise<{ job: ExtractionJob; created: boolean }> {
    const em = this.em();
    let job = await this.find(debateId, r);
    let created = false;
    const requeueCompleted = !stored;
    if (!job) {
      const now = new Date();
      try {
        // a rendition already on storage without a job (the master made on the way): record it as completed
        await em.insert(ExtractionJobSchema, {
          debate: debateId,
          format: r.format,
          quality: r.quality,
          status: stored ? 'completed' : 'queued',
          priority,
          progress: stored ? 100 : 0,
          attempts: 0,
          ...(stored ? { finishedAt: now } : {}),
          createdAt: now,
          updatedAt: now,
        } as never);
        created = !stored;
      } catch (err) {
        if (!(err instanceof UniqueConstraintViolationException)) throw err;
      }
      job = await this.find(debateId, r);
      if (!job) throw new Error('the extraction job vanished after its creation');
    }
    const again = !stored && (job.status === 'failed' || job.status === 'cancelled' || (job.status === 'completed' && requeueCompleted));
    if (again) {
      const n = await em.nativeUpdate(
        ExtractionJobSchema,
        { id: job.id, status: job.status },
        { status: 'queued', priority, progress: 0, attempts: 0, error: null, runAfter: null, owner: null, leaseExpiresAt: null, startedAt: null, finishedAt: null, updatedAt: new Date() },
      );
      created = n === 1;
      job = (await this.get(job.id))!;
    } else if (job.status === 'queued' && priority > job.priority) {
      await em.nativeUpdate(ExtractionJobSchema, { id: job.id, status: 'queued' }, { priority });
      job = (await this.get(job.id))!;
    }
    return { job, created };
  }

  /** Claims the next runnable job: a conditional UPDATE … WHERE status='queued' that only one worker wins. */
  async claim(owner: string, leaseMs: number): Promise<ExtractionJob | undefined> {
    const em = this.em();
    const now = new Date();
    const candidates = await em.find(
      ExtractionJobSchema,
      { status: 'queued', $or: [{ runAfter: null }, { runAfter: { $lte: now } }] },
      { orderBy: { priority: 'desc', id: 'asc' }, limit: 5, disableIdentityMap: true },
    );
    for (const c of candidates) {
      const won = await em.nativeUpdate(
        ExtractionJobSchema,
        { id: c.id, status: 'queued', attempts: c.attempts },
        { status: 'running', owner, attempts: c.attempts + 1, leaseExpiresAt: new Date(now.getTime() + leaseMs), startedAt: now, updatedAt: now },
      );
      if (won === 1) return (await this.get(c.id)) ?? undefined;
    }
    return undefined;
  }

  /** Renews the lease (and records progress). False when the job is no longer ours (cancelled, or reassigned). */
  async heartbeat(id: number, owner: string, leaseMs: number, progress: number): Promise<boolean> {
    const n = await this.em().nativeUpdate(
      ExtractionJobSchema,
      { id, owner, status: 'running' },
      { leaseExpiresAt: new Date(Date.now() + leaseMs), progress: Math.round(progress * 10) / 10, updatedAt: new Date() },
    );
    return n === 1;
  }

  async complete(id: number, owner: string): Promise<boolean> {
    const now = new Date();
    const n = await this.em().nativeUpdate(
      ExtractionJobSchema,
      { id, owner, status: 'running' },
      { status: 'completed', progress: 100, error: null, owner: null, leaseExpiresAt: null, finishedAt: now, updatedAt: now },
    );
    return n === 1;
  }

  /** A failure: queued again after `retryInMs`, or failed for good. Returns the new status (undefined when the job was no longer ours). */
  async fail(id: number, owner: string, error: string, retryInMs: number | undefined): Promise<JobStatus | undefined> {
    const now = new Date();
    const status: JobStatus = retryInMs === undefined ? 'failed' : 'queued';
    const n = await this.em().nativeUpdate(
      ExtractionJobSchema,
      { id, owner, status: 'running' },
      {
        status,
        error: error.slice(0, 4000),
        owner: null,
        leaseExpiresAt: null,
        runAfter: retryInMs === undefined ? null : new Date(now.getTime() + retryInMs),
        ...(status === 'failed' ? { finishedAt: now } : {}),
        updatedAt: now,
      },
    );
    return n === 1 ? status : undefined;
  }

  /** Gives a job back to the queue (graceful shutdown): the attempt does not count. */
  async release(id: number, owner: string): Promise<boolean> {
    const job = await this.get(id);
    if (!job) return false;
    const n = await this.em().nativeUpdate(
      ExtractionJobSchema,
      { id, owner, status: 'running' },
      { status: 'queued', owner: null, leaseExpiresAt: null, attempts: Math.max(0, job.attempts - 1), updatedAt: new Date() },
    );
    return n === 1;
  }

  /** Cancels the queued/running jobs of a debate (one rendition, or all). Returns the jobs cancelled. */
  async cancel(debateId: number, r: Partial<Rendition>): Promise<ExtractionJob[]> {
    const em = this.em();
    const active = await em.find(
      ExtractionJobSchema,
      { debate: debateId, status: { $in: ['queued', 'running'] }, ...(r.format ? { format: r.format } : {}), ...(r.quality ? { quality: r.quality } : {}) },
      { disableIdentityMap: true },
    );
    const done: ExtractionJob[] = [];
    for (const j of active) {
      const now = new Date();
      // queued or running, whichever it is now (a worker may have claimed it since it was read)
      const n = await em.nativeUpdate(
        ExtractionJobSchema,
        { id: j.id, status: { $in: ['queued', 'running'] } },
        { status: 'cancelled', owner: null, leaseExpiresAt: null, error: 'cancelled by an administrator', finishedAt: now, updatedAt: now },
      );
      if (n === 1) done.push(j);
    }
    return done;
  }

  /**
   * Jobs left running by a process that died (lease expired) go back to the queue, or fail when
   * they used up their attempts. Returns how many were requeued and failed.
   */
  async reap(maxAttempts: number): Promise<{ requeued: number; failed: number }> {
    const em = this.em();
    const now = new Date();
    const failed = await em.nativeUpdate(
      ExtractionJobSchema,
      { status: 'running', leaseExpiresAt: { $lt: now }, attempts: { $gte: maxAttempts } },
      { status: 'failed', error: 'the worker running this job stopped responding (lease expired) and no attempts are left', owner: null, leaseExpiresAt: null, finishedAt: now, updatedAt: now },
    );
    const requeued = await em.nativeUpdate(
      ExtractionJobSchema,
      { status: 'running', leaseExpiresAt: { $lt: now } },
      { status: 'queued', owner: null, leaseExpiresAt: null, updatedAt: now },
    );
    return { requeued, failed };
  }

  async deleteFor(debateId: number, r: Rendition): Promise<void> {
    await this.em().nativeDelete(ExtractionJobSchema, { debate: debateId, format: r.format, quality: r.quality, status: { $in: ['completed', 'failed', 'cancelled'] } });
  }
}
