import { join } from 'node:path';
import { DebateSchema, NO_ID, NotFoundError, ProblemError, type PluginContext, type PluginHealth } from '@robian/core';
import { BinaryLocator } from './binaries.ts';
import { JobStore } from './jobs.ts';
import type { AudioOptions } from './options.ts';
import { HostAllowList } from './allow-list.ts';
import { MediaEgressProxy } from './egress.ts';
import { ProcessLedger } from './process-ledger.ts';
import { Extractor } from './pipeline.ts';
import { ExtractionPolicy } from './policy.ts';
import { removeDebateAudio } from './removal.ts';
import { MASTER, isMaster } from './renditions.ts';
import { ExtractionScheduler, jobDebateId, renditionOf } from './scheduler.ts';
import { registerAudioMetrics } from './metrics.ts';
import { PlayLog } from './plays.ts';
import { AudioLibrary } from './service.ts';
import { S3AudioStorage } from './s3-storage.ts';
import { LibraryMigration } from './migrate.ts';
import { createAudioStorage, localAudioRoot, s3Config } from './storage-config.ts';
import { LocalAudioStorage, type AudioStorage } from './storage.ts';

/** What a started audio plugin works with. */
export interface AudioParts {
  /** ffmpeg, ffprobe and yt-dlp, looked for again while one is missing. */
  binaries: BinaryLocator;
  storage: AudioStorage;
  store: JobStore;
  library: AudioLibrary;
  extractor: Extractor;
  scheduler: ExtractionScheduler | undefined;
  plays: PlayLog;
}

/**
 * One instance of the audio plugin at run time: what `start` builds (binaries, storage, job store,
 * library, extractor, scheduler), shared by the routes of that instance, torn down by `stop`.
 */
export class AudioRuntime {
  readonly ctx: PluginContext<AudioOptions>;
  #parts: AudioParts | undefined;
  /** Every request FFmpeg and yt-dlp make goes through it (egress.ts); started with the workers. */
  readonly egress: MediaEgressProxy;
  /** Which renditions and priorities callers without the admin key may queue. */
  readonly policy: ExtractionPolicy;
  /** The FFmpeg/yt-dlp this instance runs and their temp files, on disk, for the instance started after a SIGKILL of this one. */
  readonly ledger: ProcessLedger;

  constructor(ctx: PluginContext<AudioOptions>) {
    this.ctx = ctx;
    this.ledger = new ProcessLedger(join(ctx.dataDir(), 'run'), ctx.logger);
    this.egress = new MediaEgressProxy(() => this.egressAllowList(), ctx.logger);
    this.policy = new ExtractionPolicy(ctx.config, ctx.auth.registry, ctx.options.publicRenditions);
  }

  #storageOrigins: string[] = [];

  /** What FFmpeg may reach through the egress proxy: the allow-list and the audio storage's own server (masters on S3). */
  egressAllowList(): HostAllowList {
    return new HostAllowList([...this.ctx.sources.registry.mediaHosts(), ...this.options.allowedHosts, ...this.#storageOrigins]);
  }

  get options(): AudioOptions {
    return this.ctx.options;
  }

  /** The started parts; 503 before `start` and after `stop`. */
  get parts(): AudioParts {
    if (!this.#parts) throw new ProblemError(503, 'service-unavailable', 'Service unavailable', 'The audio plugin is not started.');
    return this.#parts;
  }

  /** The hosts media may be fetched from: the sources' and MEDIA_ALLOWED_HOSTS. */
  allowList(): HostAllowList {
    return new HostAllowList([...this.ctx.sources.registry.mediaHosts(), ...this.options.allowedHosts]);
  }

  async loadDebate(id: number) {
    const debate = await this.ctx.em.findOne(DebateSchema, { id }, { disableIdentityMap: true });
    if (!debate) throw new NotFoundError(id === NO_ID ? 'No debate has this id.' : `No debate with id ${id}.`);
    return debate;
  }

  async start(): Promise<void> {
    const { ctx, options: o } = this;
    // first: a predecessor killed on this machine may still run FFmpeg into full-size temp files
    this.ledger.open();
    const locator = await BinaryLocator.find(
      {
        ...(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {}),
        ...(o.ffprobePath ? { ffprobePath: o.ffprobePath } : {}),
        ...(o.ytdlpPath ? { ytdlpPath: o.ytdlpPath } : {}),
      },
      o.binariesRecheckSeconds * 1000,
    );
    for (const b of [locator.current.ffmpeg, locator.current.ffprobe, locator.current.ytdlp]) {
      if (!b.path || b.error) ctx.logger.warn({ binary: b.name, error: b.error }, `${b.name} is not usable (looked for again while missing, every ${o.binariesRecheckSeconds} s at most)`);
    }
    // a plugin may give a storage of its own (the `audio.storage` service); else AUDIO_STORAGE's
    const storage = ctx.services.maybe('audio.storage') ?? createAudioStorage(o, ctx.config.dataDir);
    this.#storageOrigins = storage.origins ?? [];
    const store = new JobStore(ctx.orm);
    const library = new AudioLibrary(ctx, storage, store, o.signedUrlTtl);
    const plays = new PlayLog(ctx);
    registerAudioMetrics(ctx, store);
    // the debate's status follows its audio (disponible is set when a rendition is saved)
    const follow = (fn: () => Promise<void>) => fn().catch((err: unknown) => ctx.logger.warn({ err }, 'could not update the debate status'));
    ctx.events.on('extraction.started', (e) => follow(() => library.moveStatus(e.debate_id, ['termine', 'erreur'], 'extraction')));
    ctx.events.on('extraction.failed', (e) => follow(() => library.moveStatus(e.debate_id, ['extraction'], 'erreur', { onlyWithoutAudio: true })));
    ctx.events.on('extraction.cancelled', (e) => follow(() => library.moveStatus(e.debate_id, ['extraction'], 'termine', { onlyWithoutAudio: true })));
    if (o.workers && ctx.workers) await this.egress.start();
    const extractor = new Extractor({ binaries: () => locator.current, storage, sources: ctx.sources.registry, allowList: () => this.allowList(), threads: ctx.config.ffmpegThreads, egress: () => this.egress.url, inputTtlSeconds: ctx.config.extractionTimeoutSeconds + 600, ledger: this.ledger });
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
          schedules: ctx.metrics.schedules(),
          execute: async (job, signal, onProgress) => {
            await locator.refresh(); // installed since the start? no restart needed
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
    this.#parts = { binaries: locator, storage, store, library, extractor, scheduler, plays };
    ctx.events.on('debate.deleted', ({ id }) =>
      removeDebateAudio({ debateId: id, storage, library, scheduler, logger: ctx.logger }).then(() => undefined, (err: unknown) => ctx.logger.warn({ err, debate_id: id }, 'could not remove the audio of a deleted debate')),
    );
    ctx.services.provide('audio', {
      storage,
      jobs: store,
      library,
      binaries: () => locator.current,
      allowedHosts: () => this.allowList().list(),
      migrate: async (onFile) => {
        const to = storage instanceof S3AudioStorage ? storage : new S3AudioStorage(s3Config(o, ctx.config.dataDir));
        try {
          return await new LibraryMigration({ from: new LocalAudioStorage(localAudioRoot(o, ctx.config.dataDir)), to, ...(onFile ? { onFile } : {}) }).run();
        } finally {
          if (to !== storage) to.close();
        }
      },
      cleanup: (c = {}) => library.cleanup({ ttlDays: c.ttlDays ?? o.cleanupTtlDays, uploadMaxAgeHours: o.s3AbortUploadsAfterHours, ...(c.dryRun === undefined ? {} : { dryRun: c.dryRun }) }),
    });
    ctx.services.provide('audio.enclosureUrl', (debateId, file, ttlSeconds) => library.enclosureUrl(debateId, file, ttlSeconds));
    scheduler?.start();
    plays.start();
  }

  async stop(): Promise<void> {
    const parts = this.#parts;
    if (parts?.scheduler) await parts.scheduler.stop();
    await parts?.plays.stop();
    await this.egress.stop();
    this.ledger.close();
    parts?.storage.close?.();
    this.#parts = undefined;
  }

  async health(): Promise<PluginHealth> {
    const r = this.parts;
    const counts = await r.store.counts();
    const b = await r.binaries.refresh();
    const bin = (x: typeof b.ffmpeg) => ({ found: Boolean(x.path && !x.error), path: x.path ?? null, origin: x.origin, version: x.version ?? null, ...(x.error ? { error: x.error } : {}) });
    const usable = Boolean(b.ffmpeg.path && !b.ffmpeg.error && b.ffprobe.path && !b.ffprobe.error);
    return {
      status: usable ? 'ok' : 'degraded',
      binaries: { ffmpeg: bin(b.ffmpeg), ffprobe: bin(b.ffprobe), 'yt-dlp': bin(b.ytdlp) },
      storage: {
        kind: r.storage.kind,
        delivery: r.storage.url ? this.options.delivery : 'proxy',
        ...(r.storage instanceof LocalAudioStorage ? { root: r.storage.root } : {}),
        ...(r.storage instanceof S3AudioStorage ? { bucket: r.storage.bucket, prefix: r.storage.prefix } : {}),
      },
      workers: r.scheduler ? { concurrency: this.ctx.config.maxConcurrentExtractions, running_here: r.scheduler.running, owner: r.scheduler.owner } : { concurrency: 0 },
      jobs: counts,
      allowed_hosts: this.allowList().list(),
      egress: { proxy: this.egress.url ?? null, refused: this.egress.refused.length },
      ...(usable ? {} : { detail: 'ffmpeg/ffprobe not found: set FFMPEG_PATH (and FFPROBE_PATH) or install them on PATH' }),
    };
  }
}
