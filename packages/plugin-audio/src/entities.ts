import { defineEntity } from '@mikro-orm/core';
import { Debate } from '@robian/core';

const p = defineEntity.properties;

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * A durable extraction job: one per debate and rendition (the unique index is what makes
 * concurrent requests, even from two instances, end up on the same row). A worker owns a running
 * job through a lease it renews; a job whose lease ran out (its process died) is queued again.
 */
export const ExtractionJobSchema = defineEntity({
  name: 'ExtractionJob',
  tableName: 'audio_extraction_job',
  properties: {
    id: p.integer().primary().autoincrement(),
    debate: () => p.manyToOne(Debate).deleteRule('cascade'),
    format: p.string().length(16),
    quality: p.string().length(16),
    status: p.string().length(16).default('queued'),
    /** 0 low, 1 normal, 2 high, 3 urgent: higher first. */
    priority: p.integer().default(1),
    progress: p.double().default(0),
    attempts: p.integer().default(0),
    error: p.text().nullable(),
    /** The worker (instance) that holds the job while it runs. */
    owner: p.string().length(128).nullable(),
    leaseExpiresAt: p.datetime().nullable(),
    /** Not claimed before this time (retry backoff). */
    runAfter: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  uniques: [{ name: 'audio_extraction_job_rendition_unique', properties: ['debate', 'format', 'quality'] }],
  indexes: [{ name: 'audio_extraction_job_status_idx', properties: ['status', 'priority'] }],
});
export class ExtractionJob extends ExtractionJobSchema.class {}
ExtractionJobSchema.setClass(ExtractionJob);

/**
 * Plays and listening time per debate and day (UTC): what the business dashboard and "most played"
 * read. A play is a response that sends bytes from the start of the file; listened seconds are the
 * seconds of audio sent (bytes sent × duration ÷ size), ranges included. Written in batches by PlayLog.
 */
export const AudioPlayDailySchema = defineEntity({
  name: 'AudioPlayDaily',
  tableName: 'audio_play_daily',
  properties: {
    debate: () => p.manyToOne(Debate).primary().deleteRule('cascade'),
    day: p.string().length(10).primary(),
    plays: p.integer().default(0),
    listenedSeconds: p.double().default(0),
  },
});
export class AudioPlayDaily extends AudioPlayDailySchema.class {}
AudioPlayDailySchema.setClass(AudioPlayDaily);

/** Typed as a plain list, as `PluginDefinition.entities` is (the inferred tuple repeated every schema's type in the `.d.ts`). */
export const audioEntities: unknown[] = [ExtractionJobSchema, AudioPlayDailySchema];
