import {
  etagOf,
  ifNoneMatch,
  NotFoundError,
  PLUGIN_API_VERSION,
  PODCAST_CHAPTERS_TYPE,
  SRT_TYPE,
  TRANSCRIPT_SOURCE_PATTERN,
  WEBVTT_TYPE,
  definePlugin,
  deleteTranscript,
  idParams,
  loadTranscript,
  replaceTranscript,
  speakerTurns,
  toPodcastChapters,
  toSrt,
  toWebVtt,
  z,
  type CacheNamespace,
  type DebateChapter,
  type EntityManager,
  type PluginContext,
  type RobianContext,
  type TranscriptRecord,
} from '@robian/core';

export const TRANSCRIPTS_PLUGIN = 'transcripts';

const sourceParam = z.string().regex(TRANSCRIPT_SOURCE_PATTERN, 'a transcript source: lower case letters, digits, "_" or "-"');

const transcriptQuery = z.object({
  format: z.enum(['json', 'vtt', 'srt']).optional().meta({ description: 'Overrides `Accept`: json (default), vtt (WebVTT with `<v Speaker>` voices), srt' }),
  source: sourceParam.optional().meta({ description: 'captions, compte_rendu, asr…; default: the preferred source the debate has' }),
});
const chaptersQuery = z.object({
  format: z.enum(['json', 'podcast']).optional().meta({ description: 'Overrides `Accept`: json (default) or podcast (Podcasting 2.0 JSON chapters)' }),
});

const speakerView = z
  .object({
    name: z.string(),
    deputy_id: z.string().nullable(),
    deputy: z.object({ id: z.string(), external_id: z.string(), full_name: z.string(), slug: z.string(), political_group_short: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'TranscriptSpeaker' });
const segmentView = z
  .object({
    position: z.number().int(),
    start_seconds: z.number(),
    end_seconds: z.number(),
    speaker_name: z.string().nullable(),
    deputy_id: z.string().nullable(),
    text: z.string(),
  })
  .meta({ id: 'TranscriptSegment' });
export const transcriptView = z
  .object({
    debate_id: z.string(),
    source: z.string(),
    sources: z.array(z.string()),
    updated_at: z.string(),
    duration_seconds: z.number(),
    speakers: z.array(speakerView),
    segments: z.array(segmentView),
  })
  .meta({ id: 'Transcript' });
export const chaptersView = z
  .object({
    debate_id: z.string(),
    origin: z.enum(['debate', 'transcript']),
    chapters: z.array(
      z.object({
        title: z.string(),
        start_seconds: z.number().nullable(),
        end_seconds: z.number().nullable().optional(),
        speaker_name: z.string().nullable().optional(),
        speaker_external_id: z.string().nullable().optional(),
        level: z.number().nullable().optional(),
        kind: z.string().nullable().optional(),
      }),
    ),
  })
  .meta({ id: 'DebateChapters' });
const podcastChaptersView = z
  .object({
    version: z.string(),
    title: z.string().optional(),
    chapters: z.array(z.object({ startTime: z.number(), endTime: z.number().optional(), title: z.string().optional(), toc: z.boolean().optional() })),
  })
  .meta({ id: 'PodcastChapters' });
const transcriptWrite = z
  .object({
    source: sourceParam,
    segments: z
      .array(
        z.object({
          start_seconds: z.number(),
          end_seconds: z.number(),
          text: z.string(),
          speaker_name: z.string().nullable().optional(),
          deputy_id: z.coerce.number().int().positive().nullable().optional(),
          deputy_external_id: z.string().nullable().optional(),
        }),
      )
      .max(20_000),
  })
  .meta({ id: 'TranscriptWrite' });

/** A rendered answer, kept as its bytes with a strong validator. */
interface Rendered {
  type: string;
  body: string;
  etag: string;
}

type DeputyRow = { id: number; external_id: string; full_name: string; slug: string; political_group_short: string | null };

/** The name shown for a segment: the source's wording, else the deputy's name. */
const labelOf = (s: { speaker_name: string | null; deputy_id: number | null }, deputies: Map<number, DeputyRow>) =>
  s.speaker_name ?? (s.deputy_id !== null ? (deputies.get(s.deputy_id)?.full_name ?? null) : null);


/** The variant a request asks for: `format=` first, then `Accept`, else JSON. */
function negotiate<F extends string>(koa: RobianContext, format: F | undefined, types: Record<F, string[]>, fallback: F): F {
  if (format) return format;
  const offered = Object.entries(types).flatMap(([f, list]) => (list as string[]).map((t) => [t, f] as const));
  const best = koa.accepts(offered.map(([t]) => t));
  const found = typeof best === 'string' ? offered.find(([t]) => t === best) : undefined;
  return (found?.[1] as F | undefined) ?? fallback;
}

/**
 * `GET /api/debats/{id}/transcript` (JSON, WebVTT, SRT) and `GET /api/debats/{id}/chapters` (JSON,
 * Podcasting 2.0 chapters), plus the admin writes of a transcript. Answers are kept rendered (bytes
 * and ETag) until a transcript or a debate changes; `If-None-Match` gets a 304.
 */
export class TranscriptRoutes {
  readonly #ctx: PluginContext;
  readonly #cache: CacheNamespace;

  constructor(ctx: PluginContext) {
    this.#ctx = ctx;
    this.#cache = ctx.cache.namespace('transcripts', ctx.config.cacheTtl.debates);
    const drop = () => this.#cache.invalidate();
    for (const event of ['transcript.updated', 'debate.updated', 'debate.deleted', 'import.completed'] as const) ctx.events.on(event, drop);
  }

  get #em(): EntityManager {
    return this.#ctx.em;
  }

  register(): void {
    const router = this.#ctx.router;
    router.route({
      method: 'get',
      path: '/api/debats/{id}/transcript',
      operationId: 'getDebateTranscript',
      summary: 'What was said: timed segments with speakers, as JSON, WebVTT or SRT',
      description:
        'By `format=` or `Accept` (`application/json`, `text/vtt`, `application/x-subrip` or `text/srt`). WebVTT cues carry the speaker in a `<v Name>` voice span. Strong `ETag`; `If-None-Match` → 304. 404 when the debate has no transcript yet.',
      tags: ['debates'],
      params: idParams,
      query: transcriptQuery,
      responses: { 200: { description: 'The transcript', schema: transcriptView }, 304: { description: 'Not modified' }, 404: { description: 'No such debate, or no transcript yet' } },
      handler: async (koa, { params, query }) => {
        const format = negotiate(koa, query.format, { json: ['application/json'], vtt: ['text/vtt'], srt: ['application/x-subrip', 'text/srt'] }, 'json');
        const rendered = await this.#cache.wrap(`t:${params.id}:${query.source ?? ''}:${format}`, async () => (await this.#renderTranscript(params.id, query.source, format)) ?? undefined);
        return this.#send(koa, params.id, rendered, 'transcript');
      },
    });
    router.route({
      method: 'get',
      path: '/api/debats/{id}/chapters',
      operationId: 'getDebateChapters',
      summary: "A debate's chapters, as JSON or Podcasting 2.0 JSON chapters",
      description:
        "The debate's own chapters (agenda items, speakers) when they are timed; otherwise its transcript's speaker turns. `format=podcast` or `Accept: application/json+chapters` gives the Podcasting 2.0 format (timed chapters only). Strong `ETag`.",
      tags: ['debates'],
      params: idParams,
      query: chaptersQuery,
      responses: { 200: { description: 'The chapters', schema: chaptersView }, 304: { description: 'Not modified' }, 404: { description: 'No such debate, or no chapters yet' } },
      handler: async (koa, { params, query }) => {
        const format = negotiate(koa, query.format, { json: ['application/json'], podcast: ['application/json+chapters'] }, 'json');
        const rendered = await this.#cache.wrap(`c:${params.id}:${format}`, async () => (await this.#renderChapters(params.id, format)) ?? undefined);
        return this.#send(koa, params.id, rendered, 'chapters');
      },
    });
    router.route({
      method: 'put',
      path: '/api/debats/{id}/transcript',
      operationId: 'putDebateTranscript',
      summary: "Replace a debate's transcript of one source (admin)",
      description: 'Replaces the whole transcript of `source` atomically (an empty list removes it). Bodies are limited to 1 MB: plugins write large transcripts through `replaceTranscript`.',
      tags: ['debates'],
      auth: 'admin',
      params: idParams,
      body: transcriptWrite,
      responses: { 200: { description: 'Stored', schema: z.object({ debate_id: z.string(), source: z.string(), segments: z.number().int() }) }, 404: { description: 'No such debate' } },
      handler: async (_koa, { params, body }) => {
        const summary = await replaceTranscript(this.#em, params.id, body.source, body.segments, { events: this.#ctx.events });
        return { debate_id: String(summary.debate_id), source: summary.source, segments: summary.segments };
      },
    });
    router.route({
      method: 'delete',
      path: '/api/debats/{id}/transcript',
      operationId: 'deleteDebateTranscript',
      summary: "Remove a debate's transcript of one source, or all of them (admin)",
      tags: ['debates'],
      auth: 'admin',
      params: idParams,
      query: z.object({ source: sourceParam.optional() }),
      responses: { 204: { description: 'Removed' }, 404: { description: 'Nothing to remove' } },
      handler: async (koa, { params, query }) => {
        const removed = await deleteTranscript(this.#em, params.id, query.source, { events: this.#ctx.events });
        if (removed === 0) throw new NotFoundError(`debate ${params.id} has no transcript${query.source ? ` from ${query.source}` : ''}`);
        koa.status = 204;
        return undefined;
      },
    });
  }

  async #send(koa: RobianContext, id: number, rendered: Rendered | undefined, what: string): Promise<undefined> {
    koa.vary('Accept');
    if (!rendered) {
      const exists = await this.#em.execute<{ id: number }[]>('select id from debate where id = ?', [id]);
      throw new NotFoundError(exists.length ? `debate ${id} has no ${what} yet` : `debate ${id} does not exist`);
    }
    koa.set('ETag', rendered.etag);
    koa.set('Cache-Control', 'public, max-age=60');
    koa.status = 200;
    if (ifNoneMatch(koa.get('if-none-match'), rendered.etag)) {
      koa.status = 304;
      return undefined;
    }
    koa.type = rendered.type;
    koa.body = rendered.body;
    return undefined;
  }

  async #deputies(ids: number[]): Promise<Map<number, DeputyRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#em.execute<DeputyRow[]>('select id, external_id, full_name, slug, political_group_short from deputy where id in (?)', [ids]);
    return new Map(rows.map((r) => [Number(r.id), r]));
  }

  async #renderTranscript(id: number, source: string | undefined, format: 'json' | 'vtt' | 'srt'): Promise<Rendered | null> {
    const transcript = await loadTranscript(this.#em, id, source);
    if (!transcript) return null;
    const deputies = await this.#deputies([...new Set(transcript.segments.map((s) => s.deputy_id).filter((d): d is number => d !== null))]);
    const label = (s: TranscriptRecord['segments'][number]) => labelOf(s, deputies);
    if (format === 'vtt') return this.#rendered(WEBVTT_TYPE, toWebVtt(transcript.segments, { label }));
    if (format === 'srt') return this.#rendered(SRT_TYPE, toSrt(transcript.segments, { label }));
    return this.#rendered('application/json; charset=utf-8', JSON.stringify(await this.#transcriptJson(transcript, deputies, label)));
  }

  async #transcriptJson(t: TranscriptRecord, deputies: Map<number, DeputyRow>, label: (s: TranscriptRecord['segments'][number]) => string | null): Promise<z.output<typeof transcriptView>> {
    const sources = await this.#em.execute<{ source: string }[]>('select distinct source from transcript_segment where debate_id = ?', [t.debate_id]);
    const speakers = new Map<string, z.output<typeof speakerView>>();
    for (const s of t.segments) {
      const name = label(s);
      if (!name) continue;
      const key = `${s.deputy_id ?? ''}|${name}`;
      if (speakers.has(key)) continue;
      const d = s.deputy_id !== null ? deputies.get(s.deputy_id) : undefined;
      speakers.set(key, {
        name,
        deputy_id: s.deputy_id === null ? null : String(s.deputy_id),
        deputy: d ? { id: String(d.id), external_id: d.external_id, full_name: d.full_name, slug: d.slug, political_group_short: d.political_group_short } : null,
      });
    }
    return {
      debate_id: String(t.debate_id),
      source: t.source,
      sources: sources.map((r) => r.source).sort(),
      updated_at: t.updated_at.toISOString(),
      duration_seconds: t.segments.reduce((m, s) => Math.max(m, s.end_seconds), 0),
      speakers: [...speakers.values()],
      segments: t.segments.map((s) => ({ ...s, deputy_id: s.deputy_id === null ? null : String(s.deputy_id) })),
    };
  }

  async #renderChapters(id: number, format: 'json' | 'podcast'): Promise<Rendered | null> {
    const rows = await this.#em.execute<{ title: string; chapters: unknown }[]>('select title, chapters from debate where id = ?', [id]);
    const row = rows[0];
    if (!row) return null;
    const own = parseChapters(row.chapters);
    let origin: 'debate' | 'transcript' = 'debate';
    let chapters = own;
    if (!own.some((c) => typeof c.start_seconds === 'number')) {
      const transcript = await loadTranscript(this.#em, id);
      const deputies = await this.#deputies([...new Set((transcript?.segments ?? []).map((s) => s.deputy_id).filter((d): d is number => d !== null))]);
      const turns = transcript ? speakerTurns(transcript.segments, (s) => labelOf(s, deputies)) : [];
      if (turns.length) {
        chapters = turns;
        origin = 'transcript';
      }
    }
    if (chapters.length === 0) return null;
    if (format === 'podcast' && !chapters.some((c) => typeof c.start_seconds === 'number')) return null;
    if (format === 'podcast') return this.#rendered(PODCAST_CHAPTERS_TYPE, JSON.stringify(toPodcastChapters(chapters, { title: row.title })));
    return this.#rendered('application/json; charset=utf-8', JSON.stringify({ debate_id: String(id), origin, chapters }));
  }

  #rendered(type: string, body: string): Rendered {
    return { type, body, etag: etagOf(body) };
  }
}

function parseChapters(value: unknown): DebateChapter[] {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return [];
    }
  }
  return Array.isArray(v) ? (v.filter((c) => c && typeof c === 'object' && typeof (c as DebateChapter).title === 'string') as DebateChapter[]) : [];
}

/** The transcript and chapter routes of the host (a built-in plugin next to the catalogue). */
export const transcriptsPlugin = definePlugin({
  name: TRANSCRIPTS_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Debate transcripts (JSON, WebVTT, SRT) and chapters (JSON, Podcasting 2.0)',
  setup(ctx) {
    new TranscriptRoutes(ctx as PluginContext).register();
  },
});
