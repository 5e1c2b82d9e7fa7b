import { join } from 'node:path';
import {
  DebateSchema,
  ForbiddenError,
  NotFoundError,
  PLUGIN_API_VERSION,
  ProblemError,
  ValidationError,
  definePlugin,
  idParams,
  z,
  type PluginContext,
  type RobianContext,
} from '@robian/core';
import { findBinaries, type Binaries } from './binaries.ts';
import { audioEntities } from './entities.ts';
import { JobStore, PRIORITIES, type Priority } from './jobs.ts';
import { audioMigrations } from './migrations.ts';
import { audioEnv, audioOptions, type AudioOptions } from './options.ts';
import { Extractor, HostAllowList } from './pipeline.ts';
import { EXTENSIONS, FORMATS, MASTER, MIME_TYPES, QUALITIES, defaultQuality, isMaster, normaliseQuality, type AudioFormat, type Rendition } from './renditions.ts';
import { ExtractionScheduler, jobDebateId, renditionOf } from './scheduler.ts';
import { contentDisposition, safeFileName, serveFile } from './serve.ts';
import { AudioLibrary, jobMessage, type CleanupReport } from './service.ts';
import { verify } from './signing.ts';
import { LocalAudioStorage, type AudioStorage } from './storage.ts';

export * from './binaries.ts';
export * from './entities.ts';
export * from './jobs.ts';
export * from './migrations.ts';
export * from './options.ts';
export * from './pipeline.ts';
export * from './renditions.ts';
export * from './scheduler.ts';
export * from './serve.ts';
export * from './service.ts';
export * from './signing.ts';
export * from './storage.ts';

export const AUDIO_PLUGIN = 'audio';

/** What the plugin offers other plugins and the CLI (`ctx.services.get('audio')`). */
export interface AudioService {
  storage: AudioStorage;
  jobs: JobStore;
  library: AudioLibrary;
  binaries(): Binaries;
  allowedHosts(): string[];
  cleanup(o?: { ttlDays?: number; dryRun?: boolean }): Promise<CleanupReport>;
}

declare module '@robian/core' {
  interface RobianServices {
    audio: AudioService;
  }
}

interface Runtime {
  binaries: Binaries;
  storage: AudioStorage;
  store: JobStore;
  library: AudioLibrary;
  extractor: Extractor;
  scheduler: ExtractionScheduler | undefined;
}

const formatSchema = z.enum(FORMATS);
const renditionQuery = z.object({
  format: formatSchema.optional(),
  quality: z.string().max(16).optional(),
  expires: z.string().max(16).optional(),
  signature: z.string().max(128).optional(),
});
const extractBody = z.object({
  format: formatSchema.optional(),
  quality: z.string().max(16).optional(),
  priority: z.enum(Object.keys(PRIORITIES) as [Priority, ...Priority[]]).default('normal'),
});
const cancelQuery = z.object({ format: formatSchema.optional(), quality: z.string().max(16).optional() });

const jobView = z
  .object({
    extraction_id: z.number(),
    debate_id: z.number(),
    format: z.string(),
    quality: z.string(),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    progress: z.number(),
    attempts: z.number(),
    error: z.string().nullable(),
    message: z.string(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .meta({ id: 'ExtractionJob' });

const renditionView = z
  .object({
    format: z.string(),
    quality: z.string(),
    status: z.enum(['queued', 'running', 'ready', 'failed', 'cancelled']),
    progress: z.number(),
    extraction_id: z.number().nullable(),
    file_size: z.number().nullable(),
    duration_seconds: z.number().nullable(),
    stream_url: z.string().nullable(),
    download_url: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'Rendition' });

const streamingView = z
  .object({
    debate_id: z.number(),
    audio_available: z.boolean(),
    stream_url: z.string().nullable(),
    download_url: z.string().nullable(),
    file_size: z.number().nullable(),
    duration_seconds: z.number().nullable(),
    format: z.string(),
    quality: z.string(),
    extraction_status: z.string(),
    message: z.string(),
    renditions: z.array(renditionView),
  })
  .meta({ id: 'Streaming' });

function resolveRendition(ctx: PluginContext, where: 'query' | 'body', format: AudioFormat | undefined, quality: string | undefined): Rendition {
  const f = format ?? ctx.config.audioFormat;
  if (quality === undefined || quality === '') return { format: f, quality: defaultQuality(f, ctx.config.audioBitrate) };
  const q = normaliseQuality(f, quality);
  if (!q) throw new ValidationError([{ in: where, field: 'quality', message: `expected one of ${QUALITIES[f].join(', ')} for ${f}, got "${quality}"` }]);
  return { format: f, quality: q };
}

/** start/health of each set-up instance of the plugin (a host may run it more than once in tests). */
const lifecycles = new WeakMap<object, { start(): Promise<void>; health(): Promise<{ status: 'ok' | 'degraded' | 'down'; [k: string]: unknown }> }>();

export const audioPlugin = definePlugin({
  name: AUDIO_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Extracts debates’ audio (FFmpeg, durable jobs), stores it and streams it with ranges and signed URLs',
  options: audioOptions,
  env: audioEnv,
  entities: audioEntities,
  migrations: audioMigrations,
  setup(ctx) {
    const o = ctx.options as AudioOptions;
    let rt: Runtime | undefined;
    const runtime = (): Runtime => {
      if (!rt) throw new ProblemError(503, 'service-unavailable', 'Service unavailable', 'The audio plugin is not started.');
      return rt;
    };
    const allowList = () => new HostAllowList([...ctx.sources.registry.mediaHosts(), ...o.allowedHosts]);

    const loadDebate = async (id: number) => {
      const debate = await ctx.em.findOne(DebateSchema, { id }, { disableIdentityMap: true });
      if (!debate) throw new NotFoundError(`No debate with id ${id}.`);
      return debate;
    };

    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}/streaming',
      operationId: 'getDebateStreaming',
      summary: 'What can be played for a debate: the default rendition and every rendition with its state',
      tags: ['audio'],
      params: idParams,
      responses: { 200: { description: 'Streaming information', schema: streamingView }, 404: { description: 'No such debate' } },
      handler: async (_koa, { params }) => {
        const r = runtime();
        await loadDebate(params.id);
        const renditions = await r.library.renditions(params.id);
        const wanted: Rendition = { format: ctx.config.audioFormat, quality: defaultQuality(ctx.config.audioFormat, ctx.config.audioBitrate) };
        const same = (v: { format: string; quality: string }) => v.format === wanted.format && v.quality === wanted.quality;
        const chosen = renditions.find((v) => same(v) && v.status === 'ready') ?? renditions.find((v) => v.status === 'ready') ?? renditions.find(same) ?? renditions[0];
        const available = chosen?.status === 'ready';
        const status = !chosen ? 'not_started' : chosen.status === 'ready' ? 'completed' : chosen.status;
        const message = available
          ? 'Audio available'
          : !chosen
            ? `Audio not extracted yet: POST /api/debats/${params.id}/extract to request it`
            : chosen.status === 'failed'
              ? `Extraction failed: ${chosen.error ?? 'unknown error'}`
              : chosen.status === 'cancelled'
                ? 'Extraction cancelled'
                : chosen.status === 'running'
                  ? `Extraction in progress (${Math.round(chosen.progress)}%)`
                  : 'Extraction queued';
        return {
          debate_id: params.id,
          audio_available: available,
          stream_url: available ? chosen.stream_url : null,
          download_url: available ? chosen.download_url : null,
          file_size: available ? chosen.file_size : null,
          duration_seconds: available ? chosen.duration_seconds : null,
          format: chosen?.format ?? wanted.format,
          quality: chosen?.quality ?? wanted.quality,
          extraction_status: status,
          message,
          renditions,
        };
      },
    });

    ctx.router.route({
      method: 'post',
      path: '/api/debats/{id}/extract',
      operationId: 'extractDebateAudio',
      summary: 'Request the extraction of a rendition (deduplicated: one job per debate and rendition)',
      tags: ['audio'],
      params: idParams,
      body: extractBody,
      responses: {
        202: { description: 'The job (new or existing) is queued or running', schema: jobView },
        200: { description: 'The rendition is already available', schema: jobView },
        404: { description: 'No such debate' },
        422: { description: 'Invalid rendition, no video URL, or a host outside MEDIA_ALLOWED_HOSTS' },
        429: { description: 'Too many extraction requests from this client (the host’s strict limit, RATE_LIMIT_STRICT_PER_MINUTE)' },
      },
      handler: async (koa, { params, body }) => {
        const r = runtime();
        const rendition = resolveRendition(ctx, 'body', body.format, body.quality);
        const debate = await loadDebate(params.id);
        if (!debate.videoUrl) {
          throw new ProblemError(422, 'no-media', 'No media', `Debate ${params.id} has no video_url to extract audio from.`, { errors: [{ in: 'body', field: 'video_url', message: 'the debate has no video_url' }] });
        }
        let url: URL;
        try {
          url = new URL(debate.videoUrl);
        } catch {
          throw new ProblemError(422, 'no-media', 'No media', `Debate ${params.id} has an invalid video_url.`);
        }
        if (!['http:', 'https:'].includes(url.protocol) || !allowList().allows(url)) {
          throw new ProblemError(422, 'host-not-allowed', 'Host not allowed', `The host "${url.hostname}" of this debate's video_url is not in MEDIA_ALLOWED_HOSTS: Robian only fetches media from its sources' hosts.`, {
            host: url.hostname,
            errors: [{ in: 'body', field: 'video_url', message: `host "${url.hostname}" is not allowed` }],
          });
        }
        const file = await r.library.file(params.id, rendition);
        const stored = file ? await r.storage.stat(file.storageKey) : undefined;
        const { job, created } = await r.store.enqueue(params.id, rendition, PRIORITIES[body.priority], Boolean(stored));
        if (stored) {
          koa.status = 200;
          koa.body = { ...r.library.jobView(job, 'Audio available'), status: 'completed', progress: 100 };
          return undefined;
        }
        if (created) r.scheduler?.nudge();
        koa.status = 202;
        koa.body = r.library.jobView(job, created ? 'Extraction queued' : jobMessage(job));
        return undefined;
      },
    });

    ctx.router.route({
      method: 'delete',
      path: '/api/debats/{id}/extract',
      operationId: 'cancelDebateExtraction',
      summary: 'Cancel the queued or running extractions of a debate (all, or one rendition): processes killed, partial files removed',
      tags: ['audio'],
      auth: 'admin',
      params: idParams,
      query: cancelQuery,
      responses: { 200: { description: 'The jobs cancelled', schema: z.object({ cancelled: z.array(jobView) }) }, 404: { description: 'Nothing to cancel' } },
      handler: async (_koa, { params, query }) => {
        const r = runtime();
        await loadDebate(params.id);
        const filter: Partial<Rendition> = {};
        if (query.format) filter.format = query.format;
        if (query.format && query.quality) filter.quality = resolveRendition(ctx, 'query', query.format, query.quality).quality;
        const cancelled = await r.store.cancel(params.id, filter);
        if (cancelled.length === 0) throw new NotFoundError(`No queued or running extraction for debate ${params.id}.`);
        const waits: Promise<void>[] = [];
        for (const j of cancelled) {
          // a job running here is stopped now (its runner emits the event); one running elsewhere stops at its next heartbeat
          if (r.scheduler?.abortLocal(j.id)) waits.push(r.scheduler.local(j.id) ?? Promise.resolve());
          else if (j.status === 'queued') void ctx.events.emit('extraction.cancelled', { extraction_id: j.id, debate_id: params.id, format: j.format, quality: j.quality, status: 'cancelled', progress: 0 });
        }
        await Promise.all(waits); // processes killed and temp files removed before answering
        const now = await Promise.all(cancelled.map((j) => r.store.get(j.id)));
        return { cancelled: now.filter((j) => j !== null).map((j) => r.library.jobView(j)) };
      },
    });

    const serveAudio = (kind: 'inline' | 'attachment') => async (koa: RobianContext, query: z.output<typeof renditionQuery>) => {
      const r = runtime();
      const id = Number(koa.params.id);
      const rendition = resolveRendition(ctx, 'query', query.format, query.quality);
      const path = `/api/debats/${id}/${kind === 'inline' ? 'audio' : 'download'}`;
      if (o.requireSignedUrls || query.signature !== undefined || query.expires !== undefined) {
        const check = verify(ctx.config.secretKey, { path, format: query.format ?? '', quality: query.quality ?? '', ...(query.expires === undefined ? {} : { expires: query.expires }), ...(query.signature === undefined ? {} : { signature: query.signature }) });
        if (!check.ok) throw new ForbiddenError(`This audio URL is refused: ${check.reason}. Get a fresh one from /api/debats/${id}/streaming.`);
      }
      const playable = await r.library.playable(id, rendition);
      if (!playable) {
        await loadDebate(id); // 404 naming the debate when it does not exist
        throw new NotFoundError(`The ${rendition.format}/${rendition.quality} audio of debate ${id} is not available: request it with POST /api/debats/${id}/extract.`, { format: rendition.format, quality: rendition.quality });
      }
      const filename = safeFileName(playable.title, id, EXTENSIONS[rendition.format]);
      try {
        await serveFile(koa, {
          storage: r.storage,
          file: playable.stored,
          contentType: MIME_TYPES[rendition.format],
          disposition: contentDisposition(kind, filename),
          onPlay: () => r.library.played(playable.file),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // removed since it was looked up (cleanup): forget it and say so
        r.library.forget(id);
        throw new NotFoundError(`The ${rendition.format}/${rendition.quality} audio of debate ${id} is no longer available: request it with POST /api/debats/${id}/extract.`);
      }
      return undefined;
    };

    const audioResponses = {
      200: { description: 'The whole file', contentType: 'audio/*' },
      206: { description: 'The requested byte range', contentType: 'audio/*' },
      304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
      403: { description: 'Unsigned, altered or expired URL (REQUIRE_SIGNED_URLS=true)' },
      404: { description: 'No such debate, or the rendition is not extracted' },
      416: { description: 'Range not satisfiable (Content-Range: bytes */size)' },
    };
    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}/audio',
      operationId: 'getDebateAudio',
      summary: 'The audio of a debate (HEAD too): byte ranges, ETag, If-Range, 304',
      tags: ['audio'],
      params: idParams,
      query: renditionQuery,
      responses: audioResponses,
      handler: (koa, { query }) => serveAudio('inline')(koa, query),
    });
    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}/download',
      operationId: 'downloadDebateAudio',
      summary: 'The audio of a debate as an attachment named after its title',
      tags: ['audio'],
      params: idParams,
      query: renditionQuery,
      responses: audioResponses,
      handler: (koa, { query }) => serveAudio('attachment')(koa, query),
    });

    ctx.onStop(async () => {
      if (rt?.scheduler) await rt.scheduler.stop();
      if (rt?.storage instanceof LocalAudioStorage) rt.storage.closeIdle();
      rt = undefined;
    });

    // start-time wiring, kept in setup's closure so that the routes above share the runtime
    const start = async () => {
      const binaries = await findBinaries({
        ...(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {}),
        ...(o.ffprobePath ? { ffprobePath: o.ffprobePath } : {}),
        ...(o.ytdlpPath ? { ytdlpPath: o.ytdlpPath } : {}),
      });
      for (const b of [binaries.ffmpeg, binaries.ffprobe, binaries.ytdlp]) {
        if (!b.path || b.error) ctx.logger.warn({ binary: b.name, error: b.error }, `${b.name} is not usable`);
      }
      const storage = new LocalAudioStorage(o.storageDir ?? join(ctx.config.dataDir, 'audio'));
      const store = new JobStore(ctx.orm);
      const library = new AudioLibrary(ctx, storage, store, o.signedUrlTtl);
      // the debate's status follows its audio (disponible is set when a rendition is saved)
      const follow = (fn: () => Promise<void>) => fn().catch((err: unknown) => ctx.logger.warn({ err }, 'could not update the debate status'));
      ctx.events.on('extraction.started', (e) => follow(() => library.moveStatus(e.debate_id, ['termine', 'erreur'], 'extraction')));
      ctx.events.on('extraction.failed', (e) => follow(() => library.moveStatus(e.debate_id, ['extraction'], 'erreur', { onlyWithoutAudio: true })));
      ctx.events.on('extraction.cancelled', (e) => follow(() => library.moveStatus(e.debate_id, ['extraction'], 'termine', { onlyWithoutAudio: true })));
      const extractor = new Extractor({ binaries, storage, sources: ctx.sources.registry, allowList, threads: ctx.config.ffmpegThreads });
      const scheduler = o.workers && ctx.workers
        ? new ExtractionScheduler({
            store,
            events: ctx.events,
            logger: ctx.logger,
            concurrency: ctx.config.maxConcurrentExtractions,
            timeoutMs: ctx.config.extractionTimeoutSeconds * 1000,
            leaseMs: o.leaseSeconds * 1000,
            pollMs: o.pollIntervalMs,
            maxAttempts: o.maxAttempts,
            retryBaseMs: o.retryBaseMs,
            progressIntervalMs: o.progressIntervalMs,
            execute: async (job, signal, onProgress) => {
              const debateId = jobDebateId(job);
              const debate = await library.em().findOne(DebateSchema, { id: debateId }, { disableIdentityMap: true });
              if (!debate?.videoUrl) throw new Error(`debate ${debateId} has no video_url`);
              const rendition = renditionOf(job);
              const master = isMaster(rendition) ? null : await library.file(debateId, MASTER);
              const result = await extractor.extract({
                masterDurationSeconds: master?.durationSeconds === null || master?.durationSeconds === undefined ? undefined : Number(master.durationSeconds),
                debateId,
                videoUrl: debate.videoUrl,
                rendition,
                signal,
                onProgress,
                onRendition: (extra, file, duration) => library.saveFile(debateId, extra, file, duration),
              });
              await library.saveFile(debateId, rendition, result.file, result.durationSeconds);
              if (!isMaster(rendition)) ctx.logger.debug({ input: result.input }, 'derived rendition');
              return result;
            },
          })
        : undefined;
      rt = { binaries, storage, store, library, extractor, scheduler };
      ctx.services.provide('audio', {
        storage,
        jobs: store,
        library,
        binaries: () => binaries,
        allowedHosts: () => allowList().list(),
        cleanup: (c = {}) => library.cleanup({ ttlDays: c.ttlDays ?? o.cleanupTtlDays, ...(c.dryRun === undefined ? {} : { dryRun: c.dryRun }) }),
      });
      scheduler?.start();
    };
    const health = async (): Promise<{ status: 'ok' | 'degraded' | 'down'; [k: string]: unknown }> => {
      const r = runtime();
      const counts = await r.store.counts();
      const b = r.binaries;
      const bin = (x: typeof b.ffmpeg) => ({ found: Boolean(x.path && !x.error), path: x.path ?? null, origin: x.origin, version: x.version ?? null, ...(x.error ? { error: x.error } : {}) });
      const usable = Boolean(b.ffmpeg.path && !b.ffmpeg.error && b.ffprobe.path && !b.ffprobe.error);
      return {
        status: usable ? ('ok' as const) : ('degraded' as const),
        binaries: { ffmpeg: bin(b.ffmpeg), ffprobe: bin(b.ffprobe), 'yt-dlp': bin(b.ytdlp) },
        storage: { kind: r.storage.kind, ...(r.storage instanceof LocalAudioStorage ? { root: r.storage.root } : {}) },
        workers: r.scheduler ? { concurrency: ctx.config.maxConcurrentExtractions, running_here: r.scheduler.running, owner: r.scheduler.owner } : { concurrency: 0 },
        jobs: counts,
        allowed_hosts: allowList().list(),
        ...(usable ? {} : { detail: 'ffmpeg/ffprobe not found: set FFMPEG_PATH (and FFPROBE_PATH) or install them on PATH' }),
      };
    };
    lifecycles.set(ctx, { start, health });
  },
  async start(ctx) {
    await lifecycles.get(ctx)!.start();
  },
  health(ctx) {
    return lifecycles.get(ctx)!.health();
  },
});
