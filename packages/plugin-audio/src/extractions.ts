import { NotFoundError, ProblemError, idParams, toAudioFileView, z } from '@robian/core';
import { PRIORITIES } from './jobs.ts';
import type { Rendition } from './renditions.ts';
import type { AudioRuntime } from './runtime.ts';
import { jobMessage } from './service.ts';
import { cancelQuery, extractBody, jobView, resolveRendition } from './wire.ts';

/** Extraction requests: `POST /api/debats/{id}/extract` (deduplicated) and `DELETE` (cancel). */
export class Extractions {
  readonly audio: AudioRuntime;

  constructor(audio: AudioRuntime) {
    this.audio = audio;
  }

  register(): void {
    const { ctx } = this.audio;
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
        403: { description: 'Without the admin key: a rendition outside PUBLIC_RENDITIONS or a priority above normal (the problem lists what is allowed)' },
        404: { description: 'No such debate' },
        422: { description: 'Invalid rendition, no video URL, or a host outside MEDIA_ALLOWED_HOSTS' },
        429: { description: 'Too many extraction requests from this client (the host’s strict limit, RATE_LIMIT_STRICT_PER_MINUTE)' },
      },
      handler: async (koa, { params, body }) => {
        this.audio.policy.check(koa, resolveRendition(ctx.config, 'body', body.format, body.quality), body.priority);
        const { status, view } = await this.request(params.id, body);
        koa.status = status;
        koa.body = view;
        return undefined;
      },
    });

    ctx.router.route({
      method: 'post',
      path: '/api/streaming/{id}/extract',
      operationId: 'extractDebateAudioOriginal',
      summary: "Request the extraction of a rendition (the original RobianAPI's path: 200 in every case)",
      tags: ['audio'],
      params: idParams,
      body: extractBody,
      responses: {
        200: { description: 'The job (new, existing or completed)', schema: jobView },
        403: { description: 'Without the admin key: a rendition outside PUBLIC_RENDITIONS or a priority above normal' },
        404: { description: 'No such debate' },
        422: { description: 'Invalid rendition, no video URL, or a host outside MEDIA_ALLOWED_HOSTS' },
      },
      handler: async (koa, { params, body }) => {
        this.audio.policy.check(koa, resolveRendition(ctx.config, 'body', body.format, body.quality), body.priority);
        return (await this.request(params.id, body)).view;
      },
    });

    ctx.router.route({
      method: 'get',
      path: '/api/streaming/{id}/status',
      operationId: 'getExtractionStatusOriginal',
      summary: "The state of the extraction of a rendition (default: the configured one), with its audio file once completed (the original RobianAPI's path)",
      tags: ['audio'],
      params: idParams,
      query: cancelQuery,
      responses: { 200: { description: 'The job', schema: jobView }, 404: { description: 'No such debate, or no extraction ever requested' } },
      handler: (_koa, { params, query }) => this.status(params.id, query),
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
      handler: (_koa, { params, query }) => this.cancel(params.id, query),
    });
  }

  /** Queues (or finds) the job of a rendition: 202 with the job, or 200 when the audio is already there. */
  async request(id: number, body: z.output<typeof extractBody>): Promise<{ status: 200 | 202; view: unknown }> {
    const { ctx } = this.audio;
    const r = this.audio.parts;
    const rendition = resolveRendition(ctx.config, 'body', body.format, body.quality);
    const debate = await this.audio.loadDebate(id);
    if (!debate.videoUrl) {
      throw new ProblemError(422, 'no-media', 'No media', `Debate ${id} has no video_url to extract audio from.`, { errors: [{ in: 'body', field: 'video_url', message: 'the debate has no video_url' }] });
    }
    let url: URL;
    try {
      url = new URL(debate.videoUrl);
    } catch {
      throw new ProblemError(422, 'no-media', 'No media', `Debate ${id} has an invalid video_url.`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || !this.audio.allowList().allows(url)) {
      throw new ProblemError(422, 'host-not-allowed', 'Host not allowed', `The host "${url.host}" of this debate's video_url is not in MEDIA_ALLOWED_HOSTS (host and port): Robian only fetches media from its sources' hosts.`, {
        host: url.host,
        errors: [{ in: 'body', field: 'video_url', message: `host "${url.host}" is not allowed` }],
      });
    }
    const file = await r.library.file(id, rendition);
    const stored = file ? await r.storage.stat(file.storageKey) : undefined;
    const { job, created } = await r.store.enqueue(id, rendition, PRIORITIES[body.priority], Boolean(stored));
    if (stored) return { status: 200, view: { ...r.library.jobView(job, 'Audio available'), status: 'completed', progress: 100 } };
    if (created) r.scheduler?.nudge();
    return { status: 202, view: r.library.jobView(job, created ? 'Extraction queued' : jobMessage(job)) };
  }

  /** The job of a rendition, as the original's ExtractionResponse (with the audio file once completed). */
  async status(id: number, query: z.output<typeof cancelQuery>) {
    const { ctx } = this.audio;
    const r = this.audio.parts;
    await this.audio.loadDebate(id);
    const rendition = resolveRendition(ctx.config, 'query', query.format, query.quality);
    const file = await r.library.file(id, rendition);
    const job = (await r.store.forDebate(id)).find((j) => j.format === rendition.format && j.quality === rendition.quality);
    if (!job && !file) throw new NotFoundError(`No extraction of the ${rendition.format}/${rendition.quality} audio of debate ${id} was ever requested.`);
    const audio_file = file ? toAudioFileView(file, id) : null;
    if (!job) {
      return { extraction_id: `file-${file!.id}`, debate_id: String(id), format: rendition.format, quality: rendition.quality, status: 'completed', progress: 100, attempts: 0, error: null, message: 'Audio available', created_at: audio_file!.created_at, started_at: null, finished_at: audio_file!.created_at, audio_file };
    }
    return { ...r.library.jobView(job), ...(file ? { status: 'completed', progress: 100, message: 'Audio available' } : {}), audio_file };
  }

  /** Cancels the queued or running jobs of a debate (all, or one rendition); answers once local processes are gone. */
  async cancel(id: number, query: z.output<typeof cancelQuery>) {
    const { ctx } = this.audio;
    const r = this.audio.parts;
    await this.audio.loadDebate(id);
    const filter: Partial<Rendition> = {};
    if (query.format) filter.format = query.format;
    if (query.format && query.quality) filter.quality = resolveRendition(ctx.config, 'query', query.format, query.quality).quality;
    const cancelled = await r.store.cancel(id, filter);
    if (cancelled.length === 0) throw new NotFoundError(`No queued or running extraction for debate ${id}.`);
    const waits: Promise<void>[] = [];
    for (const j of cancelled) {
      // a job running here is stopped now (its runner emits the event); one running elsewhere stops at its next heartbeat
      if (r.scheduler?.abortLocal(j.id)) waits.push(r.scheduler.local(j.id) ?? Promise.resolve());
      else if (j.status === 'queued') void ctx.events.emit('extraction.cancelled', { extraction_id: j.id, debate_id: id, format: j.format, quality: j.quality, status: 'cancelled', progress: 0 });
    }
    await Promise.all(waits); // processes killed and temp files removed before answering
    const now = await Promise.all(cancelled.map((j) => r.store.get(j.id)));
    return { cancelled: now.filter((j) => j !== null).map((j) => r.library.jobView(j)) };
  }
}
