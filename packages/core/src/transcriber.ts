import type { Readable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/sql';
import { replaceTranscript, type TranscriptEventSink, type TranscriptSegmentInput, type TranscriptSummary } from './transcripts.ts';

/**
 * Speech recognition as an extension point: for parliaments that publish no captions, an engine turns
 * a rendition of a debate's audio into transcript segments, stored as any other transcript with
 * source `asr`. Core ships no engine (no speech model installs with Robian); a plugin provides one
 * as the `transcriber` service (docs/plugins.md § Transcribers).
 */

/** The rendition an engine transcribes. */
export interface TranscriptionInput {
  debate_id: number;
  /** BCP 47 language of the debate, e.g. `fr`. */
  language: string;
  rendition: {
    format: string;
    quality: string;
    mime_type: string;
    duration_seconds: number | null;
    /** The rendition's bytes from the start (a fresh stream each call). */
    open(): Promise<Readable>;
    /** A local file of the rendition when storage is a local folder (engines that need a path). */
    path?: string | undefined;
  };
  /** Aborted when the job is cancelled or the host stops: stop work and reject. */
  signal: AbortSignal;
  /** Reports progress, 0 to 1. */
  progress?(fraction: number): void;
}

export interface Transcriber {
  /** The engine's name, e.g. `whisper.cpp`. */
  readonly name: string;
  /** Languages it handles (BCP 47); absent: any. */
  readonly languages?: readonly string[];
  /** The segments of the rendition, in order of start (seconds into the rendition). */
  transcribe(input: TranscriptionInput): Promise<TranscriptSegmentInput[]>;
}

/** The transcript source of speech recognition. */
export const ASR_SOURCE = 'asr';

export class TranscriberError extends Error {
  readonly engine: string;
  constructor(engine: string, message: string, options?: { cause?: unknown }) {
    super(`transcriber ${engine}: ${message}`, options);
    this.name = 'TranscriberError';
    this.engine = engine;
  }
}

/**
 * Runs an engine on a rendition and stores its segments as the debate's `asr` transcript (replacing
 * the previous one, atomically). Nothing is written when the engine fails, is aborted, does not
 * handle the language, or returns segments `replaceTranscript` refuses (a `ValidationError` naming the
 * segment); times past the rendition's end are refused too.
 */
export async function transcribeDebate(em: EntityManager, engine: Transcriber, input: TranscriptionInput, options: { events?: TranscriptEventSink } = {}): Promise<TranscriptSummary> {
  const primary = input.language.toLowerCase().split('-')[0]!;
  if (engine.languages && !engine.languages.some((l) => l.toLowerCase().split('-')[0] === primary)) {
    throw new TranscriberError(engine.name, `does not handle language ${input.language} (it handles ${engine.languages.join(', ')})`);
  }
  input.signal.throwIfAborted();
  let segments: TranscriptSegmentInput[];
  try {
    segments = await engine.transcribe(input);
  } catch (err) {
    if (input.signal.aborted) throw input.signal.reason ?? err;
    throw new TranscriberError(engine.name, err instanceof Error ? err.message : String(err), { cause: err });
  }
  input.signal.throwIfAborted();
  if (!Array.isArray(segments)) throw new TranscriberError(engine.name, 'returned no list of segments');
  const duration = input.rendition.duration_seconds;
  if (duration !== null) {
    // a little slack: containers round their duration
    const late = segments.findIndex((s) => typeof s?.end_seconds === 'number' && s.end_seconds > duration + 1);
    if (late >= 0) throw new TranscriberError(engine.name, `segment ${late} ends at ${segments[late]!.end_seconds} s, after the rendition (${duration} s)`);
  }
  const summary = await replaceTranscript(em, input.debate_id, ASR_SOURCE, segments, options);
  input.progress?.(1);
  return summary;
}
