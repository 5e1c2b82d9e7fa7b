import { FRENCH_STOP_WORDS, ftsPhraseWord, ftsWord, pgLexeme, type ParsedQuery, type QueryClause, type QueryItem, type QueryWord } from './query.ts';

/*
 * The query language of moments is that of debates (query.ts), compiled so that a phrase may run
 * from a moment's own text into the beginning of the next cue, and nothing else does:
 * - a single word must be in the moment's own text (PostgreSQL: weight A; SQLite: column `text`);
 * - a phrase must start in it (PostgreSQL: its first meaningful word has weight A, the others any
 *   weight; SQLite: the phrase is matched in column `span`, own text and next cue together);
 * - exclusions apply to the own text.
 * So the words of cue i+1 make a moment of cue i only when a phrase started in cue i.
 */

const weighted = (w: QueryWord) => pgLexeme(w).replace(/(:\*)?$/, (m) => (m ? ':*A' : ':A'));

/** The argument of `to_tsquery('french', …)` over `search_moment.document`. */
export function toMomentTsQuery(q: ParsedQuery): string {
  const item = (it: QueryItem) => {
    if (it.kind === 'word') return weighted(it.word);
    const first = it.words.findIndex((w) => !FRENCH_STOP_WORDS.has(w.norm));
    return `(${it.words.map((w, i) => (i === first ? weighted(w) : pgLexeme(w))).join(' <-> ')})`;
  };
  return q.clauses
    .map((c) => {
      const body = c.items.length === 1 ? item(c.items[0]!) : `(${c.items.map(item).join(' | ')})`;
      return c.negated ? `!${body}` : body;
    })
    .join(' & ');
}

/** The argument of FTS5's MATCH over `search_moment_fts` (columns `text` and `span`). */
export function toMomentFts5Query(q: ParsedQuery): string {
  const item = (it: QueryItem) => (it.kind === 'word' ? `text : (${ftsWord(it.word)})` : `span : (${it.words.map(ftsPhraseWord).join(' + ')})`);
  const clause = (c: QueryClause) => (c.items.length === 1 ? `(${item(c.items[0]!)})` : `(${c.items.map(item).join(' OR ')})`);
  const required = q.clauses.filter((c) => !c.negated).map(clause).join(' AND ');
  const excluded = q.clauses.filter((c) => c.negated).map((c) => ` NOT ${clause(c)}`);
  return `(${required})${excluded.join('')}`;
}
