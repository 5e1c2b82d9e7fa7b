import { ValidationError, audioFileView, z, type RobianConfig } from '@robian/core';
import { PRIORITIES, type Priority } from './jobs.ts';
import { FORMATS, QUALITIES, defaultQuality, normaliseQuality, type AudioFormat, type Rendition } from './renditions.ts';

/** The wire shapes of the audio routes: inputs and views. */
export const formatSchema = z.enum(FORMATS);

export const renditionQuery = z.object({
  format: formatSchema.optional(),
  quality: z.string().max(16).optional(),
  expires: z.string().max(16).optional(),
  signature: z.string().max(128).optional(),
  /** The file version an enclosure URL was made for (`AudioLibrary.enclosureUrl`): another version answers 404. */
  v: z.string().regex(/^[0-9a-z]{1,32}$/, 'expected a file version').optional(),
});

export const extractBody = z.object({
  debate_id: z.union([z.string().max(64), z.number()]).optional().meta({ description: "The original's body named the debate again; the path's id is the one used" }),
  format: formatSchema.optional(),
  quality: z.string().max(16).optional(),
  priority: z.enum(Object.keys(PRIORITIES) as [Priority, ...Priority[]]).default('normal'),
});

export const cancelQuery = z.object({ format: formatSchema.optional(), quality: z.string().max(16).optional() });

export const jobView = z
  .object({
    extraction_id: z.string(),
    debate_id: z.string(),
    format: z.string(),
    quality: z.string(),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    progress: z.number().int().meta({ description: 'Whole percent (floored); extraction.progress events carry one decimal' }),
    attempts: z.number(),
    error: z.string().nullable(),
    message: z.string(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    audio_file: audioFileView.nullable().optional().meta({ description: 'GET /api/streaming/{id}/status: the audio file once the extraction completed' }),
  })
  .meta({ id: 'ExtractionJob' });

export const renditionView = z
  .object({
    format: z.string(),
    quality: z.string(),
    status: z.enum(['queued', 'running', 'ready', 'failed', 'cancelled']),
    progress: z.number(),
    extraction_id: z.string().nullable(),
    file_size: z.number().nullable(),
    duration_seconds: z.number().nullable(),
    stream_url: z.string().nullable(),
    download_url: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'Rendition' });

export const streamingView = z
  .object({
    debate_id: z.string(),
    audio_available: z.boolean(),
    stream_url: z.string().nullable(),
    download_url: z.string().nullable(),
    file_size: z.number().nullable(),
    duration_seconds: z.number().nullable(),
    format: z.string(),
    quality: z.string(),
    extraction_status: z.enum(['pending', 'extracting', 'completed', 'error']).nullable().meta({ description: "The default rendition's state in the original's words; null when never requested" }),
    rendition_status: z.enum(['not_started', 'queued', 'running', 'ready', 'failed', 'cancelled']).meta({ description: "Robian's state of the same rendition" }),
    message: z.string(),
    renditions: z.array(renditionView),
    live_available: z.boolean().meta({ description: 'true while the sitting is on air and its source has a live stream: GET live_url (audio-only HLS)' }),
    live_url: z.string().nullable(),
  })
  .meta({ id: 'Streaming' });

/** The rendition a request names (`format`, `quality`), defaulting to the configured one; 422 naming the field. */
export function resolveRendition(config: RobianConfig, where: 'query' | 'body', format: AudioFormat | undefined, quality: string | undefined): Rendition {
  const f = format ?? config.audioFormat;
  if (quality === undefined || quality === '') return { format: f, quality: defaultQuality(f, config.audioBitrate) };
  const q = normaliseQuality(f, quality);
  if (!q) throw new ValidationError([{ in: where, field: 'quality', message: `expected one of ${QUALITIES[f].join(', ')} for ${f}, got "${quality}"` }]);
  return { format: f, quality: q };
}
