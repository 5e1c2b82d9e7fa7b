import type { EntityManager } from '@mikro-orm/sql';
import { NotFoundError, ValidationError, type FieldError } from './errors.ts';
import { TranscriptSegmentSchema } from './entities.ts';
import type { RobianEvents } from './events.ts';

/**
 * Transcripts: what was said in a debate, as timed segments. A debate holds at most one transcript
 * per source (`captions`, `compte_rendu`, `asr`, or a plugin's own word); writing one replaces the
 * previous one of the same source in a single transaction, so a reader sees the old one or the new
 * one, never a mix.
 */

/** The sources Robian knows, most preferred first: what `loadTranscript` reads when no source is named. */
export const TRANSCRIPT_SOURCE_PREFERENCE = ['captions', 'compte_rendu', 'asr'] as const;
export type KnownTranscriptSource = (typeof TRANSCRIPT_SOURCE_PREFERENCE)[number];

/** A source name: lower case letters, digits, `_` and `-`, at most 32 characters. */
export const TRANSCRIPT_SOURCE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Bounds of one write (a four-hour sitting has 3,000–7,000 caption cues). */
export const TRANSCRIPT_LIMITS = { segments: 200_000, textLength: 100_000, speakerNameLength: 512, seconds: 7 * 24 * 3600 } as const;

/** One segment as a source gives it. Times are seconds into the debate's recording. */
export interface TranscriptSegmentInput {
  start_seconds: number;
  end_seconds: number;
  text: string;
  /** The speaker as the source names them (kept even when the deputy is known). */
  speaker_name?: string | null;
  /** The deputy's Robian id, when the source knows it. */
  deputy_id?: number | null;
  /** Or the deputy's parliament id (an AN `PA…` uid): resolved to the deputy; unknown ones leave it null. */
  deputy_external_id?: string | null;
}

/** One stored segment. `position` is its rank in its source's transcript, from 0. */
export interface TranscriptSegmentRecord {
  position: number;
  start_seconds: number;
  end_seconds: number;
  speaker_name: string | null;
  deputy_id: number | null;
  text: string;
}

export interface TranscriptRecord {
  debate_id: number;
  source: string;
  /** When this transcript was written. */
  updated_at: Date;
  segments: TranscriptSegmentRecord[];
}

export interface TranscriptSummary {
  debate_id: number;
  source: string;
  segments: number;
  updated_at: Date;
}

/** What `replaceTranscript` may announce (the plugin's `ctx.events` fits). */
export interface TranscriptEventSink {
  emit<E extends 'transcript.updated'>(name: E, payload: RobianEvents[E]): Promise<void>;
}

const CHUNK = 500;

function checkSource(source: string, field = 'source'): void {
  if (typeof source !== 'string' || !TRANSCRIPT_SOURCE_PATTERN.test(source)) {
    throw new ValidationError([{ in: 'body', field, message: 'must be lower case letters, digits, "_" or "-", starting with a letter, at most 32 characters' }]);
  }
}

function checkSegments(segments: readonly TranscriptSegmentInput[]): FieldError[] {
  const errors: FieldError[] = [];
  const at = (i: number, field: string, message: string) => errors.push({ in: 'body', field: `segments.${i}.${field}`, message });
  if (!Array.isArray(segments)) return [{ in: 'body', field: 'segments', message: 'must be an array' }];
  if (segments.length > TRANSCRIPT_LIMITS.segments) return [{ in: 'body', field: 'segments', message: `at most ${TRANSCRIPT_LIMITS.segments} segments` }];
  let previousStart = 0;
  segments.forEach((s, i) => {
    if (errors.length >= 20) return;
    const { start_seconds: start, end_seconds: end } = s;
    if (typeof start !== 'number' || !Number.isFinite(start) || start < 0 || start > TRANSCRIPT_LIMITS.seconds) at(i, 'start_seconds', 'must be a number of seconds ≥ 0');
    else if (start < previousStart) at(i, 'start_seconds', `must not be before the previous segment's start (${previousStart})`);
    else previousStart = start;
    if (typeof end !== 'number' || !Number.isFinite(end) || end > TRANSCRIPT_LIMITS.seconds || (typeof start === 'number' && end < start)) at(i, 'end_seconds', 'must be a number of seconds ≥ start_seconds');
    if (typeof s.text !== 'string' || s.text.trim() === '') at(i, 'text', 'must be a non-empty string');
    else if (s.text.length > TRANSCRIPT_LIMITS.textLength) at(i, 'text', `at most ${TRANSCRIPT_LIMITS.textLength} characters`);
    else if (s.text.includes('\u0000')) at(i, 'text', 'must not contain NUL characters');
    if (s.speaker_name != null && (typeof s.speaker_name !== 'string' || s.speaker_name.length > TRANSCRIPT_LIMITS.speakerNameLength || s.speaker_name.includes('\u0000'))) at(i, 'speaker_name', `must be a string of at most ${TRANSCRIPT_LIMITS.speakerNameLength} characters`);
    if (s.deputy_id != null && (!Number.isInteger(s.deputy_id) || s.deputy_id <= 0)) at(i, 'deputy_id', 'must be a positive integer');
    if (s.deputy_external_id != null && (typeof s.deputy_external_id !== 'string' || s.deputy_external_id.length > 128)) at(i, 'deputy_external_id', 'must be a string of at most 128 characters');
  });
  return errors;
}

/** Deputy ids by parliament id, and the set of Robian ids that exist, for the ids the segments name. */
async function resolveDeputies(em: EntityManager, segments: readonly TranscriptSegmentInput[]): Promise<{ byExternal: Map<string, number>; known: Set<number> }> {
  const external = [...new Set(segments.map((s) => s.deputy_external_id?.trim()).filter((v): v is string => !!v))];
  const ids = [...new Set(segments.map((s) => s.deputy_id).filter((v): v is number => v != null))];
  const byExternal = new Map<string, number>();
  const known = new Set<number>();
  for (let i = 0; i < external.length; i += CHUNK) {
    const rows = await em.execute<{ id: number; external_id: string }[]>('select id, external_id from deputy where external_id in (?) order by id', [external.slice(i, i + CHUNK)]);
    for (const r of rows) if (!byExternal.has(r.external_id)) byExternal.set(r.external_id, Number(r.id));
  }
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await em.execute<{ id: number }[]>('select id from deputy where id in (?)', [ids.slice(i, i + CHUNK)]);
    for (const r of rows) known.add(Number(r.id));
  }
  return { byExternal, known };
}

/**
 * Replaces the debate's transcript of `source` with `segments` (in their order), atomically: the
 * previous segments of that source go and the new ones arrive in one transaction (a savepoint when
 * `em` is already in one). An empty list removes the transcript. Bad input throws a
 * `ValidationError` naming the segment and field; an unknown debate a `NotFoundError`.
 *
 * With `options.events`, `transcript.updated` is emitted once the write is committed (when `em` is
 * inside a transaction of the caller's, the caller should emit it after its own commit instead).
 */
export async function replaceTranscript(
  em: EntityManager,
  debateId: number,
  source: string,
  segments: readonly TranscriptSegmentInput[],
  options: { events?: TranscriptEventSink } = {},
): Promise<TranscriptSummary> {
  checkSource(source);
  const errors = checkSegments(segments);
  if (errors.length) throw new ValidationError(errors);
  const now = new Date();
  await em.transactional(async (tx) => {
    const debate = await tx.execute<{ id: number }[]>('select id from debate where id = ?', [debateId]);
    if (debate.length === 0) throw new NotFoundError(`There is no debate ${debateId}.`);
    const { byExternal, known } = await resolveDeputies(tx, segments);
    const unknown: FieldError[] = [];
    segments.forEach((s, i) => {
      if (s.deputy_id != null && !known.has(s.deputy_id)) unknown.push({ in: 'body', field: `segments.${i}.deputy_id`, message: `there is no deputy ${s.deputy_id}` });
    });
    if (unknown.length) throw new ValidationError(unknown.slice(0, 20));
    await tx.nativeDelete(TranscriptSegmentSchema, { debate: debateId, source } as never);
    for (let i = 0; i < segments.length; i += CHUNK) {
      const rows = segments.slice(i, i + CHUNK).map((s, j) => ({
        debate: debateId,
        source,
        position: i + j,
        startSeconds: s.start_seconds,
        endSeconds: s.end_seconds,
        speakerName: s.speaker_name?.trim() || null,
        deputy: s.deputy_id ?? (s.deputy_external_id ? (byExternal.get(s.deputy_external_id.trim()) ?? null) : null),
        text: s.text.trim(),
        createdAt: now,
      }));
      await tx.insertMany(TranscriptSegmentSchema, rows as never);
    }
  });
  const summary: TranscriptSummary = { debate_id: debateId, source, segments: segments.length, updated_at: now };
  if (options.events) await options.events.emit('transcript.updated', { debate_id: debateId, source, segments: segments.length });
  return summary;
}

/** The transcripts a debate has, most preferred source first (see `TRANSCRIPT_SOURCE_PREFERENCE`). */
export async function listTranscripts(em: EntityManager, debateId: number): Promise<TranscriptSummary[]> {
  const rows = await em.execute<{ source: string; n: number | string; updated_at: string | Date }[]>(
      'select source, count(*) as n, max(created_at) as updated_at from transcript_segment where debate_id = ? group by source',
      [debateId],
    );
  return rows
    .map((r) => ({ debate_id: debateId, source: r.source, segments: Number(r.n), updated_at: toDate(r.updated_at) }))
    .sort((a, b) => sourceRank(a.source) - sourceRank(b.source) || a.source.localeCompare(b.source));
}

/** Rank of a source in the preference order; unknown sources come after the known ones. */
export function sourceRank(source: string): number {
  const i = (TRANSCRIPT_SOURCE_PREFERENCE as readonly string[]).indexOf(source);
  return i < 0 ? TRANSCRIPT_SOURCE_PREFERENCE.length : i;
}

/**
 * A debate's transcript of `source`, or of its most preferred source when none is named; null when
 * there is none. Read with one plain query (no entity hydration: a four-hour sitting is thousands of rows).
 */
export async function loadTranscript(em: EntityManager, debateId: number, source?: string): Promise<TranscriptRecord | null> {
  if (source !== undefined) checkSource(source);
  const chosen = source ?? (await listTranscripts(em, debateId))[0]?.source;
  if (!chosen) return null;
  const rows = await em.execute<{ position: number; start_seconds: number; end_seconds: number; speaker_name: string | null; deputy_id: number | null; text: string; created_at: string | Date }[]>(
      'select position, start_seconds, end_seconds, speaker_name, deputy_id, text, created_at from transcript_segment where debate_id = ? and source = ? order by position',
      [debateId, chosen],
    );
  if (rows.length === 0) return null;
  let updated = 0;
  const segments = rows.map((r) => {
    const t = toDate(r.created_at).getTime();
    if (t > updated) updated = t;
    return {
      position: Number(r.position),
      start_seconds: Number(r.start_seconds),
      end_seconds: Number(r.end_seconds),
      speaker_name: r.speaker_name,
      deputy_id: r.deputy_id === null ? null : Number(r.deputy_id),
      text: r.text,
    };
  });
  return { debate_id: debateId, source: chosen, updated_at: new Date(updated), segments };
}

/** Removes the debate's transcript of `source` (all of them when none is named); returns the segments removed. */
export async function deleteTranscript(em: EntityManager, debateId: number, source?: string, options: { events?: TranscriptEventSink } = {}): Promise<number> {
  if (source !== undefined) checkSource(source);
  const removed = await em.nativeDelete(TranscriptSegmentSchema, (source === undefined ? { debate: debateId } : { debate: debateId, source }) as never);
  if (removed > 0 && options.events) await options.events.emit('transcript.updated', { debate_id: debateId, source: source ?? null, segments: 0 });
  return removed;
}

function toDate(value: string | number | Date): Date {
  if (value instanceof Date) return value;
  // SQLite keeps datetimes as epoch milliseconds (MikroORM's default) or ISO text
  if (typeof value === 'number' || /^\d+$/.test(value)) return new Date(Number(value));
  return new Date(value);
}
