import { z } from 'zod';
import { CANONICAL_INTEGER, canonicalInt } from './input.ts';
import { debateStatusSchema, debateTypeSchema } from './views.ts';

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

/** An id in a body: a string (as Robian answers them) or a number, canonical decimal either way. */
export const idInput = z
  .union([z.number().int().positive().max(2 ** 31 - 1), z.string().regex(CANONICAL_INTEGER, 'expected an id such as "42"')])
  .transform((v) => Number(v))
  .pipe(z.number().int().positive().max(2 ** 31 - 1));
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
  commission_id: idInput.nullable().optional(),
  speaker_ids: z.array(idInput).max(1000).optional(),
  // the original RobianAPI's fields (its clients send them): names where Robian keeps relations
  commission: z.string().trim().min(1).max(512).nullable().optional().meta({ description: "A committee's name (or uid, slug, short name); an unknown name creates the committee. commission_id wins when both are sent" }),
  speakers: z.array(shortText(512)).max(1000).optional().meta({ description: "The speakers' names; unknown names create deputies of this debate's source. speaker_ids wins when both are sent" }),
  salle: z.string().max(255).nullable().optional().meta({ description: 'The room: the same as location' }),
  ministers: stringList(200, 512).nullable().optional(),
  metadata: z.record(z.string().max(200), z.unknown()).nullable().optional().refine((v) => v == null || JSON.stringify(v).length <= 65536, 'metadata must stay under 64 KiB as JSON'),
};

// unknown fields are ignored (stripped), as the original's clients expect; known ones are validated
export const debateCreateSchema = z.object(debateFields).meta({ id: 'DebateCreate' });
export const debateUpdateSchema = z
  .object({ ...debateFields, title: debateFields.title.optional(), date: dateInput.optional() })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'send at least one field to change' })
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

/** An id that names nothing: what a path id that is not a canonical decimal id resolves to. */
export const NO_ID = -1;

/**
 * A path id. Ids are opaque strings to clients (the original's were UUIDs): any string up to 64
 * characters is accepted, and one that is not the canonical decimal form of an id (`0x10`, ` 1`,
 * `01`, a UUID) names nothing, so the route answers 404 as the original did.
 */
export const pathId = z
  .string()
  .max(64)
  .transform((v) => (CANONICAL_INTEGER.test(v) && Number(v) >= 1 && Number(v) <= 2 ** 31 - 1 ? Number(v) : NO_ID))
  .meta({ type: 'string', description: 'The id, e.g. "42"' });

export const idParams = z.object({ id: pathId });

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
