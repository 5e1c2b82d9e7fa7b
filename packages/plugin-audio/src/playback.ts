import { ForbiddenError, NotFoundError, idParams, type RobianContext, type z } from '@robian/core';
import { EXTENSIONS, MIME_TYPES } from './renditions.ts';
import type { AudioRuntime } from './runtime.ts';
import { redirectToStorage } from './redirect.ts';
import { contentDisposition, safeFileName, serveFile } from './serve.ts';
import { fileVersion } from './service.ts';
import { verify } from './signing.ts';
import { renditionQuery, resolveRendition } from './wire.ts';

const audioResponses = {
  200: { description: 'The whole file', contentType: 'audio/*' },
  206: { description: 'The requested byte range', contentType: 'audio/*' },
  304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
  403: { description: 'Unsigned, altered or expired URL (REQUIRE_SIGNED_URLS=true)' },
  404: { description: 'No such debate, or the rendition is not extracted' },
  416: { description: 'Range not satisfiable (Content-Range: bytes */size)' },
  302: { description: 'AUDIO_DELIVERY=redirect: to a presigned GET of the object (or AUDIO_PUBLIC_BASE_URL), which serves the ranges' },
};

/** Playing and downloading a rendition: `GET /api/debats/{id}/audio` and `/download` (ranges, signed URLs). */
export class Playback {
  readonly audio: AudioRuntime;

  constructor(audio: AudioRuntime) {
    this.audio = audio;
  }

  register(): void {
    const { ctx } = this.audio;
    // the seed README's paths, and the original RobianAPI's (`/api/streaming/{id}/stream|download`) on the same handler
    for (const [path, kind, operationId, summary] of [
      ['/api/debats/{id}/audio', 'inline', 'getDebateAudio', 'The audio of a debate (HEAD too): byte ranges, ETag, If-Range, 304'],
      ['/api/debats/{id}/download', 'attachment', 'downloadDebateAudio', 'The audio of a debate as an attachment named after its title'],
      ['/api/streaming/{id}/stream', 'inline', 'streamDebateAudioOriginal', "The audio of a debate (the original RobianAPI's path)"],
      ['/api/streaming/{id}/download', 'attachment', 'downloadDebateAudioOriginal', "The audio of a debate as an attachment (the original RobianAPI's path)"],
    ] as const) {
      ctx.router.route({
        method: 'get',
        path,
        operationId,
        summary,
        tags: ['audio'],
        params: idParams,
        query: renditionQuery,
        responses: audioResponses,
        handler: (koa, { params, query }) => this.serve(kind, koa, params.id, query),
      });
    }
  }

  async serve(kind: 'inline' | 'attachment', koa: RobianContext, id: number, query: z.output<typeof renditionQuery>): Promise<undefined> {
    const { ctx } = this.audio;
    const r = this.audio.parts;
    const rendition = resolveRendition(ctx.config, 'query', query.format, query.quality);
    const path = `/api/debats/${id}/${kind === 'inline' ? 'audio' : 'download'}`;
    if (this.audio.options.requireSignedUrls || query.signature !== undefined || query.expires !== undefined) {
      const check = verify(ctx.config.secretKey, { path, format: query.format ?? '', quality: query.quality ?? '', ...(query.expires === undefined ? {} : { expires: query.expires }), ...(query.signature === undefined ? {} : { signature: query.signature }) });
      if (!check.ok) throw new ForbiddenError(`This audio URL is refused: ${check.reason}. Get a fresh one from /api/debats/${id}/streaming.`);
    }
    const playable = await r.library.playable(id, rendition);
    if (!playable) {
      await this.audio.loadDebate(id); // 404 naming the debate when it does not exist
      throw new NotFoundError(`The ${rendition.format}/${rendition.quality} audio of debate ${id} is not available: request it with POST /api/debats/${id}/extract.`, { format: rendition.format, quality: rendition.quality });
    }
    if (query.v !== undefined && query.v !== fileVersion(playable.file)) {
      // a feed's enclosure names the bytes it was made for: never other bytes at the same URL
      throw new NotFoundError(`This version of the ${rendition.format}/${rendition.quality} audio of debate ${id} was replaced: refresh the feed, or get a fresh URL from /api/debats/${id}/streaming.`);
    }
    const filename = safeFileName(playable.title, id, EXTENSIONS[rendition.format]);
    const { storage } = r;
    // a play or a download starts at the first byte; the ranges a player asks for while seeking are not counted
    if (koa.method === 'GET' && /^(|bytes=0-\d*)$/.test(koa.get('range'))) r.library.counted(playable.file, kind === 'attachment' ? 'download' : 'stream');
    if (this.audio.options.delivery === 'redirect' && storage.url) {
      // AUDIO_DELIVERY=redirect: S3 (or the CDN) serves the bytes, Robian has checked the request
      await redirectToStorage(koa, {
        url: storage.url.bind(storage),
        file: playable.stored,
        contentType: MIME_TYPES[rendition.format],
        disposition: kind === 'attachment' ? contentDisposition(kind, filename) : undefined,
        maxAgeSeconds: Math.min(60, this.audio.options.s3PresignTtl / 4),
        onPlay: () => r.library.played(playable.file),
      });
      return undefined;
    }
    try {
      await serveFile(koa, {
        storage: r.storage,
        file: playable.stored,
        contentType: MIME_TYPES[rendition.format],
        disposition: contentDisposition(kind, filename),
        onPlay: (sent) => {
          r.library.played(playable.file);
          r.plays.record(id, playable.file.durationSeconds === null ? null : Number(playable.file.durationSeconds), sent);
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // removed since it was looked up (cleanup): forget it and say so
      r.library.forget(id);
      throw new NotFoundError(`The ${rendition.format}/${rendition.quality} audio of debate ${id} is no longer available: request it with POST /api/debats/${id}/extract.`);
    }
    return undefined;
  }
}
