import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommissionSchema, DebateSchema, DeputySchema, replaceTranscript, usePlugin, type EntityManager, type TranscriptSegmentInput } from '@robian/core';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import type { SearchFilters } from '../src/engine.ts';
import { searchPlugin } from '../src/index.ts';
import { runMomentSearch } from '../src/moment-engine.ts';
import { parseQuery } from '../src/query.ts';

interface Moment {
  segment_id: string;
  debate_id: string;
  position: number;
  start_seconds: number;
  end_seconds: number;
  speaker: { name: string | null; deputy_id: string | null; deputy: { slug: string } | null };
  snippet: string;
  score: number | null;
  stream_url: string | null;
  transcript_url: string;
  debate?: { id: string; title: string };
}
interface MomentsBody {
  moments: Moment[];
  total: number;
  total_exact: boolean;
  facets_exact: boolean;
  page: number;
  has_next: boolean;
  facets: { speakers: { name: string; deputy_id: string | null; slug: string | null; count: number }[]; debates: { debate_id: string; title: string; count: number }[] };
  query: { mode: string; phrases: string[] };
}

const ABSURD = ['', '"', '""', '*', ':', 'a:b', '&', '|', '!', '(', ')', 'NEAR(a b)', 'text : x', 'span:réforme', '-', '-réforme', "' OR 1=1 --", '\\', '<->', 'réforme:*A', '{}[]', '%_%', '😀', 'x'.repeat(1000), 'OR OR', '"a" "b" "c"'];

const cue = (start: number, text: string, extra: Partial<TranscriptSegmentInput> = {}): TranscriptSegmentInput => ({ start_seconds: start, end_seconds: start + 4, text, ...extra });

for (const mode of STORAGE_MODES) {
  describe(`moment search on ${mode.name}`, { skip: mode.skip }, () => {
    let host: TestHost;
    const ids: Record<string, number> = {};
    const em = () => host.robian.kernel.orm.em.fork() as unknown as EntityManager;
    const moments = async (qs: string) => {
      const res = await host.request(`/api/search/moments?${qs}`);
      assert.equal(res.status, 200, `${qs}: ${await res.clone().text()}`);
      return (await res.json()) as MomentsBody;
    };
    const write = (debate: string, source: string, segments: TranscriptSegmentInput[]) => replaceTranscript(em(), ids[debate]!, source, segments, { events: host.robian.kernel.events });

    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: [usePlugin(searchPlugin, { exactLimit: 110, momentExactLimit: 100 })] });
      const e = em();
      const affsoc = e.create(CommissionSchema, { source: 'an', externalId: 'PO-M-AFFSOC', name: 'Commission des affaires sociales', shortName: 'Affaires sociales', slug: 'commission-des-affaires-sociales' } as never);
      const curie = e.create(DeputySchema, { source: 'an', externalId: 'PA-M1', firstName: 'Marie', lastName: 'Curie', fullName: 'Marie Curie', slug: 'marie-curie' } as never);
      const jaures = e.create(DeputySchema, { source: 'an', externalId: 'PA-M2', firstName: 'Jean', lastName: 'Jaurès', fullName: 'Jean Jaurès', slug: 'jean-jaures' } as never);
      const seance = e.create(DebateSchema, { title: 'Séance publique du 6 octobre', date: new Date('2026-10-06T15:00:00Z'), type: 'seance_publique', hasAudio: true } as never);
      const commission = e.create(DebateSchema, { title: 'Audition sur la protection sociale', date: new Date('2026-10-08T09:00:00Z'), type: 'commission', commission: affsoc } as never);
      const marathon = e.create(DebateSchema, { title: 'Séance de nuit', date: new Date('2026-09-01T21:00:00Z'), type: 'seance_publique' } as never);
      await e.flush();
      Object.assign(ids, { seance: (seance as { id: number }).id, commission: (commission as { id: number }).id, marathon: (marathon as { id: number }).id, curie: (curie as { id: number }).id, jaures: (jaures as { id: number }).id });
      await write('seance', 'captions', [
        cue(0, 'La séance est ouverte.', { speaker_name: 'Mme la présidente' }),
        cue(4, 'Nous examinons aujourd’hui la réforme', { deputy_external_id: 'PA-M1', speaker_name: 'Marie Curie' }),
        cue(8, 'des retraites et ses conséquences pour les retraités agricoles.', { deputy_external_id: 'PA-M1', speaker_name: 'Marie Curie' }),
        cue(612.4, 'Le financement des pensions reste à trouver.', { deputy_external_id: 'PA-M2', speaker_name: 'Jean Jaurès' }),
        cue(616.4, 'Les hôpitaux publics manquent de moyens.', { deputy_external_id: 'PA-M2', speaker_name: 'Jean Jaurès' }),
      ]);
      // two sources: the captions are indexed, not the compte rendu
      await write('commission', 'compte_rendu', [cue(0, 'Compte rendu : la réforme des retraites est évoquée par Jean Jaurès.', { deputy_external_id: 'PA-M2' })]);
      await write('commission', 'captions', [
        cue(30, 'Je voudrais parler de la réforme des retraites.', { deputy_external_id: 'PA-M2', speaker_name: 'Jean Jaurès' }),
        cue(34, 'Et aussi de la protection sociale des indépendants.', { deputy_external_id: 'PA-M1', speaker_name: 'Marie Curie' }),
      ]);
      // more debates than the debates' exact limit (110) match "questions"
      for (let i = 0; i < 120; i++) e.create(DebateSchema, { title: `Questions écrites n° ${i + 1}`, date: new Date(Date.UTC(2025, 0, 1 + i)), type: 'autre' } as never);
      await e.flush();
      // more matches than the moments' exact limit (100)
      await write('marathon', 'captions', Array.from({ length: 150 }, (_, i) => cue(i * 5, `Amendement numéro ${i + 1} sur la séance de nuit.`, { speaker_name: 'M. le président' })));
    });
    after(() => host.close());

    it('finds a phrase spoken across two cues, at the first cue, lasting until the end of the second', async () => {
      const body = await moments(`q=${encodeURIComponent('"réforme des retraites"')}`);
      const seance = body.moments.filter((m) => m.debate_id === String(ids.seance));
      assert.equal(seance.length, 1, JSON.stringify(body.moments));
      assert.deepEqual([seance[0]!.position, seance[0]!.start_seconds, seance[0]!.end_seconds], [1, 4, 12]);
      assert.match(seance[0]!.snippet, /<mark>réforme<\/mark> des <mark>retraites<\/mark>/);
      // the commission's captions say it in one cue; its compte rendu is not indexed (captions are preferred)
      const commission = body.moments.filter((m) => m.debate_id === String(ids.commission));
      assert.deepEqual(commission.map((m) => m.start_seconds), [30]);
      assert.equal(body.total, 2);
      assert.deepEqual(body.query.phrases, ['reforme des retraites']);
    });

    it('matches a single word in the cue that says it, never in the cue before', async () => {
      const body = await moments('q=conséquences');
      assert.deepEqual(body.moments.map((m) => [m.debate_id, m.position]), [[String(ids.seance), 2]]);
      // accents, case and stemming: "RETRAITÉ" finds retraites and retraités
      const stemmed = await moments(`q=${encodeURIComponent('RETRAITÉ')}&prefix=false`);
      assert.ok(stemmed.moments.some((m) => m.debate_id === String(ids.seance) && m.position === 2));
      // a prefix while typing, an exclusion
      assert.ok((await moments('q=hôpit')).moments.some((m) => m.position === 4));
      const excluded = await moments(`q=${encodeURIComponent('retraites -agricoles')}`);
      assert.ok(!excluded.moments.some((m) => m.debate_id === String(ids.seance) && m.position === 2));
      assert.ok(excluded.moments.some((m) => m.debate_id === String(ids.commission)));
    });

    it('filters by speaker ("said by"), committee and type, with facets by speaker and debate', async () => {
      const all = await moments(`q=${encodeURIComponent('retraites')}`);
      assert.ok(all.moments.length >= 2);
      for (const depute of ['marie-curie', 'PA-M1', String(ids.curie)]) {
        const body = await moments(`q=${encodeURIComponent('retraites')}&depute=${encodeURIComponent(depute)}`);
        assert.ok(body.moments.length >= 1, depute);
        for (const m of body.moments) assert.equal(m.speaker.deputy_id, String(ids.curie), depute);
      }
      const jaures = await moments(`q=protection&depute=jean-jaures`);
      assert.deepEqual(jaures.moments, [], 'Marie Curie said it, not Jean Jaurès');
      const affsoc = await moments(`q=retraites&commission=${encodeURIComponent('Affaires sociales')}`);
      assert.deepEqual([...new Set(affsoc.moments.map((m) => m.debate_id))], [String(ids.commission)]);
      const type = await moments('q=retraites&type=seance_publique');
      assert.deepEqual([...new Set(type.moments.map((m) => m.debate_id))], [String(ids.seance)]);
      assert.deepEqual((await moments('q=retraites&depute=nobody-at-all')).total, 0);
      const facets = await moments('q=retraites');
      const curie = facets.facets.speakers.find((s) => s.deputy_id === String(ids.curie));
      assert.equal(curie?.slug, 'marie-curie');
      assert.equal(facets.facets.speakers.reduce((n, s) => n + s.count, 0), facets.total);
      assert.equal(facets.facets.debates.reduce((n, d) => n + d.count, 0), facets.total);
      assert.ok(facets.facets.debates.every((d) => d.title.length > 0));
    });

    it('gives each moment a stream URL that starts within a second of it (a media fragment), null without audio', async () => {
      const body = await moments('q=financement');
      const m = body.moments[0]!;
      assert.equal(m.start_seconds, 612.4);
      const url = new URL(m.stream_url!, host.url);
      assert.equal(url.pathname, `/api/debats/${ids.seance}/audio`);
      const t = Number(/^#t=([\d.]+)$/.exec(url.hash)?.[1]);
      assert.ok(Math.abs(t - m.start_seconds) < 1, url.hash);
      const noAudio = await moments('q=indépendants');
      assert.equal(noAudio.moments[0]?.stream_url, null);
      assert.equal(noAudio.moments[0]?.debate?.title, 'Audition sur la protection sociale');
    });

    it('adds the best moments to the hits of /api/search', async () => {
      // a debate found by its title shows the moments that say any of the words, best first
      const res = await host.request('/api/search?q=s%C3%A9ance');
      assert.equal(res.status, 200);
      const body = (await res.json()) as { debates: { id: string | number; moments: Moment[] }[] };
      const seance = body.debates.find((d) => String(d.id) === String(ids.seance));
      assert.ok(seance, JSON.stringify(body));
      assert.deepEqual(seance.moments.map((m) => m.position), [0]);
      assert.ok(seance.moments.every((m) => m.debate_id === String(ids.seance) && m.stream_url?.includes('#t=') && m.snippet.includes('<mark>séance</mark>')));
      const marathon = body.debates.find((d) => String(d.id) === String(ids.marathon));
      assert.equal(marathon?.moments.length, 3, 'at most three per debate');
      // "said by" narrows the moments too
      const said = (await (await host.request('/api/search?q=s%C3%A9ance&depute=marie-curie')).json()) as typeof body;
      for (const d of said.debates) for (const m of d.moments) assert.equal(m.speaker.deputy_id, String(ids.curie));
    });

    it('counts exactly up to the limit, then says the total and facets are a lower bound', async () => {
      const broad = await moments('q=amendement&per_page=10');
      assert.equal(broad.total_exact, false);
      assert.equal(broad.facets_exact, false);
      assert.equal(broad.total, 101, 'at least the limit + 1');
      assert.equal(broad.facets.debates[0]?.count, 101);
      assert.equal(broad.moments.length, 10);
      assert.equal(broad.has_next, true);
      const narrow = await moments(`q=${encodeURIComponent('"amendement numéro 42"')}`);
      assert.equal(narrow.total_exact, true);
      assert.deepEqual(narrow.moments.map((m) => m.position), [41]);
    });

    it('bounds broad debate searches (a flagged lower bound), stays exact for narrow queries', async () => {
      // PostgreSQL bounds a query it expects to match more than the limit — and enough of the table
      // that walking it to the limit pays (matches² > limit × rows: 120² > 110 × ~125) —: its estimate comes from
      // the statistics of the text index, which a fresh table has not got yet (autovacuum gathers them);
      // SQLite bounds any query that has more matches than the limit
      const fresh = (await (await host.request('/api/search?q=questions&per_page=4')).json()) as { total: number; total_exact: boolean };
      if (mode.name === 'sqlite') assert.deepEqual([fresh.total, fresh.total_exact], [111, false]);
      else assert.deepEqual([fresh.total, fresh.total_exact], [120, true], 'without statistics: the exact statements, exact beyond the limit');
      if (mode.name !== 'sqlite') await em().getConnection().execute('analyze search_debate');
      const body = (await (await host.request('/api/search?q=questions&per_page=5')).json()) as { total: number; total_exact: boolean; facets_exact: boolean; debates: { title: string }[]; facets: { types: { value: string; count: number }[] } };
      // the debates' limit (110), not the moments' (100)
      assert.deepEqual([body.total, body.total_exact, body.facets_exact], [111, false, false]);
      assert.equal(body.facets.types.reduce((n, t) => n + t.count, 0), 111);
      if (mode.name === 'sqlite') {
        // the candidates are the matches indexed last: the 111 highest ids of the 120 (n° 10 to 120)
        const all = (await (await host.request('/api/search?q=questions&per_page=100&sort_by=date&sort_order=asc')).json()) as typeof body;
        assert.equal(all.debates[0]?.title, 'Questions écrites n° 10');
      }
      assert.equal(body.debates.length, 5);
      const narrow = (await (await host.request(`/api/search?q=${encodeURIComponent('"questions écrites n° 7"')}`)).json()) as typeof body;
      assert.deepEqual([narrow.total, narrow.total_exact, narrow.debates[0]?.title], [1, true, 'Questions écrites n° 7']);
    });

    it('follows the transcripts: a replaced source, a removed one, a debate that moves', async () => {
      await write('commission', 'captions', []);
      // the captions went: the compte rendu is now the indexed source
      const body = await moments(`q=${encodeURIComponent('"réforme des retraites"')}&commission=PO-M-AFFSOC`);
      assert.deepEqual(body.moments.map((m) => m.start_seconds), [0]);
      await write('commission', 'captions', [cue(30, 'Je voudrais parler de la réforme des retraites.', { deputy_external_id: 'PA-M2' })]);
      assert.deepEqual((await moments(`q=retraites&commission=PO-M-AFFSOC`)).moments.map((m) => m.start_seconds), [30]);
      await em().nativeUpdate(DebateSchema, { id: ids.commission } as never, { date: new Date('2020-01-01T09:00:00Z') } as never);
      assert.equal((await moments(`q=retraites&commission=PO-M-AFFSOC&date_end=2021-01-01`)).total, 1);
    });

    it('never answers 500, whatever the query', async () => {
      for (const q of ABSURD) {
        const res = await host.request(`/api/search/moments?q=${encodeURIComponent(q)}`);
        assert.ok(res.status === 200 || res.status === 422, `${JSON.stringify(q)} → ${res.status}`);
      }
      assert.equal((await host.request('/api/search/moments?q=x&per_page=1000')).status, 422);
      assert.equal((await host.request('/api/search/moments?q=x&page=0')).status, 422);
    });

    it('walks a window of the most recent moments for words common apart and rare together (PostgreSQL), exact on SQLite', async () => {
      const e = em();
      const recent = e.create(DebateSchema, { title: 'Séance sur les tarifs', date: new Date('2026-11-20T15:00:00Z'), type: 'seance_publique' } as never);
      const old = e.create(DebateSchema, { title: 'Séance de 2019', date: new Date('2019-03-01T15:00:00Z'), type: 'seance_publique' } as never);
      await e.flush();
      Object.assign(ids, { recent: (recent as { id: number }).id, old: (old as { id: number }).id });
      // "barème" and "douanier" each in half of the recent sitting's cues, together in one of them
      await write('recent', 'captions', Array.from({ length: 150 }, (_, i) => cue(i * 5, i === 10 ? 'Un barème douanier nouveau.' : i % 2 ? 'Le contrôle douanier frontalier.' : 'Le barème des quotas.')));
      await write('old', 'captions', [cue(0, 'Le barème douanier de 2019.'), cue(5, 'Le barème douanier, encore.'), cue(10, 'Le barème frontalier de 2019.'), cue(15, 'Le barème frontalier, encore.')]);
      if (mode.name !== 'sqlite') await e.getConnection().execute('analyze search_moment');
      // a candidate set of 3 and a window of 3 × 64 = 192 moments: the recent sitting and the moments
      // just before it, not 2019's
      const search = (q: string, filters: SearchFilters = {}) => runMomentSearch(em(), mode.name === 'sqlite' ? 'sqlite' : 'postgresql', { query: parseQuery(q, {}), filters, page: 1, perPage: 10, exactLimit: 2 });
      const together = await search('barème douanier');
      const oldOnly = await search('barème frontalier');
      const inWindow = await search('barème douanier', { date_start: new Date('2026-11-15T00:00:00Z') } as SearchFilters);
      if (mode.name === 'sqlite') {
        assert.deepEqual([together.total, together.total_exact], [3, false], 'the 3 most recent of the 3 matches: a full candidate set');
        assert.deepEqual([oldOnly.total, oldOnly.total_exact], [2, true]);
      } else {
        // the window holds one of the three: a lower bound, from the most recent moments
        assert.deepEqual([together.total, together.total_exact], [1, false]);
        assert.deepEqual(together.hits.map((h) => h.debate_id), [ids.recent]);
        // nothing in the window: the whole table is searched, and the answer is exact
        assert.deepEqual([oldOnly.total, oldOnly.total_exact, oldOnly.hits.map((h) => h.debate_id)], [2, true, [ids.old, ids.old]]);
      }
      // every moment the filters pass is inside the window: exact
      assert.deepEqual([inWindow.total, inWindow.total_exact], [1, true]);
    });
  });
}
