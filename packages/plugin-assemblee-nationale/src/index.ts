import {
  DebateSchema,
  PLUGIN_API_VERSION,
  debateView,
  toDebateView,
  type Debate,
  definePlugin,
  z,
  type DebateSource,
  type ImportCompletedEvent,
  type ImportOptions,
} from '@robian/core';
import { PoliteFetcher } from './fetcher.ts';
import { AssembleeImporter, SOURCE_ID, partialResultOf, type ImportResult } from './importer.ts';
import { linkVideo, type LinkVideoResult } from './link.ts';
import { hostsOf, optionsEnv, optionsSchema, originsOf, type AssembleeOptions } from './options.ts';
import { VideoResolver } from './video.ts';
import { buildSchedule, type AssembleeSchedule } from './schedule.ts';
import { audioFollower } from './audio-follow.ts';
import { coreTranscripts } from './transcript-store.ts';

export { AssembleeImporter, SOURCE_ID, partialResultOf, type ImportResult } from './importer.ts';
export { InputError, openInput, recordsOf, kindOfPath, type InputItem, type InputReader, type InputLimits } from './input.ts';
export { jsonElements, type StreamedElement } from './stream-json.ts';
export { parseOrgane, parseActeur, parseReunion, commissionFields, isCommissionOrgane, splitAgenda, ORGANE_KINDS, RecordError } from './model.ts';
export { parseVideoPage, parseNvs, publicUrlOf, rebase, VideoResolver, type VideoNvs, type VideoPage } from './video.ts';
export { PoliteFetcher, FetchError, isThrottled, parseRetryAfter } from './fetcher.ts';
export { linkVideo, splitName, type LinkVideoResult } from './link.ts';
export { demoRecords, organeRecord, acteurRecord, reunionRecord, seanceRecord, recordUid, writeRecordFiles, ASSEMBLEE_ORGANE, type AnRecords, type SeancePoint } from './demo.ts';
export { optionsSchema, optionsEnv, hostsOf, DEFAULT_BASES, DEFAULT_OPEN_DATA_PATHS, type AssembleeOptions } from './options.ts';
export { parseListing, listingUrl, parisDay, catchUpDays, type ListedVideo } from './listing.ts';
export { parseSrt, type Cue } from './captions.ts';
export { parseReport, reportUidOf, type ParsedReport, type Speech } from './report.ts';
export { parsePlayer, timeChapters, withEnds, interventions, type PlayerTimeline, type ChapterTiming } from './synchro.ts';
export { parseLiveTxt, parseEdito, type LiveFlux, type Diffusion } from './live-feed.ts';
export { LiveWatcher, liveHlsUrl, type LiveSitting } from './live.ts';
export { VideoDiscovery, titleSimilarity } from './discovery.ts';
export { SittingEnricher, speechSegments, captionSegments, type TranscriptWriter, type SegmentInput, type Enrichment } from './enrich.ts';
export { datasetUrls } from './opendata.ts';
export { TASKS, type AssembleeSchedule } from './schedule.ts';

export const PLUGIN_NAME = 'assemblee-nationale';
export const PLUGIN_VERSION = '0.1.0';

/** What `assemblee.import` and the CLI call. */
export type AssembleeImport = (input: string, options?: ImportOptions) => Promise<ImportResult>;
/** What `assemblee.linkVideo` and the CLI call. */
export type AssembleeLinkVideo = (url: string, options?: { signal?: AbortSignal }) => Promise<LinkVideoResult>;

declare module '@robian/core' {
  interface RobianServices {
    /** Imports AN open data from a folder, a JSON file, a zip, or a URL on the open-data host. */
    'assemblee.import': AssembleeImport;
    /** Links a video page to its réunion (chapters, speakers, media URLs on the debate). */
    'assemblee.linkVideo': AssembleeLinkVideo;
    /** The plugin's scheduled tasks: status and run-now (`robian schedule`). */
    'assemblee.schedule': AssembleeSchedule;
  }
}

const linkVideoView = z
  .object({
    debate_id: z.string(),
    created: z.boolean().meta({ description: 'true when the réunion was not in the catalogue yet and the debate was made from the video' }),
    meeting_id: z.string().meta({ description: 'the réunion uid (NVS meeting_id)' }),
    page_url: z.string(),
    candidates: z.array(
      z.object({
        url: z.string(),
        kind: z.enum(['mp3', 'mp4', 'm4a', 'hls', 'other']),
        audioCodec: z.string().optional(),
        origin: z.string().optional(),
        verified: z.boolean().optional(),
      }),
    ),
    chapters: z.number().int(),
    speakers_linked: z.number().int(),
    speakers_created: z.number().int(),
    warnings: z.array(z.string()),
    debate: debateView,
  })
  .meta({ id: 'AssembleeVideoLink' });

/**
 * The Assemblée nationale source: imports the open data (organes, acteurs, réunions) and resolves
 * the pages of videos.assemblee-nationale.fr to their MP3, MP4 and HLS.
 */
export const assembleeNationalePlugin = definePlugin({
  name: PLUGIN_NAME,
  version: PLUGIN_VERSION,
  apiVersion: PLUGIN_API_VERSION,
  description: 'Assemblée nationale: open-data import and video resolution',
  options: optionsSchema,
  env: optionsEnv,
  optionalDependsOn: ['audio'],
  setup(ctx) {
    const options = ctx.options as AssembleeOptions;
    const fetcherSettings = {
      maxConcurrent: options.maxConcurrentRequests,
      maxRetries: options.maxRetries,
      retryBaseMs: options.retryBaseMs,
      maxRetryAfterSeconds: options.maxRetryAfterSeconds,
      userAgent: options.userAgent,
      maxPerHost: options.maxRequestsPerHost,
    };
    const mediaOrigins = originsOf([options.videosBaseUrl, options.hlsBaseUrl, options.originBaseUrl, options.siteBaseUrl]);
    const dataOrigins = originsOf([options.openDataBaseUrl]);
    const mediaFetcher = new PoliteFetcher({ ...fetcherSettings, allowedHosts: () => mediaOrigins });
    const dataFetcher = new PoliteFetcher({ ...fetcherSettings, allowedHosts: () => dataOrigins });
    const resolver = new VideoResolver({ fetcher: mediaFetcher, options, cache: ctx.cache.namespace('assemblee.pages', options.pageCacheTtlSeconds) });
    const debatesCache = ctx.cache.namespace('debates', ctx.config.cacheTtl.debates);
    const imports = ctx.metrics.counter({ name: 'robian_assemblee_import_records_total', help: 'AN open-data records imported, by kind and outcome', labelNames: ['kind', 'outcome'] });

    const runImport: AssembleeImport = async (input, importOptions = {}) => {
      const importer = new AssembleeImporter({
        orm: ctx.orm,
        logger: ctx.logger,
        fetcher: dataFetcher,
        batchSize: options.batchSize,
        maxFileBytes: options.maxFileBytes,
        streamThresholdBytes: options.streamThresholdBytes,
        maxDownloadBytes: options.maxDownloadBytes,
        downloadTimeoutMs: options.downloadTimeoutMs,
      });
      let result: ImportResult;
      try {
        result = await importer.run(input, importOptions);
      } catch (err) {
        const partial = partialResultOf(err);
        if (partial) {
          // what was committed before the failure is in the database: refresh it, then report the failure
          await debatesCache.invalidate();
          await ctx.events.emit('import.completed', {
            source: SOURCE_ID,
            report: partial.report,
            changedDebateIds: partial.changedDebateIds,
            removedDebateIds: partial.removedDebateIds,
            failed: (err as Error).message,
          });
        }
        throw err;
      }
      const { report } = result;
      for (const [kind, c] of [['commission', report.commissions], ['deputy', report.deputies], ['debate', report.debates]] as const) {
        for (const outcome of ['created', 'updated', 'unchanged', 'skipped', 'removed'] as const) {
          const n = c[outcome] ?? 0;
          if (n) imports.inc({ kind, outcome }, n);
        }
      }
      const wrote = [report.commissions, report.deputies, report.debates].some((c) => c.created + c.updated + (c.removed ?? 0) > 0);
      if (wrote) await debatesCache.invalidate();
      ctx.logger.info(
        { commissions: report.commissions, deputies: report.deputies, debates: report.debates, problems: report.problems.length, ms: report.durationMs },
        'assemblee-nationale import done',
      );
      await ctx.events.emit('import.completed', { source: SOURCE_ID, report, changedDebateIds: result.changedDebateIds, removedDebateIds: result.removedDebateIds });
      return result;
    };

    const link = async (url: string, linkOptions: { signal?: AbortSignal; meetingId?: string } = {}) => {
      const result = await linkVideo(ctx.orm, resolver, url, linkOptions);
      await debatesCache.invalidate();
      await ctx.events.emit(result.created ? 'debate.created' : 'debate.updated', { debate: result.debate as unknown as Record<string, unknown> });
      return result;
    };

    const source: DebateSource = {
      id: SOURCE_ID,
      name: 'Assemblée nationale',
      mediaHosts: hostsOf(options),
      canResolve: (url) => resolver.canResolve(url),
      resolve: async (url, resolveOptions) => {
        const { warnings, interfaceUid: _uid, ...media } = await resolver.resolve(url, resolveOptions);
        for (const w of warnings) ctx.logger.warn({ url: url.href }, w);
        return media;
      },
      import: async (input, importOptions) => (await runImport(input, importOptions)).report,
      // the live task's state says which réunion is on air on which flux (any instance reads it)
      liveStream: async (debate) => {
        if (!debate.externalId || debate.status !== 'en_cours') return undefined;
        return (await schedule.live())[debate.externalId]?.hls_url;
      },
    };
    /** A debate's row changed outside linkVideo (times, live status): caches and the bus. */
    const changed = async (debateId: number, previousStatus?: string) => {
      await debatesCache.invalidate();
      const d = await ctx.orm.em.fork().findOne(DebateSchema, { id: debateId }, { populate: ['commission', 'speakers', 'audioFiles'] as never });
      if (d) await ctx.events.emit('debate.updated', { debate: toDebateView(d as Debate) as unknown as Record<string, unknown>, ...(previousStatus ? { previousStatus } : {}) });
    };
    const schedule = buildSchedule({ ctx, options, mediaFetcher, dataFetcher, resolver, link, runImport, changed, extract: audioFollower(ctx, options.autoExtract), transcripts: coreTranscripts(ctx) });
    ctx.sources.register(source);
    ctx.services.provide('assemblee.import', runImport);
    ctx.services.provide('assemblee.linkVideo', link);
    ctx.services.provide('assemblee.schedule', schedule);

    ctx.router.route({
      method: 'post',
      path: '/api/assemblee/videos',
      operationId: 'linkAssembleeVideo',
      summary: 'Link a video page of videos.assemblee-nationale.fr to its réunion (chapters, speakers, media)',
      tags: ['assemblee-nationale'],
      auth: 'admin',
      body: z.object({ url: z.string().trim().min(1).max(2048) }).strict(),
      responses: { 200: { description: 'The debate the video was linked to, and what the page offered', schema: linkVideoView } },
      handler: async (_koa, { body }) => {
        const result = await link(body.url);
        return { ...result, debate_id: String(result.debate_id) };
      },
    });

    return {
      // scheduled work runs in `robian serve` only (workers), not in CLI maintenance commands
      start: () => {
        if (ctx.workers && options.schedule) schedule.start();
      },
      stop: () => schedule.stop(),
      health: async () => {
        const tasks = await schedule.status();
        const failing = tasks.filter((t) => t.last_outcome === 'failed').map((t) => t.task);
        return {
          status: failing.length ? 'degraded' : 'ok',
          media_hosts: source.mediaHosts,
          schedule: { enabled: schedule.enabled, tasks, ...(failing.length ? { failing } : {}) },
        } as const;
      },
    };
  },
});

export default assembleeNationalePlugin;
