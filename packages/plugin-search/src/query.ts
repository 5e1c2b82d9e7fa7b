/**
 * The search query language, parsed once and compiled for each database.
 *
 * Syntax (close to what search boxes accept): words are all required (AND); `"a phrase"` matches the
 * words next to each other; `-word` or `-"a phrase"` excludes; `a OR b` (upper-case OR) matches either;
 * the last word is a prefix while the user is typing (no space after it yet). Accents and case never
 * matter. Everything else (punctuation, operators of SQL, tsquery or FTS5: `* : & | ! ( ) ' ^ NEAR AND`)
 * is plain text: words are made of letters and digits only, and the compilers only ever quote words
 * they built themselves, so no user input reaches the database's query syntax.
 */

/** Longest query accepted (characters). */
export const MAX_QUERY_LENGTH = 1000;
/** Words kept from one query; the rest are ignored (and reported). */
export const MAX_QUERY_WORDS = 32;
/** Longest word kept (longer words are cut). */
export const MAX_WORD_LENGTH = 64;
/**
 * A word being typed is completed from its third letter on: "ré*" would match nearly every debate
 * (réunion, rapport…), ranking and counting the whole corpus; shorter, it is a whole word ("IA", "UE").
 */
export const MIN_PREFIX_LENGTH = 3;

/**
 * PostgreSQL's French stop words (tsearch_data/french.stop) that contain no accent. The index is built
 * over unaccented text, so the accented ones ("été", "à", "même") never reach the stop list there
 * either: with this list both databases drop exactly the same words.
 */
export const FRENCH_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me mes moi mon ne nos notre nous on ou par pas pour qu que qui ' +
    'sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y suis es est sommes sont serai seras sera serons serez seront ' +
    'serais serait serions seriez seraient fus fut furent sois soit soyons soyez soient fusse fusses fussions fussiez fussent ayant ayante ayantes ' +
    'ayants eu eue eues eus ai as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient avais avait avions aviez ' +
    'avaient eut eurent aie aies ait ayons ayez aient eusse eusses eussions eussiez eussent'
  ).split(' '),
);

const LIGATURES: Record<string, string> = { œ: 'oe', Œ: 'oe', æ: 'ae', Æ: 'ae', ß: 'ss', ø: 'o', Ø: 'o', ł: 'l', Ł: 'l', đ: 'd', Đ: 'd', ı: 'i', ĳ: 'ij' };

const NON_ASCII = /[^\x00-\x7f]/;

/** Lower case, accents and ligatures removed (what `unaccent` + `lower` and FTS5's remove_diacritics do). */
export function normalizeText(text: string): string {
  // ASCII has no ligature, no accent and no compatibility form: lower case is all (most words)
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text
    .replace(/[œŒæÆßøØłŁđĐıĳ]/g, (c) => LIGATURES[c] ?? c)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** Words as FTS5's unicode61 tokenizer and PostgreSQL's parser see them: runs of letters and digits. */
const wordsOf = (text: string) => text.matchAll(/[\p{L}\p{N}]+/gu);

/**
 * A light French stemmer used on SQLite (PostgreSQL uses its Snowball stemmer). It only ever cuts
 * the end of a word, so that the stem is a prefix of every form it stands for, and the query can
 * match them all with an FTS5 prefix term: "retraites" → "retrait" (retraite, retraité, retraites),
 * "nationaux" → "nationa" (national, nationale, nationaux), "législative" → "legislati".
 * The input is normalised (lower case, no accents).
 */
export function lightStem(word: string): string {
  let w = word;
  if (w.length <= 3 || /^\d/.test(w)) return w;
  if (w.endsWith('eaux')) w = w.slice(0, -1); // bureaux → bureau
  else if (w.endsWith('aux') && w.length > 5) w = w.slice(0, -2); // nationaux → nationa
  else if ((w.endsWith('s') || w.endsWith('x')) && !w.endsWith('ss')) w = w.slice(0, -1);
  // feminine and past participle endings: retraitée → retraite → retrait
  for (let i = 0; i < 2 && w.length > 4 && w.endsWith('e'); i++) w = w.slice(0, -1);
  if (w.length > 5 && (w.endsWith('if') || w.endsWith('iv'))) w = w.slice(0, -1); // législatif/législative → legislati
  else if (w.length > 5 && w.endsWith('eus')) w = w.slice(0, -1); // nombreuse → nombreu
  else if (w.length > 5 && w.endsWith('eur')) w = w.slice(0, -1); // travailleur → travailleu
  else if (w.length > 5 && w.endsWith('al')) w = w.slice(0, -1); // national → nationa
  else if (w.length > 5 && w.endsWith('ier')) w = w.slice(0, -2); // premier/première → premi
  else if (w.length > 5 && w.endsWith('er')) w = w.slice(0, -2); // réformer → reform
  return w;
}

/** Stems shorter than this are matched as whole words (with their plural), not as prefixes. */
const MIN_PREFIX_STEM = 4;

export interface QueryWord {
  /** As typed. */
  text: string;
  /** Lower case, without accents. */
  norm: string;
  /** lightStem(norm). */
  stem: string;
  /** The word being typed: matches any word it begins. */
  prefix: boolean;
}

export type QueryItem = { kind: 'word'; word: QueryWord } | { kind: 'phrase'; words: QueryWord[] };

/** Items joined by OR; a clause is required, or excluded when negated. */
export interface QueryClause {
  negated: boolean;
  items: QueryItem[];
}

export interface ParsedQuery {
  raw: string;
  clauses: QueryClause[];
  /** Words dropped: stop words, words past MAX_QUERY_WORDS. */
  ignored: string[];
}

interface Token {
  kind: 'word' | 'phrase' | 'or';
  negated: boolean;
  words: string[];
  /** The query ends right after this word (no space): it is a prefix. */
  atEnd: boolean;
}

function tokenize(raw: string): Token[] {
  const tokens: Token[] = [];
  const WORD = /[\p{L}\p{N}]+/gu; // own instance: exec() below moves its lastIndex
  let i = 0;
  const n = raw.length;
  const isWordChar = (c: string) => /[\p{L}\p{N}]/u.test(c);
  while (i < n) {
    const c = raw[i]!;
    const atStart = i === 0 || /\s/.test(raw[i - 1]!);
    if (c === '"' || ((c === '-' || c === '–') && atStart && raw[i + 1] === '"')) {
      const negated = c !== '"';
      const open = negated ? i + 1 : i;
      const close = raw.indexOf('"', open + 1);
      const body = raw.slice(open + 1, close === -1 ? n : close);
      const words = body.match(/[\p{L}\p{N}]+/gu) ?? [];
      if (words.length) tokens.push({ kind: 'phrase', negated, words, atEnd: false });
      i = close === -1 ? n : close + 1;
      continue;
    }
    if ((c === '-' || c === '–') && atStart && i + 1 < n && isWordChar(raw[i + 1]!)) {
      WORD.lastIndex = i + 1;
      const m = WORD.exec(raw)!;
      tokens.push({ kind: 'word', negated: true, words: [m[0]], atEnd: false });
      i = m.index + m[0].length;
      continue;
    }
    if (isWordChar(c)) {
      WORD.lastIndex = i;
      const m = WORD.exec(raw)!;
      const end = m.index + m[0].length;
      if (m[0] === 'OR') tokens.push({ kind: 'or', negated: false, words: [], atEnd: false });
      else tokens.push({ kind: 'word', negated: false, words: [m[0]], atEnd: end === n });
      i = end;
      continue;
    }
    i++;
  }
  return tokens;
}

function makeWord(text: string, prefix: boolean): QueryWord {
  const norm = normalizeText(text).slice(0, MAX_WORD_LENGTH);
  return { text, norm, stem: prefix ? norm : lightStem(norm), prefix };
}

/**
 * Parses a search box query. Never throws; an unusable query has no clauses. With `prefix: false`
 * the last word is a whole word even without a space after it.
 */
export function parseQuery(raw: string, options: { prefix?: boolean } = {}): ParsedQuery {
  const text = raw.slice(0, MAX_QUERY_LENGTH);
  const tokens = tokenize(text);
  const ignored: string[] = [];
  let budget = MAX_QUERY_WORDS;
  const take = (word: string) => {
    if (budget <= 0) {
      ignored.push(word);
      return false;
    }
    budget--;
    return true;
  };
  // the word being typed: the last token, a plain word, with nothing after it
  const last = tokens[tokens.length - 1];
  const clauses: QueryClause[] = [];
  let pendingOr = false;
  for (const token of tokens) {
    if (token.kind === 'or') {
      pendingOr = clauses.length > 0;
      continue;
    }
    let item: QueryItem | undefined;
    if (token.kind === 'word') {
      const word = token.words[0]!;
      const typing = options.prefix !== false && token === last && token.atEnd && !token.negated;
      const prefix = typing && normalizeText(word).length >= MIN_PREFIX_LENGTH;
      const w = makeWord(word, prefix);
      if (!w.norm || FRENCH_STOP_WORDS.has(w.norm)) ignored.push(word);
      else if (take(word)) item = { kind: 'word', word: w };
    } else {
      const words: QueryWord[] = [];
      for (const word of token.words) {
        const w = makeWord(word, false);
        if (w.norm && take(word)) words.push(w);
      }
      const meaningful = words.filter((w) => !FRENCH_STOP_WORDS.has(w.norm));
      if (meaningful.length === 0) ignored.push(...token.words);
      else if (words.length === 1) item = { kind: 'word', word: words[0]! };
      else item = { kind: 'phrase', words };
    }
    if (!item) {
      pendingOr = false;
      continue;
    }
    const previous = clauses[clauses.length - 1];
    if (pendingOr && previous && previous.negated === token.negated) previous.items.push(item);
    else clauses.push({ negated: token.negated, items: [item] });
    pendingOr = false;
  }
  // exclusions alone cannot be searched (FTS5 has no unary NOT): without a required clause they are ignored
  if (!clauses.some((c) => !c.negated)) {
    for (const c of clauses) for (const item of c.items) ignored.push(...(item.kind === 'word' ? [item.word.text] : item.words.map((w) => w.text)));
    return { raw: text, clauses: [], ignored };
  }
  return { raw: text, clauses, ignored };
}

export function hasTerms(q: ParsedQuery): boolean {
  return q.clauses.some((c) => !c.negated);
}

// --- PostgreSQL ----------------------------------------------------------------------------------

export const pgLexeme = (w: QueryWord) => `'${w.norm.replace(/'/g, "''").replace(/\\/g, '\\\\')}'${w.prefix ? ':*' : ''}`;

/**
 * The argument of `to_tsquery('french', …)`: normalised words (letters and digits only, quoted),
 * `<->` for phrases, `|`, `!` and `&`. PostgreSQL stems each word with the French Snowball stemmer and
 * drops its stop words.
 */
export function toTsQuery(q: ParsedQuery): string {
  const item = (it: QueryItem) => (it.kind === 'word' ? pgLexeme(it.word) : `(${it.words.map(pgLexeme).join(' <-> ')})`);
  return q.clauses
    .map((c) => {
      const body = c.items.length === 1 ? item(c.items[0]!) : `(${c.items.map(item).join(' | ')})`;
      return c.negated ? `!${body}` : body;
    })
    .join(' & ');
}

// --- SQLite FTS5 ---------------------------------------------------------------------------------

const fts = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The forms a short word may take: itself and its plurals (short stems would match too much as prefixes). */
function shortForms(w: QueryWord): string[] {
  const base = w.stem;
  if (/^\d+$/.test(base)) return [base];
  return [...new Set([w.norm, base, `${base}s`, `${base}x`, `${base}e`, `${base}es`])];
}

export function ftsWord(w: QueryWord): string {
  if (w.prefix) return `${fts(lightStem(w.norm).length >= MIN_PREFIX_STEM ? lightStem(w.norm) : w.norm)}*`;
  if (w.stem.length >= MIN_PREFIX_STEM) return `${fts(w.stem)}*`;
  const forms = shortForms(w);
  return forms.length === 1 ? fts(forms[0]!) : `(${forms.map(fts).join(' OR ')})`;
}

export function ftsPhraseWord(w: QueryWord): string {
  // inside a phrase only one form per position is possible: the stem as a prefix, or the word itself
  return w.stem.length >= MIN_PREFIX_STEM && !FRENCH_STOP_WORDS.has(w.norm) ? `${fts(w.stem)}*` : fts(w.norm);
}

/** The argument of FTS5's MATCH. */
export function toFts5Query(q: ParsedQuery): string {
  const item = (it: QueryItem) => (it.kind === 'word' ? ftsWord(it.word) : it.words.map(ftsPhraseWord).join(' + '));
  const clause = (c: QueryClause) => (c.items.length === 1 ? `(${item(c.items[0]!)})` : `(${c.items.map(item).join(' OR ')})`);
  const required = q.clauses.filter((c) => !c.negated).map(clause).join(' AND ');
  const excluded = q.clauses.filter((c) => c.negated).map((c) => ` NOT ${clause(c)}`);
  return `(${required})${excluded.join('')}`;
}

// --- highlighting --------------------------------------------------------------------------------

export interface Matcher {
  (normalizedToken: string): boolean;
}

/** A predicate telling whether a word of a text matches one of the query's required words. */
export function termMatcher(q: ParsedQuery): Matcher {
  const prefixes: string[] = [];
  const exact = new Set<string>();
  for (const c of q.clauses) {
    if (c.negated) continue;
    for (const it of c.items) {
      for (const w of it.kind === 'word' ? [it.word] : it.words) {
        if (FRENCH_STOP_WORDS.has(w.norm) && !w.prefix) continue;
        const stem = w.prefix ? lightStem(w.norm) : w.stem;
        if (w.prefix) prefixes.push(stem.length >= MIN_PREFIX_STEM ? stem : w.norm);
        else if (stem.length >= MIN_PREFIX_STEM) prefixes.push(stem);
        else for (const f of shortForms(w)) exact.add(f);
      }
    }
  }
  return (token) => exact.has(token) || prefixes.some((p) => token.startsWith(p));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const MARK_OPEN = '<mark>';
export const MARK_CLOSE = '</mark>';

/**
 * The text, HTML-escaped, with the matching words in `<mark>…</mark>`; cut to about `maxLength`
 * characters around the first match (with "…" where cut). Undefined when nothing matches.
 */
export function highlight(text: string, matches: Matcher, maxLength = 0): string | undefined {
  const spans: [number, number][] = [];
  for (const m of wordsOf(text)) {
    if (matches(normalizeText(m[0]))) spans.push([m.index, m.index + m[0].length]);
  }
  if (spans.length === 0) return undefined;
  let from = 0;
  let to = text.length;
  if (maxLength > 0 && text.length > maxLength) {
    const first = spans[0]![0];
    from = Math.max(0, first - Math.floor(maxLength / 3));
    if (from > 0) {
      const space = text.lastIndexOf(' ', from);
      from = space >= 0 && first - space < maxLength / 2 ? space + 1 : from;
    }
    to = Math.min(text.length, from + maxLength);
    if (to < text.length) {
      const space = text.lastIndexOf(' ', to);
      if (space > first) to = space;
    }
  }
  let out = from > 0 ? '…' : '';
  let at = from;
  for (const [a, b] of spans) {
    if (a < from || b > to) continue;
    out += escapeHtml(text.slice(at, a)) + MARK_OPEN + escapeHtml(text.slice(a, b)) + MARK_CLOSE;
    at = b;
  }
  out += escapeHtml(text.slice(at, to));
  if (to < text.length) out += '…';
  return out;
}
