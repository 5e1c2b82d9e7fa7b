import type { ExtractionEvent, PluginContext } from '@robian/core';
import { JOB_STATUSES } from './entities.ts';
import type { JobStore } from './jobs.ts';

/**
 * The extraction pipeline in Prometheus: jobs by status (the queue depth is `status="queued"`),
 * and how long extractions take by format and outcome (its `_count` counts completions and
 * failures). Read from the job table at scrape time and from the bus's extraction events.
 */
export function registerAudioMetrics(ctx: PluginContext, store: JobStore): void {
  ctx.metrics.gauge({
    name: 'robian_audio_jobs',
    help: 'Extraction jobs by status (all instances: read from the job table)',
    labelNames: ['status'],
    async collect() {
      const counts = await store.counts().catch(() => undefined);
      if (!counts) return;
      for (const status of JOB_STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  const duration = ctx.metrics.histogram({
    name: 'robian_audio_extraction_duration_seconds',
    help: 'Extraction attempts run by this instance, by format and outcome (completed, failed, cancelled)',
    labelNames: ['format', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  });
  const started = new Map<ExtractionEvent['extraction_id'], number>();
  ctx.events.on('extraction.started', (e) => {
    started.set(e.extraction_id, performance.now());
  });
  const end = (outcome: string) => (e: ExtractionEvent) => {
    const t0 = started.get(e.extraction_id);
    if (t0 === undefined) return;
    started.delete(e.extraction_id);
    duration.observe({ format: e.format, outcome }, (performance.now() - t0) / 1000);
  };
  ctx.events.on('extraction.completed', end('completed'));
  ctx.events.on('extraction.failed', end('failed'));
  ctx.events.on('extraction.cancelled', end('cancelled'));
}
