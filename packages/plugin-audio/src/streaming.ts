import { idParams } from '@robian/core';
import { defaultQuality, type Rendition } from './renditions.ts';
import type { LiveRelay } from './live-relay.ts';
import type { AudioRuntime } from './runtime.ts';
import { streamingView } from './wire.ts';

/** What can be played for a debate: `GET /api/debats/{id}/streaming`. */
export class Streaming {
  readonly audio: AudioRuntime;
  readonly live: LiveRelay | undefined;

  constructor(audio: AudioRuntime, live?: LiveRelay) {
    this.audio = audio;
    this.live = live;
  }

  register(): void {
    const { ctx } = this.audio;
    for (const [path, operationId, note] of [
      ['/api/debats/{id}/streaming', 'getDebateStreaming', ''],
      ['/api/streaming/{id}/info', 'getDebateStreamingOriginal', " (the original RobianAPI's path)"],
    ] as const) {
      ctx.router.route({
        method: 'get',
        path,
        operationId,
        summary: `What can be played for a debate: the default rendition and every rendition with its state${note}`,
        tags: ['audio'],
        params: idParams,
        responses: { 200: { description: 'Streaming information', schema: streamingView }, 404: { description: 'No such debate' } },
        handler: (_koa, { params }) => this.streaming(params.id),
      });
    }
  }

  async streaming(id: number) {
    const { ctx } = this.audio;
    const r = this.audio.parts;
    const debate = await this.audio.loadDebate(id);
    const liveUrl = this.live ? await this.live.liveUrlOf(debate) : null;
    const renditions = await r.library.renditions(id);
    const wanted: Rendition = { format: ctx.config.audioFormat, quality: defaultQuality(ctx.config.audioFormat, ctx.config.audioBitrate) };
    const same = (v: { format: string; quality: string }) => v.format === wanted.format && v.quality === wanted.quality;
    const chosen = renditions.find((v) => same(v) && v.status === 'ready') ?? renditions.find((v) => v.status === 'ready') ?? renditions.find(same) ?? renditions[0];
    const available = chosen?.status === 'ready';
    const status = !chosen ? 'not_started' : chosen.status;
    const message = available
      ? 'Audio available'
      : !chosen
        ? `Audio not extracted yet: POST /api/debats/${id}/extract to request it`
        : chosen.status === 'failed'
          ? `Extraction failed: ${chosen.error ?? 'unknown error'}`
          : chosen.status === 'cancelled'
            ? 'Extraction cancelled'
            : chosen.status === 'running'
              ? `Extraction in progress (${Math.round(chosen.progress)}%)`
              : 'Extraction queued';
    return {
      debate_id: String(id),
      audio_available: available,
      stream_url: available ? chosen.stream_url : null,
      download_url: available ? chosen.download_url : null,
      file_size: available ? chosen.file_size : null,
      duration_seconds: available && chosen.duration_seconds !== null ? Math.round(chosen.duration_seconds) : null,
      format: chosen?.format ?? wanted.format,
      quality: chosen?.quality ?? wanted.quality,
      extraction_status: ORIGINAL_STATUS[status],
      rendition_status: status,
      message,
      renditions,
      live_available: liveUrl !== null,
      live_url: liveUrl,
    };
  }
}

/** Robian's rendition states in the original's words (pending | extracting | completed | error; null: never requested). */
export const ORIGINAL_STATUS = { not_started: null, queued: 'pending', running: 'extracting', ready: 'completed', failed: 'error', cancelled: 'error' } as const;
