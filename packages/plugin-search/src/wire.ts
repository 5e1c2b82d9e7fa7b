import { commissionView, debateListQuery, debateView, deputyView, z } from '@robian/core';
import { SEARCH_SORTS } from './engine.ts';
import { MAX_QUERY_LENGTH, type ParsedQuery } from './query.ts';

// The wire shapes of the search routes: queries, views and the helpers every listing shares.

const listShape = (debateListQuery as unknown as z.ZodObject<z.ZodRawShape>).shape as (typeof debateListQuery)['shape'];
const dateOrder = (q: { date_start?: Date | undefined; date_end?: Date | undefined }) => !q.date_start || !q.date_end || q.date_start <= q.date_end;
const dateOrderIssue = { message: 'date_start must not be after date_end', path: ['date_end'] };

export const searchQuery = z
  .object({
    ...listShape,
    q: z
      .string()
      .max(MAX_QUERY_LENGTH)
      .optional()
      .meta({
        description:
          'Words to find (accents and case ignored, French stemming). "a phrase" in quotes, -word to exclude, a OR b; the last word is a prefix while typing (no space after it). Empty: every debate matching the filters.',
        example: 'réforme des retraites',
      }),
    sort_by: z.enum(SEARCH_SORTS).default('relevance').meta({ description: 'relevance (then date) by default' }),
    prefix: z
      .enum(['true', 'false', '1', '0'])
      .transform((v) => v === 'true' || v === '1')
      .default(true)
      .meta({ type: 'boolean', description: 'Complete the last word as a prefix when no space follows it (as-you-type); false: match it as a whole word' }),
  })
  .refine(dateOrder, dateOrderIssue);

export type SearchQuery = z.output<typeof searchQuery>;

export const HIGHLIGHT_FIELDS = ['title', 'description', 'agenda_points', 'keywords', 'tags', 'commission', 'speakers'] as const;

export const searchHighlight = z
  .object({
    field: z.enum(HIGHLIGHT_FIELDS),
    snippet: z.string().meta({ description: 'HTML-escaped text with the matching words in <mark>…</mark>' }),
  })
  .meta({ id: 'SearchHighlight' });

export const momentSpeaker = z
  .object({
    name: z.string().nullable(),
    deputy_id: z.string().nullable(),
    deputy: z.object({ id: z.string(), external_id: z.string(), full_name: z.string(), slug: z.string(), political_group_short: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'MomentSpeaker' });

export const momentView = z
  .object({
    segment_id: z.string(),
    debate_id: z.string(),
    position: z.number().int(),
    start_seconds: z.number(),
    end_seconds: z.number(),
    speaker: momentSpeaker,
    snippet: z.string().meta({ description: 'HTML-escaped text with the matching words in <mark>…</mark>' }),
    score: z.number().nullable(),
    stream_url: z.string().nullable().meta({ description: 'The audio from this moment on: the audio route with a media-fragment `#t=<start>` (null when the debate has no audio yet)' }),
    transcript_url: z.string(),
  })
  .meta({ id: 'Moment' });

export const searchHit = debateView
  .extend({
    score: z.number().nullable().meta({ description: 'Relevance (higher is better); null without search words' }),
    highlights: z.array(searchHighlight),
    moments: z.array(momentView).meta({ description: 'The best matching moments of its transcript (at most 3), best first' }),
  })
  .meta({ id: 'SearchHit' });

const facetCommission = z
  .object({ id: z.string(), external_id: z.string(), name: z.string(), short_name: z.string().nullable(), slug: z.string(), count: z.number().int() })
  .meta({ id: 'SearchFacetCommission' });

export const searchQueryInfo = z
  .object({
    q: z.string(),
    mode: z.enum(['fulltext', 'browse']).meta({ description: 'browse: no usable word, the filters alone apply' }),
    terms: z.array(z.string()).meta({ description: 'Required words (normalised)' }),
    phrases: z.array(z.string()),
    excluded: z.array(z.string()),
    prefix: z.string().nullable().meta({ description: 'The word completed as a prefix' }),
    ignored: z.array(z.string()).meta({ description: 'Words left out: stop words, words past the 32nd' }),
  })
  .meta({ id: 'SearchQueryInfo' });

export const searchResponse = z
  .object({
    debates: z.array(searchHit),
    total: z.number().int(),
    total_exact: z.boolean().meta({ description: 'false: more matches than SEARCH_EXACT_LIMIT; `total` is a lower bound and facets and ranking cover the most recent matches' }),
    facets_exact: z.boolean(),
    page: z.number().int(),
    per_page: z.number().int(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
    facets: z.object({
      commissions: z.array(facetCommission),
      types: z.array(z.object({ value: z.string(), count: z.number().int() })),
      years: z.array(z.object({ value: z.number().int(), count: z.number().int() })),
    }),
    query: searchQueryInfo,
  })
  .meta({ id: 'SearchResults' });

export const namedListQuery = z.object({
  page: listShape.page,
  per_page: listShape.per_page,
  q: z.string().trim().max(200).optional().meta({ description: 'Part of the name (accents and case ignored)' }),
  active: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .meta({ type: 'boolean' }),
  sort_by: z.enum(['name', 'debate_count']).default('name'),
  sort_order: z.enum(['asc', 'desc']).optional().meta({ description: 'asc for name, desc for debate_count by default' }),
});

export const commissionItem = commissionView.extend({ active: z.boolean(), debate_count: z.number().int() }).meta({ id: 'CommissionListItem' });
export const deputyItem = deputyView.extend({ active: z.boolean(), debate_count: z.number().int() }).meta({ id: 'DeputyListItem' });
const pageFields = { total: z.number().int(), page: z.number().int(), per_page: z.number().int(), has_next: z.boolean(), has_prev: z.boolean() };
export const commissionList = z.object({ commissions: z.array(commissionItem), ...pageFields }).meta({ id: 'CommissionList' });
export const deputyList = z.object({ deputes: z.array(deputyItem), ...pageFields }).meta({ id: 'DeputyList' });
export const debatesOfCommission = z.object({ commission: commissionItem, debates: z.array(debateView), ...pageFields }).meta({ id: 'CommissionDebates' });
export const debatesOfDeputy = z.object({ depute: deputyItem, debates: z.array(debateView), ...pageFields }).meta({ id: 'DeputyDebates' });
export const nameParams = z.object({
  name: z.string().min(1).max(255).meta({ description: "The parliament's uid, the slug, or the name itself (case and accents ignored)" }),
});
export const notFoundWithSuggestions = {
  description: 'No such name; `suggestions` lists the closest ones',
  contentType: 'application/problem+json',
  schema: z
    .object({
      type: z.string(),
      title: z.string(),
      status: z.number().int(),
      detail: z.string().optional(),
      request_id: z.string().optional(),
      suggestions: z.array(z.object({ id: z.string(), external_id: z.string(), name: z.string(), slug: z.string(), href: z.string() })),
    })
    .meta({ id: 'NameNotFound' }),
};


/** The paging fields of a list response. */
export function pageOf(total: number, page: number, perPage: number, count: number) {
  const offset = (page - 1) * perPage;
  return { total, page, per_page: perPage, has_next: offset + count < total, has_prev: page > 1 };
}

/** What the search understood of `q`. */
export function describeQuery(raw: string, parsed: ParsedQuery, ranked: boolean): z.output<typeof searchQueryInfo> {
  const terms: string[] = [];
  const phrases: string[] = [];
  const excluded: string[] = [];
  let prefix: string | null = null;
  for (const c of parsed.clauses) {
    for (const it of c.items) {
      const text = it.kind === 'word' ? it.word.norm : it.words.map((w) => w.norm).join(' ');
      if (c.negated) excluded.push(text);
      else if (it.kind === 'phrase') phrases.push(text);
      else {
        terms.push(text);
        if (it.word.prefix) prefix = text;
      }
    }
  }
  return { q: raw, mode: ranked ? 'fulltext' : 'browse', terms, phrases, excluded, prefix, ignored: parsed.ignored };
}

