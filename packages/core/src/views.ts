import { z } from 'zod';
import { DEBATE_STATUSES, DEBATE_TYPES, type AudioFile, type Commission, type Debate, type Deputy } from './entities.ts';

/*
 * The wire shapes of the catalogue's objects: one zod schema per object, the single source of the
 * OpenAPI document, of @robian/client's types and of the views the routes answer with. Every object
 * carries every field of the original RobianAPI's model (name, JSON type, nullability: see
 * docs/api.md, "Differences from the original RobianAPI"), and Robian's richer data in fields of its
 * own. Ids are strings on the wire.
 */

export const debateTypeSchema = z.enum(DEBATE_TYPES).meta({ id: 'DebateType' });
export const debateStatusSchema = z.enum(DEBATE_STATUSES).meta({ id: 'DebateStatus' });

/** The original's words for an audio file's extraction. */
export const EXTRACTION_STATUSES = ['pending', 'extracting', 'completed', 'error'] as const;

export const chapterView = z
  .object({
    title: z.string(),
    start_seconds: z.number().nullable(),
    end_seconds: z.number().nullable().optional(),
    speaker_external_id: z.string().nullable().optional(),
    speaker_name: z.string().nullable().optional(),
    level: z.number().int().nullable().optional(),
    kind: z.string().nullable().optional(),
  })
  .meta({ id: 'ChapterView' });

export const commissionView = z
  .object({ id: z.string(), external_id: z.string(), name: z.string(), short_name: z.string().nullable(), slug: z.string(), kind: z.string().nullable() })
  .meta({ id: 'CommissionSummary' });

export const deputyView = z
  .object({
    id: z.string(),
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
    id: z.string(),
    debate_id: z.string(),
    filename: z.string(),
    file_size: z.number().int(),
    file_size_mb: z.number(),
    format: z.string(),
    quality: z.string(),
    mime_type: z.string(),
    duration_seconds: z.number().int().nullable().meta({ description: 'Whole seconds (the original type); the precise value is in duration' }),
    duration: z.number().nullable().meta({ description: 'Seconds, as measured' }),
    duration_formatted: z.string().meta({ example: '1:02:05' }),
    extraction_status: z.enum(EXTRACTION_STATUSES),
    rendition_status: z.enum(['ready']).meta({ description: "Robian's state of the rendition; an audio file is listed once its file is complete" }),
    extraction_started_at: z.string().nullable(),
    extraction_completed_at: z.string().nullable(),
    extraction_error: z.string().nullable(),
    stream_url: z.string().nullable().meta({ description: 'The audio route of this rendition; with REQUIRE_SIGNED_URLS, GET /api/debats/{id}/streaming gives signed ones' }),
    download_url: z.string().nullable(),
    download_count: z.number().int(),
    stream_count: z.number().int(),
    is_ready: z.boolean(),
    is_extracting: z.boolean(),
    has_error: z.boolean(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'AudioFile' });

export const feedLinksView = z
  .object({
    all: z.string().meta({ example: '/feeds/debats.xml' }),
    committee: z.string().nullable().meta({ example: '/feeds/commissions/finances.xml' }),
    deputies: z.array(z.string()).meta({ example: ['/feeds/deputes/eric-coquerel.xml'] }),
  })
  .meta({
    id: 'FeedLinks',
    description: "The podcast feeds this debate is an episode of (@robian/plugin-podcast; they answer 404 on a host without it): the catalogue's, its committee's, its speakers'",
  });

export const debateView = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    type: debateTypeSchema,
    status: debateStatusSchema,
    date: z.string().meta({ description: 'The day of the sitting, YYYY-MM-DD (Paris time)', example: '2025-06-05' }),
    date_time: z.string().meta({ description: 'The date as stored, ISO 8601' }),
    start_time: z.string().nullable(),
    end_time: z.string().nullable(),
    duration_minutes: z.number().int().nullable(),
    display_duration: z.string().meta({ example: '2h 5min' }),
    source_url: z.string().meta({ description: "The sitting's page: the stored one, else its video, else the parliament's page for such sittings" }),
    video_url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    commission: z.string().nullable().meta({ description: "The committee's name (the object is in committee)" }),
    commission_id: z.string().nullable(),
    committee: commissionView.nullable(),
    salle: z.string().nullable(),
    location: z.string().nullable(),
    speakers: z.array(z.string()).meta({ description: "The speakers' names (the objects are in deputies)" }),
    deputies: z.array(deputyView),
    ministers: z.array(z.string()),
    tags: z.array(z.string()),
    keywords: z.array(z.string()),
    agenda_points: z.array(z.string()),
    chapters: z.array(chapterView),
    metadata: z.record(z.string(), z.unknown()),
    legislature: z.number().int().nullable(),
    source: z.string(),
    external_id: z.string().nullable(),
    is_live: z.boolean(),
    has_audio: z.boolean(),
    view_count: z.number().int(),
    download_count: z.number().int(),
    audio_files: z.array(audioFileView),
    feeds: feedLinksView,
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

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

const PARIS_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar day of an instant in Paris, YYYY-MM-DD: the day a parliament's sitting is on. */
export function parisDay(d: Date | string): string {
  return PARIS_DAY.format(new Date(d));
}

/** The original's wording: "2h 5min", "45min", "Durée inconnue". */
export function displayDuration(minutes: number | null | undefined): string {
  if (!minutes) return 'Durée inconnue';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h}h ${m}min` : `${m}min`;
}

/** The original's wording for seconds: "1:02:05", "4:05", "Durée inconnue". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (!seconds) return 'Durée inconnue';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** The parliament's pages for sittings without a page of their own (the sitting's kind decides). */
const FALLBACK_PAGES = {
  seance: 'https://www.assemblee-nationale.fr/dyn/seance-publique',
  organes: 'https://www.assemblee-nationale.fr/dyn/commissions-et-autres-organes',
} as const;

/**
 * `source_url` is required by the original's clients: the stored page, else the video, else the
 * parliament's page for this kind of sitting (docs/decisions.md, "source_url is never null").
 */
export function sourceUrlOf(d: { sourceUrl?: string | null; videoUrl?: string | null; type: string }): string {
  if (d.sourceUrl) return d.sourceUrl;
  if (d.videoUrl) return d.videoUrl;
  return d.type === 'seance_publique' || d.type === 'question_gouvernement' ? FALLBACK_PAGES.seance : FALLBACK_PAGES.organes;
}

export function toCommissionView(c: Commission): z.output<typeof commissionView> {
  return { id: String(c.id), external_id: c.externalId, name: c.name, short_name: c.shortName ?? null, slug: c.slug, kind: c.kind ?? null };
}

export function toDeputyView(d: Deputy): z.output<typeof deputyView> {
  return {
    id: String(d.id),
    external_id: d.externalId,
    full_name: d.fullName,
    first_name: d.firstName,
    last_name: d.lastName,
    slug: d.slug,
    political_group: d.politicalGroup ?? null,
    political_group_short: d.politicalGroupShort ?? null,
  };
}

const EXTENSIONS: Record<string, string> = { mp3: 'mp3', aac: 'm4a', opus: 'opus', wav: 'wav' };

export function toAudioFileView(a: AudioFile, debateId: number): z.output<typeof audioFileView> {
  const duration = a.durationSeconds === null || a.durationSeconds === undefined ? null : Number(a.durationSeconds);
  const size = Number(a.fileSize);
  const rendition = `format=${encodeURIComponent(a.format)}&quality=${encodeURIComponent(a.quality)}`;
  return {
    id: String(a.id),
    debate_id: String(debateId),
    filename: `debat-${debateId}-${a.quality}.${EXTENSIONS[a.format] ?? a.format}`,
    file_size: size,
    file_size_mb: Math.round((size / (1024 * 1024)) * 100) / 100,
    format: a.format,
    quality: a.quality,
    mime_type: a.mimeType,
    duration_seconds: duration === null ? null : Math.round(duration),
    duration,
    duration_formatted: formatSeconds(duration),
    extraction_status: 'completed',
    rendition_status: 'ready',
    extraction_started_at: null,
    extraction_completed_at: iso(a.createdAt),
    extraction_error: null,
    stream_url: `/api/debats/${debateId}/audio?${rendition}`,
    download_url: `/api/debats/${debateId}/download?${rendition}`,
    download_count: Number(a.downloadCount ?? 0),
    stream_count: Number(a.streamCount ?? 0),
    is_ready: true,
    is_extracting: false,
    has_error: false,
    metadata: { mime_type: a.mimeType, ...(a.checksum ? { checksum: a.checksum } : {}) },
    created_at: iso(a.createdAt)!,
    updated_at: iso(a.updatedAt)!,
  };
}

/**
 * The wire shape of a debate. Relations that are not loaded are rendered empty, so populate
 * `commission`, `speakers` and `audioFiles` first.
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
  const committee = commission && commission.name !== undefined ? toCommissionView(commission) : null;
  const deputies = speakers.map((s) => toDeputyView(s)).sort((a, b) => a.last_name.localeCompare(b.last_name, 'fr'));
  const files = audioFiles.map((a) => toAudioFileView(a, d.id));
  return {
    id: String(d.id),
    title: d.title,
    description: d.description ?? null,
    type: d.type as DebateView['type'],
    status: d.status as DebateView['status'],
    date: parisDay(d.date),
    date_time: iso(d.date)!,
    start_time: iso(d.startTime),
    end_time: iso(d.endTime),
    duration_minutes: d.durationMinutes ?? null,
    display_duration: displayDuration(d.durationMinutes),
    source_url: sourceUrlOf(d),
    video_url: d.videoUrl ?? null,
    thumbnail_url: d.thumbnailUrl ?? null,
    commission: committee?.name ?? null,
    commission_id: d.commission ? String(d.commission.id) : null,
    committee,
    salle: d.location ?? null,
    location: d.location ?? null,
    speakers: deputies.map((s) => s.full_name),
    deputies,
    ministers: d.ministers ?? [],
    tags: d.tags ?? [],
    keywords: d.keywords ?? [],
    agenda_points: d.agendaPoints ?? [],
    chapters: (d.chapters ?? []) as DebateView['chapters'],
    metadata: (d.metadata ?? {}) as Record<string, unknown>,
    legislature: d.legislature ?? null,
    source: d.source,
    external_id: d.externalId ?? null,
    is_live: d.status === 'en_cours',
    has_audio: d.hasAudio,
    view_count: d.viewCount,
    download_count: files.reduce((n, f) => n + f.download_count, 0),
    audio_files: files,
    feeds: {
      all: '/feeds/debats.xml',
      committee: committee ? `/feeds/commissions/${encodeURIComponent(committee.slug)}.xml` : null,
      deputies: deputies.map((p) => `/feeds/deputes/${encodeURIComponent(p.slug)}.xml`),
    },
    created_at: iso(d.createdAt)!,
    updated_at: iso(d.updatedAt)!,
  };
}
