import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { highlight, lightStem, normalizeText, parseQuery, termMatcher, toFts5Query, toTsQuery, MAX_QUERY_WORDS } from '../src/query.ts';
import { editDistance, nameSimilarity } from '../src/names.ts';

describe('query language', () => {
  it('normalises accents, case and ligatures like unaccent and remove_diacritics', () => {
    assert.equal(normalizeText('Réforme ÉNERGIE Cœur Lætitia'), 'reforme energie coeur laetitia');
  });

  it('stems French inflections to a common prefix', () => {
    const stem = (w: string) => lightStem(normalizeText(w));
    for (const group of [
      ['retraite', 'retraites', 'retraité', 'retraitées'],
      ['national', 'nationale', 'nationaux', 'nationales'],
      ['législatif', 'législative', 'législatifs'],
      ['premier', 'première', 'premiers'],
      ['réforme', 'réformes', 'réformer'],
    ]) {
      const stems = group.map(stem);
      for (const [i, w] of group.entries()) assert.ok(normalizeText(w).startsWith(stems[i]!), `${w} starts with its stem`);
      assert.equal(new Set(stems).size, 1, `${group.join(', ')} → ${stems.join(', ')}`);
    }
    assert.equal(stem('loi'), 'loi');
    assert.equal(stem('2024'), '2024');
  });

  it('parses words, phrases, exclusions, OR and the word being typed', () => {
    const q = parseQuery('réforme "assurance chômage" -agricole retraites OR pensions budg');
    assert.equal(toTsQuery(q), "'reforme' & ('assurance' <-> 'chomage') & !'agricole' & ('retraites' | 'pensions') & 'budg':*");
    assert.equal(toFts5Query(q), '(("reform"*) AND ("assuranc"* + "chomag"*) AND ("retrait"* OR "pension"*) AND ("budg"*)) NOT ("agricol"*)');
    assert.deepEqual(parseQuery('le la réforme ').ignored, ['le', 'la']);
    // a word being typed is a prefix from its third letter; shorter, a whole word
    assert.equal(toTsQuery(parseQuery('intelligence IA')), "'intelligence' & 'ia'");
    assert.equal(toTsQuery(parseQuery('réforme ret')), "'reforme' & 'ret':*");
  });

  it('turns query syntax of SQL, tsquery and FTS5 into plain words', () => {
    const samples = ["' OR 1=1 --", 'a:* & b | !c', 'NEAR(a b, 2)', '"unbalanced', '^title:x', '\\\'"', '(((', '\u0000\u0001', '*:*'];
    for (const s of samples) {
      const q = parseQuery(s);
      assert.doesNotMatch(toTsQuery(q).replace(/'[\p{L}\p{N}]+'(:\*)?/gu, ''), /[^ ()&|!<\->]/u, s);
      if (q.clauses.length) assert.doesNotMatch(toFts5Query(q).replace(/"[\p{L}\p{N}]+"\*?/gu, '').replace(/\b(AND|OR|NOT)\b/g, ''), /[^ ()+]/u, s);
    }
    assert.deepEqual(parseQuery('NEAR AND').clauses.length, 2); // words, not operators
  });

  it('caps the number of words and their length', () => {
    const q = parseQuery(Array.from({ length: 50 }, (_, i) => `mot${i}`).join(' '));
    assert.equal(q.clauses.length, MAX_QUERY_WORDS);
    assert.equal(q.ignored.length, 50 - MAX_QUERY_WORDS);
    assert.equal(parseQuery('x'.repeat(500)).clauses[0]!.items[0]!.kind, 'word');
  });

  it('needs a required word: exclusions alone are ignored', () => {
    const q = parseQuery('-retraites -"assurance chômage"');
    assert.equal(q.clauses.length, 0);
    assert.deepEqual(q.ignored, ['retraites', 'assurance', 'chômage']);
  });

  it('highlights the matching words, escaped, around the first match', () => {
    const m = termMatcher(parseQuery('retraites lois '));
    assert.equal(highlight('Les retraités & <la> loi', m), 'Les <mark>retraités</mark> &amp; &lt;la&gt; <mark>loi</mark>');
    assert.equal(highlight('aucun rapport', m), undefined);
    const long = `${'mot '.repeat(100)}retraites ${'fin '.repeat(100)}`;
    const cut = highlight(long, m, 120)!;
    assert.ok(cut.startsWith('…') && cut.endsWith('…') && cut.includes('<mark>retraites</mark>') && cut.length < 160, cut);
  });
});

describe('name similarity', () => {
  it('ranks near spellings first', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.ok(nameSimilarity('affaires socials', 'Commission des affaires sociales') > nameSimilarity('affaires socials', 'Commission des finances'));
    assert.ok(nameSimilarity('berenjer', 'Zoé Bérenger') >= 0.7);
  });
});
