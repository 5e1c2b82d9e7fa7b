import { z } from 'zod';
import { DEBATE_STATUSES, DEBATE_TYPES, type AudioFile, type Commission, type Debate, type Deputy } from './entities.ts';
import { canonicalInt } from './input.ts';

/** A date (YYYY-MM-DD) or a date-time with offset (ISO 8601), as the original API accepted. */
export const dateInput = z
  .string()
  .trim()
  .max(40)
  .refine((v) => /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v)), {
    message: 'expected a date (YYYY-MM-DD) or an ISO 8601 date-time',
  })
  .transform((v) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v))
  .meta({ type: 'string', format: 'date-time', example: '2025-06-05T21:30:00+02:00' });

const httpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL');

const boolString = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .meta({ type: 'boolean' });

const shortText = (max: number) => z.string().trim().min(1).max(max);
const stringList = (maxItems: number, maxLength: number) => z.array(shortText(maxLength)).max(maxItems);

export const chapterSchema = z
  .object({
    title: shortText(1000),
    start_seconds: z.number().min(0).max(7 * 24 * 3600).nullable(),
    end_seconds: z.number().min(0).max(7 * 24 * 3600).nullable().optional(),
    speaker_external_id: z.string().max(128).nullable().optional(),
    speaker_name: z.string().max(512).nullable().optional(),
    level: z.number().int().min(0).max(50).nullable().optional(),
    kind: z.string().max(255).nullable().optional(),
  })
  .strict()
  .meta({ id: 'Chapter' });

export const debateTypeSchema = z.enum(DEBATE_TYPES).meta({ id: 'DebateType' });
export const debateStatusSchema = z.enum(DEBATE_STATUSES).meta({ id: 'DebateStatus' });

const debateFields = {
  title: shortText(1000),
  description: z.string().max(20000).nullable().optional(),
  type: debateTypeSchema.optional(),
  status: debateStatusSchema.optional(),
  date: dateInput,
  start_time: dateInput.nullable().optional(),
  end_time: dateInput.nullable().optional(),
  duration_minutes: z.number().int().min(0).max(7 * 24 * 60).nullable().optional(),
  location: z.string().max(255).nullable().optional(),
  legislature: z.number().int().min(1).max(1000).nullable().optional(),
  source: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected lower-case letters, digits and dashes').optional(),
  external_id: z.string().trim().min(1).max(128).nullable().optional(),
  source_url: httpUrl.nullable().optional(),
  video_url: httpUrl.nullable().optional(),
  thumbnail_url: httpUrl.nullable().optional(),
  agenda_points: stringList(200, 2000).nullable().optional(),
  keywords: stringList(100, 200).nullable().optional(),
  tags: stringList(100, 100).nullable().optional(),
  chapters: z.array(chapterSchema).max(2000).nullable().optional(),
  commission_id: z.number().int().positive().nullable().optional(),
  speaker_ids: z.array(z.number().int().positive()).max(1000).optional(),
};

export const debateCreateSchema = z.object(debateFields).strict().meta({ id: 'DebateCreate' });
export const debateUpdateSchema = z
  .object({ ...debateFields, title: debateFields.title.optional(), date: dateInput.optional() })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change' })
  .meta({ id: 'DebateUpdate' });

export type DebateCreateInput = z.output<typeof debateCreateSchema>;
export type DebateUpdateInput = z.output<typeof debateUpdateSchema>;

export const SORT_FIELDS = ['date', 'title', 'created_at', 'updated_at', 'view_count', 'duration_minutes'] as const;

export const debateListQuery = z
  .object({
    page: canonicalInt(1, 1_000_000).default(1),
    per_page: canonicalInt(1, 100).default(20),
    q: z.string().trim().max(200).optional(),
    type: debateTypeSchema.optional(),
    status: debateStatusSchema.optional(),
    commission: z.string().trim().min(1).max(255).optional().meta({ description: 'A committee id, uid, slug, short name or name' }),
    depute: z.string().trim().min(1).max(255).optional().meta({ description: 'A deputy id, uid, slug or full name' }),
    date_start: dateInput.optional(),
    date_end: dateInput.optional(),
    has_audio: boolString.optional(),
    sort_by: z.enum(SORT_FIELDS).default('date'),
    sort_order: z.enum(['asc', 'desc']).default('desc'),
  })
  .refine((q) => !q.date_start || !q.date_end || q.date_start <= q.date_end, {
    message: 'date_start must not be after date_end',
    path: ['date_end'],
  });

export type DebateListQuery = z.output<typeof debateListQuery>;

export const idParams = z.object({ id: canonicalInt(1, 2 ** 31 - 1) });

export const commissionView = z
  .object({ id: z.number(), external_id: z.string(), name: z.string(), short_name: z.string().nullable(), slug: z.string(), kind: z.string().nullable() })
  .meta({ id: 'CommissionSummary' });

export const deputyView = z
  .object({
    id: z.number(),
    external_id: z.string(),
    full_name: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    slug: z.string(),
    political_group: z.string().nullable(),
    political_group_short: z.string().nullable(),
  })
  .meta({ id: 'DeputySummary' });

export const audioFileView = z
  .object({
    id: z.number(),
    format: z.string(),
    quality: z.string(),
    mime_type: z.string(),
    file_size: z.number(),
    duration_seconds: z.number().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'AudioFile' });

export const debateView = z
  .object({
    id: z.number().int(),
    title: z.string(),
    description: z.string().nullable(),
    type: debateTypeSchema,
    status: debateStatusSchema,
    date: z.string(),
    start_time: z.string().nullable(),
    end_time: z.string().nullable(),
    duration_minutes: z.number().nullable(),
    location: z.string().nullable(),
    legislature: z.number().nullable(),
    source: z.string(),
    external_id: z.string().nullable(),
    source_url: z.string().nullable(),
    video_url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    agenda_points: z.array(z.string()),
    keywords: z.array(z.string()),
    tags: z.array(z.string()),
    chapters: z.array(chapterSchema),
    commission_id: z.number().nullable(),
    commission: commissionView.nullable(),
    speakers: z.array(deputyView),
    has_audio: z.boolean(),
    audio_files: z.array(audioFileView),
    view_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Debate' });

export type DebateView = z.output<typeof debateView>;

export const debateListView = z
  .object({
    debates: z.array(debateView),
    total: z.number().int(),
    page: z.number().int(),
    per_page: z.number().int(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
  })
  .meta({ id: 'DebateList' });

export const statsView = z
  .object({
    total_debates: z.number().int(),
    debates_with_audio: z.number().int(),
    total_duration_minutes: z.number(),
    total_views: z.number().int(),
    total_commissions: z.number().int(),
    total_deputies: z.number().int(),
    total_audio_files: z.number().int(),
    by_type: z.record(z.string(), z.number().int()),
    by_status: z.record(z.string(), z.number().int()),
    latest_debate_date: z.string().nullable(),
  })
  .meta({ id: 'Stats' });

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function toCommissionView(c: Commission): z.output<typeof commissionView> {
  return { id: c.id, external_id: c.externalId, name: c.name, short_name: c.shortName ?? null, slug: c.slug, kind: c.kind ?? null };
}

export function toDeputyView(d: Deputy): z.output<typeof deputyView> {
  return {
    id: d.id,
    external_id: d.externalId,
    full_name: d.fullName,
    first_name: d.firstName,
    last_name: d.lastName,
    slug: d.slug,
    political_group: d.politicalGroup ?? null,
    political_group_short: d.politicalGroupShort ?? null,
  };
}

export function toAudioFileView(a: AudioFile): z.output<typeof audioFileView> {
  return {
    id: a.id,
    format: a.format,
    quality: a.quality,
    mime_type: a.mimeType,
    file_size: Number(a.fileSize),
    duration_seconds: a.durationSeconds === null || a.durationSeconds === undefined ? null : Number(a.durationSeconds),
    created_at: iso(a.createdAt)!,
  };
}

/**
 * The wire shape of a debate (snake_case, the original API's fields). Relations that are not
 * loaded are rendered empty, so populate `commission`, `speakers` and `audioFiles` first.
 */
export function toDebateView(d: Debate): DebateView {
  const commission = d.commission && (d.commission as unknown as { __helper?: { __initialized?: boolean } }).__helper?.__initialized !== false ? d.commission : null;
  const speakers = d.speakers?.isInitialized() ? d.speakers.getItems() : [];
  const audioFiles = d.audioFiles?.isInitialized() ? d.audioFiles.getItems() : [];
  return debateViewOf(d, commission as Commission | null, speakers as Deputy[], audioFiles as AudioFile[]);
}

/** A debate's own fields, as an entity holds them (its relations are passed apart). */
export type DebateFields = Omit<Debate, 'commission' | 'speakers' | 'audioFiles'> & { commission?: { id: number } | null };

/**
 * The wire shape from a debate's fields and its loaded relations: `toDebateView` for entities, and
 * `loadDebateViews` (catalog.ts) for rows read without hydrating entities.
 */
export function debateViewOf(d: DebateFields, commission: Commission | null, speakers: Deputy[], audioFiles: AudioFile[]): DebateView {
  return {
    id: d.id,
    title: d.title,
    description: d.description ?? null,
    type: d.type as DebateView['type'],
    status: d.status as DebateView['status'],
    date: iso(d.date)!,
    start_time: iso(d.startTime),
    end_time: iso(d.endTime),
    duration_minutes: d.durationMinutes ?? null,
    location: d.location ?? null,
    legislature: d.legislature ?? null,
    source: d.source,
    external_id: d.externalId ?? null,
    source_url: d.sourceUrl ?? null,
    video_url: d.videoUrl ?? null,
    thumbnail_url: d.thumbnailUrl ?? null,
    agenda_points: d.agendaPoints ?? [],
    keywords: d.keywords ?? [],
    tags: d.tags ?? [],
    chapters: (d.chapters ?? []) as DebateView['chapters'],
    commission_id: d.commission ? d.commission.id : null,
    commission: commission && commission.name !== undefined ? toCommissionView(commission) : null,
    speakers: speakers.map((s) => toDeputyView(s)).sort((a, b) => a.last_name.localeCompare(b.last_name, 'fr')),
    has_audio: d.hasAudio,
    audio_files: audioFiles.map((a) => toAudioFileView(a)),
    view_count: d.viewCount,
    created_at: iso(d.createdAt)!,
    updated_at: iso(d.updatedAt)!,
  };
}

/** Lower-case ASCII slug: "Commission des Affaires étrangères" → "commission-des-affaires-etrangeres". */
export function slugify(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’]/g, '-')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
}
