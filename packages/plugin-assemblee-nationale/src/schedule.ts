import { TaskScheduler, type PluginContext, type TaskStatus } from '@robian/core';
import { VideoDiscovery } from './discovery.ts';
import { SittingEnricher, type ExtractQueue, type TranscriptWriter } from './enrich.ts';
import type { PoliteFetcher } from './fetcher.ts';
import type { ImportResult } from './importer.ts';
import type { LinkVideoResult } from './link.ts';
import { LiveWatcher, type LiveSitting } from './live.ts';
import { refreshOpenData } from './opendata.ts';
import type { AssembleeOptions } from './options.ts';
import type { VideoResolver } from './video.ts';

/** The task names (rows of `scheduled_task`). */
export const TASKS = {
  openData: 'assemblee.open-data',
  videos: 'assemblee.videos',
  live: 'assemblee.live',
  transcripts: 'assemblee.transcripts',
} as const;

/** What `assemblee.schedule` offers the host and the CLI. */
export interface AssembleeSchedule {
  /** True when this process schedules (robian serve with AN_SCHEDULE on). */
  readonly enabled: boolean;
  readonly tasks: string[];
  status(): Promise<TaskStatus[]>;
  /** Runs a task now (short names accepted: `videos` for `assemblee.videos`). */
  run(task: string): Promise<TaskStatus>;
  /** The sittings on air (the live task's state; any instance can read it). */
  live(): Promise<Record<string, LiveSitting>>;
  /** Re-reads a linked sitting's times and transcripts now. */
  enrich: SittingEnricher['enrich'];
  start(): void;
  stop(): Promise<void>;
}

export interface ScheduleDeps {
  ctx: PluginContext;
  options: AssembleeOptions;
  mediaFetcher: PoliteFetcher;
  dataFetcher: PoliteFetcher;
  resolver: VideoResolver;
  link: (url: string, options: { signal?: AbortSignal; meetingId?: string }) => Promise<LinkVideoResult>;
  runImport: (input: string, options: { signal?: AbortSignal }) => Promise<ImportResult>;
  changed: (debateId: number, previousStatus?: string) => Promise<void>;
  extract?: () => ExtractQueue | undefined;
  /** Where transcripts go (core's storage). */
  transcripts?: TranscriptWriter;
}

/** The plugin's four periodic tasks on core's TaskScheduler (one run per interval across instances). */
export function buildSchedule(d: ScheduleDeps): AssembleeSchedule {
  const { ctx, options } = d;
  const orm = () => ctx.orm;
  const enricher = new SittingEnricher({
    orm,
    logger: ctx.logger,
    fetcher: d.mediaFetcher,
    resolver: d.resolver,
    options,
    transcripts: () => d.transcripts,
    extract: () => d.extract?.(),
    changed: (id) => d.changed(id),
  });
  const discovery = new VideoDiscovery({ orm, logger: ctx.logger, fetcher: d.mediaFetcher, resolver: d.resolver, options, enricher, link: d.link });
  const live = new LiveWatcher({ orm, logger: ctx.logger, fetcher: d.mediaFetcher, resolver: d.resolver, options, changed: (id, previous) => d.changed(id, previous) });
  const scheduler = new TaskScheduler({
    orm,
    logger: ctx.logger.child({ component: 'assemblee-schedule' }),
    leaseMs: options.scheduleLeaseSeconds * 1000,
    tickMs: options.scheduleTickMs,
    metrics: { registry: ctx.metrics, prefix: 'robian_assemblee_task' },
    tasks: [
      {
        name: TASKS.openData,
        intervalMs: options.openDataIntervalSeconds * 1000,
        timeoutMs: options.downloadTimeoutMs * 2,
        run: (run) => refreshOpenData({ fetcher: d.dataFetcher, options, importFile: (path, signal) => d.runImport(path, { signal }) }, run),
      },
      { name: TASKS.videos, intervalMs: options.videosIntervalSeconds * 1000, timeoutMs: Math.max(600_000, options.videosIntervalSeconds * 10_000), run: (run) => discovery.run(run) },
      { name: TASKS.live, intervalMs: options.liveIntervalSeconds * 1000, timeoutMs: Math.max(60_000, options.liveIntervalSeconds * 4000), run: (run) => live.run(run) },
      {
        name: TASKS.transcripts,
        intervalMs: options.transcriptsIntervalSeconds * 1000,
        run: async (run) => {
          const summary = await enricher.retry({ signal: run.signal, days: options.transcriptRetryDays });
          return { summary, ...(summary.throttled ? { error: `throttled by the platform, the rest at the next run: ${summary.throttled}` } : {}) };
        },
      },
    ],
  });
  let liveCache: { at: number; value: Promise<Record<string, LiveSitting>> } | undefined;
  const fullName = (task: string) => (scheduler.names.includes(task) ? task : `assemblee.${task}`);
  return {
    enabled: options.schedule && ctx.workers,
    tasks: scheduler.names,
    status: () => scheduler.status(),
    run: (task) => scheduler.runNow(fullName(task)),
    live: () => {
      // read by every listener request of a live relay: a few seconds of staleness are fine
      if (!liveCache || Date.now() - liveCache.at > 2000) {
        liveCache = { at: Date.now(), value: scheduler.state(TASKS.live).then((s) => (s.live as Record<string, LiveSitting> | undefined) ?? {}) };
        liveCache.value.catch(() => (liveCache = undefined));
      }
      return liveCache.value;
    },
    enrich: (id, o) => enricher.enrich(id, o),
    start: () => scheduler.start(),
    stop: () => scheduler.stop(),
  };
}
