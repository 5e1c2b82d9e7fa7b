import { NotFoundError, namedRows, resolveNamed, slugify, type Dialect, type EntityManager } from '@robian/core';
import { normalizeText } from './query.ts';

/**
 * Resolution of the `{name}` of `/api/commissions/{name}/…` and `/api/deputes/{name}/…`: the database
 * id, the parliament's uid (any case), the slug, or the name itself (any case, with or without accents,
 * punctuation ignored; a committee also by its short name, a deputy also as "Last First"). An unknown
 * name is a 404 whose `suggestions` list the closest ones: by trigram similarity (pg_trgm) on
 * PostgreSQL, by edit distance on SQLite.
 */

export type NameKind = 'commission' | 'deputy';

export interface Suggestion {
  id: string;
  external_id: string;
  name: string;
  slug: string;
  href: string;
}

interface Candidate {
  id: number;
  external_id: string;
  name: string;
  slug: string;
  /** Other spellings that resolve: short name, "Last First". */
  aliases: string[];
}

const MAX_SUGGESTIONS = 5;
const MAX_INPUT = 255;

function hrefOf(kind: NameKind, externalId: string): string {
  return `/api/${kind === 'commission' ? 'commissions' : 'deputes'}/${encodeURIComponent(externalId)}/debats`;
}

const candidates = (em: EntityManager, kind: NameKind): Promise<Candidate[]> => namedRows(em, kind);

/** Levenshtein distance (two rows), for the SQLite suggestions. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Similarity in [0, 1] of an input and a name: whole-string edit distance, or the best word of the name. */
export function nameSimilarity(input: string, name: string): number {
  const a = slugify(input).replace(/-/g, ' ');
  const b = slugify(name).replace(/-/g, ' ');
  if (!a || !b) return 0;
  const whole = 1 - editDistance(a, b) / Math.max(a.length, b.length);
  let best = whole;
  if (b.includes(a) && a.length >= 3) best = Math.max(best, 0.6 + 0.4 * (a.length / b.length));
  for (const word of b.split(' ')) {
    if (word.length < 3) continue;
    best = Math.max(best, 0.9 * (1 - editDistance(a, word) / Math.max(a.length, word.length)));
  }
  return best;
}

function rankInJs(input: string, list: Candidate[]): Candidate[] {
  return list
    .map((c) => ({ c, score: Math.max(nameSimilarity(input, c.name), ...c.aliases.map((a) => nameSimilarity(input, a))) }))
    .filter((x) => x.score >= 0.45)
    .sort((x, y) => y.score - x.score || x.c.name.localeCompare(y.c.name, 'fr'))
    .slice(0, MAX_SUGGESTIONS)
    .map((x) => x.c);
}

async function rankWithTrigrams(em: EntityManager, kind: NameKind, input: string): Promise<Candidate[]> {
  const norm = normalizeText(input);
  const sql =
    kind === 'commission'
      ? `select id, external_id, name, slug, short_name as alias,
           greatest(similarity(lower(search_unaccent(name)), ?), word_similarity(?, lower(search_unaccent(name))), similarity(lower(search_unaccent(coalesce(short_name, ''))), ?)) as score
         from commission order by score desc, name limit ${MAX_SUGGESTIONS * 2}`
      : `select id, external_id, full_name as name, slug, last_name || ' ' || first_name as alias,
           greatest(similarity(lower(search_unaccent(full_name)), ?), word_similarity(?, lower(search_unaccent(full_name)))) as score
         from deputy order by score desc, full_name limit ${MAX_SUGGESTIONS * 2}`;
  const params = kind === 'commission' ? [norm, norm, norm] : [norm, norm];
  const rows = await em.getConnection().execute<{ id: number; external_id: string; name: string; slug: string; alias: string | null; score: number | string }[]>(sql, params);
  return rows
    .filter((r) => Number(r.score) >= 0.3)
    .slice(0, MAX_SUGGESTIONS)
    .map((r) => ({ id: Number(r.id), external_id: r.external_id, name: r.name, slug: r.slug, aliases: r.alias ? [r.alias] : [] }));
}

export async function suggest(em: EntityManager, dialect: Dialect, kind: NameKind, input: string, list?: Candidate[]): Promise<Suggestion[]> {
  const found = dialect === 'postgresql' ? await rankWithTrigrams(em, kind, input) : rankInJs(input, list ?? (await candidates(em, kind)));
  return found.map((c) => ({ id: String(c.id), external_id: c.external_id, name: c.name, slug: c.slug, href: hrefOf(kind, c.external_id) }));
}

/** The id a `{name}` stands for (core's `resolveNamed`, as `/api/debats/?commission=`); throws a 404 problem with suggestions when none. */
export async function resolveName(em: EntityManager, dialect: Dialect, kind: NameKind, value: string): Promise<number> {
  const v = value.trim().slice(0, MAX_INPUT);
  const label = kind === 'commission' ? 'committee' : 'deputy';
  const id = await resolveNamed(em, kind, v);
  if (id !== undefined) return id;
  if (!v) throw new NotFoundError(`no ${label} is named ""`, { suggestions: [] });
  const suggestions = await suggest(em, dialect, kind, v);
  throw new NotFoundError(`no ${label} is named "${v}"${suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s.name}"`).join(', ')}?` : ''}`, {
    suggestions,
  });
}
