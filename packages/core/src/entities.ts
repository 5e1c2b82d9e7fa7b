import { defineEntity } from '@mikro-orm/core';
import { CacheGenerationSchema } from './cache-generations.ts';
import { ScheduledTaskSchema } from './tasks.ts';

const p = defineEntity.properties;

// Each entity is a schema plus a class of its own (`class Debate extends DebateSchema.class {}` and
// `setClass`), and relations point at the class: the published `.d.ts` then names `Debate` where a
// relation needs it instead of inlining the whole inferred schema of the other side (core's
// `index.d.ts` went from 417 to 207 KB; issue #16). The type and the class share the name.

/** The debate kinds of the original API (wire values). */
export const DEBATE_TYPES = ['seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre'] as const;
export type DebateType = (typeof DEBATE_TYPES)[number];

/** The debate life-cycle of the original API (wire values). */
export const DEBATE_STATUSES = ['programme', 'en_cours', 'termine', 'disponible', 'extraction', 'erreur'] as const;
export type DebateStatus = (typeof DEBATE_STATUSES)[number];

/**
 * A chapter of a debate's recording: where a speaker or agenda item starts. Some sources publish
 * the outline of a sitting (agenda items, speakers, in order) without times: their chapters have
 * `start_seconds: null` and keep the source's order.
 */
export interface DebateChapter {
  title: string;
  /** Offset in the recording, or null when the source gives the order but not the time. */
  start_seconds: number | null;
  end_seconds?: number | null;
  speaker_external_id?: string | null;
  speaker_name?: string | null;
  /** Depth in the source's outline (0 = top level), when the outline is a tree. */
  level?: number | null;
  /** What the chapter is in the source's words, e.g. `Intervention`, `Article`, `Texte`. */
  kind?: string | null;
}

const timestamps = {
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};

/** A committee or other parliamentary body (an AN "organe"). */
export const CommissionSchema = defineEntity({
  name: 'Commission',
  tableName: 'commission',
  properties: {
    id: p.integer().primary().autoincrement(),
    source: p.string().length(64),
    externalId: p.string().length(128),
    name: p.string().length(512),
    shortName: p.string().length(255).nullable(),
    /** Unique (core-0006): a committee named like another gets `<slug>-<uid>` (named.ts `uniqueSlugs`). */
    slug: p.string().length(255).unique('commission_slug_unique'),
    kind: p.string().length(64).nullable(),
    active: p.boolean().default(true),
    ...timestamps,
  },
  uniques: [{ name: 'commission_source_external_id_unique', properties: ['source', 'externalId'] }],
});
export class Commission extends CommissionSchema.class {}
CommissionSchema.setClass(Commission);

/** A member of parliament (an AN "acteur"). */
export const DeputySchema = defineEntity({
  name: 'Deputy',
  tableName: 'deputy',
  properties: {
    id: p.integer().primary().autoincrement(),
    source: p.string().length(64),
    externalId: p.string().length(128),
    firstName: p.string().length(255),
    lastName: p.string().length(255),
    fullName: p.string().length(512),
    slug: p.string().length(255).index('deputy_slug_idx'),
    politicalGroup: p.string().length(512).nullable(),
    politicalGroupShort: p.string().length(64).nullable(),
    active: p.boolean().default(true),
    ...timestamps,
  },
  uniques: [{ name: 'deputy_source_external_id_unique', properties: ['source', 'externalId'] }],
});
export class Deputy extends DeputySchema.class {}
DeputySchema.setClass(Deputy);

/** One rendition of a debate's audio on storage. */
export const AudioFileSchema = defineEntity({
  name: 'AudioFile',
  tableName: 'audio_file',
  properties: {
    id: p.integer().primary().autoincrement(),
    debate: () => p.manyToOne(Debate).deleteRule('cascade'),
    format: p.string().length(16),
    quality: p.string().length(16),
    storageKey: p.string().length(512),
    mimeType: p.string().length(64),
    fileSize: p.bigint('number').default(0),
    durationSeconds: p.double().nullable(),
    checksum: p.string().length(128).nullable(),
    lastPlayedAt: p.datetime().nullable(),
    downloadCount: p.integer().default(0),
    streamCount: p.integer().default(0),
    ...timestamps,
  },
  uniques: [{ name: 'audio_file_debate_rendition_unique', properties: ['debate', 'format', 'quality'] }],
});
export class AudioFile extends AudioFileSchema.class {}
AudioFileSchema.setClass(AudioFile);

/** A sitting, committee meeting or hearing: the unit a listener plays. */
export const DebateSchema = defineEntity({
  name: 'Debate',
  tableName: 'debate',
  properties: {
    id: p.integer().primary().autoincrement(),
    source: p.string().length(64).default('manual'),
    externalId: p.string().length(128).nullable(),
    title: p.string().length(1000),
    description: p.text().nullable(),
    type: p.enum(DEBATE_TYPES).default('autre'),
    status: p.enum(DEBATE_STATUSES).default('programme'),
    date: p.datetime().index('debate_date_idx'),
    startTime: p.datetime().nullable(),
    endTime: p.datetime().nullable(),
    durationMinutes: p.integer().nullable(),
    location: p.string().length(255).nullable(),
    legislature: p.integer().nullable(),
    sourceUrl: p.string().length(2048).nullable().unique('debate_source_url_unique'),
    videoUrl: p.string().length(2048).nullable(),
    thumbnailUrl: p.string().length(2048).nullable(),
    agendaPoints: p.json<string[]>().nullable(),
    keywords: p.json<string[]>().nullable(),
    tags: p.json<string[]>().nullable(),
    chapters: p.json<DebateChapter[]>().nullable(),
    /** Members of the government present (the original API's `ministers`). */
    ministers: p.json<string[]>().nullable(),
    /** Free metadata (the original API's `metadata`). */
    metadata: p.json<Record<string, unknown>>().nullable(),
    commission: () => p.manyToOne(Commission).nullable().deleteRule('set null').index('debate_commission_idx'),
    speakers: () => p.manyToMany(Deputy).pivotTable('debate_speaker'),
    audioFiles: () => p.oneToMany(AudioFile).mappedBy('debate'),
    hasAudio: p.boolean().default(false),
    viewCount: p.integer().default(0),
    ...timestamps,
  },
  uniques: [{ name: 'debate_source_external_id_unique', properties: ['source', 'externalId'] }],
  indexes: [
    { name: 'debate_type_idx', properties: ['type'] },
    { name: 'debate_status_idx', properties: ['status'] },
    { name: 'debate_created_at_idx', properties: ['createdAt'] },
  ],
});
export class Debate extends DebateSchema.class {}
DebateSchema.setClass(Debate);

/**
 * One timed piece of what was said in a debate: a caption cue, a speech of the official report, a
 * segment of a speech recogniser. A debate may hold one transcript per `source`; `position` orders a
 * source's segments. Written and read through `replaceTranscript` / `loadTranscript` (transcripts.ts).
 */
export const TranscriptSegmentSchema = defineEntity({
  name: 'TranscriptSegment',
  tableName: 'transcript_segment',
  properties: {
    id: p.integer().primary().autoincrement(),
    debate: () => p.manyToOne(Debate).deleteRule('cascade'),
    source: p.string().length(32),
    position: p.integer(),
    startSeconds: p.double(),
    endSeconds: p.double(),
    speakerName: p.string().length(512).nullable(),
    deputy: () => p.manyToOne(Deputy).nullable().deleteRule('set null').index('transcript_segment_deputy_idx'),
    text: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ name: 'transcript_segment_debate_source_position_unique', properties: ['debate', 'source', 'position'] }],
});
export class TranscriptSegment extends TranscriptSegmentSchema.class {}
TranscriptSegmentSchema.setClass(TranscriptSegment);

/**
 * The entities every Robian database has. Plugins add their own through `definePlugin({ entities })`.
 * Typed as a plain list, as `PluginDefinition.entities` is: the inferred tuple of the schemas' types
 * was 320 KB of the published `.d.ts`.
 */
export const coreEntities: unknown[] = [CommissionSchema, DeputySchema, DebateSchema, AudioFileSchema, TranscriptSegmentSchema, ScheduledTaskSchema, CacheGenerationSchema];
