import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommissionSchema, DeputySchema, checkSchema, coreMigrations, slugify, type EntityManager } from '@robian/core';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { searchPlugin } from '../src/index.ts';

/** What an importer says when it is done (the core's ImportCompletedEvent), for a test source. */
const importDone = () => {
  const none = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  return { source: 'test', report: { commissions: none, deputies: none, debates: none, problems: [] }, changedDebateIds: [], removedDebateIds: [] };
};

interface Hit {
  id: number;
  external_id: string;
  title: string;
  score: number | null;
  highlights: { field: string; snippet: string }[];
  commission: string | null;
  committee: { name: string } | null;
  speakers: string[];
  deputies: { full_name: string }[];
}
interface SearchBody {
  debates: Hit[];
  total: number;
  page: number;
  per_page: number;
  has_next: boolean;
  has_prev: boolean;
  facets: { commissions: { id: number; name: string; slug: string; count: number }[]; types: { value: string; count: number }[]; years: { value: number; count: number }[] };
  query: { q: string; mode: string; terms: string[]; phrases: string[]; excluded: string[]; prefix: string | null; ignored: string[] };
}

const COMMISSIONS = [
  { externalId: 'PO-T-AFFSOC', name: 'Commission des affaires sociales', shortName: 'Affaires sociales' },
  { externalId: 'PO-T-FIN', name: 'Commission des finances, de l’économie générale et du contrôle budgétaire', shortName: 'Finances' },
  { externalId: 'PO-T-LOIS', name: 'Commission des lois constitutionnelles, de la législation et de l’administration générale de la République', shortName: 'Lois' },
];
const DEPUTIES = [
  { externalId: 'PA-T1', firstName: 'Hélène', lastName: 'Côté' },
  { externalId: 'PA-T2', firstName: 'François', lastName: 'Lemaître' },
  { externalId: 'PA-T3', firstName: 'Zoé', lastName: 'Bérenger' },
  { externalId: 'PA-T4', firstName: 'Jérôme', lastName: 'Dupont' },
];
type Seed = {
  id: string;
  title: string;
  type: string;
  date: string;
  commission?: string;
  speakers?: string[];
  description?: string;
  agenda_points?: string[];
  keywords?: string[];
  tags?: string[];
};
const DEBATES: Seed[] = [
  { id: 'T1', title: 'Réforme des retraites : examen du projet de loi', type: 'commission', date: '2023-02-06', commission: 'PO-T-AFFSOC', speakers: ['PA-T1', 'PA-T2'], agenda_points: ['Projet de loi de financement rectificative de la sécurité sociale'], keywords: ['retraite', 'âge légal'] },
  { id: 'T2', title: 'Questions au Gouvernement sur les pensions de retraite', type: 'question_gouvernement', date: '2023-03-14', speakers: ['PA-T4'], keywords: ['pensions'] },
  { id: 'T3', title: 'Projet de loi de finances pour 2024 : seconde partie', type: 'seance_publique', date: '2023-11-07', speakers: ['PA-T3'], agenda_points: ['Mission « Écologie, développement et mobilité durables »'], description: 'Crédits de la mission, dont le soutien à la filière nucléaire.' },
  { id: 'T4', title: 'Audition du ministre de l’Économie', type: 'audition', date: '2024-01-17', commission: 'PO-T-FIN', speakers: ['PA-T2'] },
  { id: 'T5', title: 'Réformes constitutionnelles et Conseil constitutionnel', type: 'commission', date: '2024-05-22', commission: 'PO-T-LOIS', description: 'La commission examine les propositions de loi constitutionnelle. ' + 'Les rapporteurs présentent leurs travaux sur le contrôle de constitutionnalité. '.repeat(6) + 'Le débat porte enfin sur le référendum d’initiative partagée.' },
  { id: 'T6', title: 'Les retraités agricoles et la revalorisation des pensions', type: 'commission', date: '2024-06-12', commission: 'PO-T-AFFSOC', speakers: ['PA-T1'] },
  { id: 'T7', title: 'Hôpital public : accès aux soins dans les territoires ruraux', type: 'commission', date: '2025-01-15', commission: 'PO-T-AFFSOC', keywords: ['santé', 'hôpital'], tags: ['urgences'] },
  { id: 'T8', title: 'Énergie nucléaire et transition écologique', type: 'audition', date: '2025-03-04', description: 'Table ronde sur la relance du nucléaire civil.' },
  { id: 'T9', title: 'Sécurité intérieure : audition du préfet de police', type: 'audition', date: '2025-02-11', commission: 'PO-T-LOIS', speakers: ['PA-T4'] },
  { id: 'T10', title: 'Budget de la Sécurité sociale', type: 'seance_publique', date: '2024-10-28', speakers: ['PA-T1'], keywords: ['PLFSS'] },
  { id: 'T11', title: 'Cœur de ville : revitalisation des centres-bourgs', type: 'autre', date: '2025-04-01' },
  { id: 'T12', title: 'Débat sur l’état de la réforme de l’assurance chômage', type: 'seance_publique', date: '2024-09-10' },
  { id: 'T13', title: 'Loi « Travail » & <dialogue social>', type: 'seance_publique', date: '2022-05-03' },
  { id: 'T14', title: 'Séance de questions orales sans débat', type: 'seance_publique', date: '2022-01-10' },
  { id: 'T15', title: 'Séance de questions orales sans débat', type: 'seance_publique', date: '2022-06-20' },
];

const ABSURD = [
  '',
  '   ',
  '"',
  '""',
  '"réforme',
  'réforme"',
  '*',
  '***',
  ':',
  'a:b',
  '&',
  '|',
  '!',
  '!!!',
  '(',
  ')',
  '(réforme',
  'NEAR',
  'NEAR(réforme retraites)',
  'réforme NEAR/2 retraites',
  'AND',
  'réforme AND',
  'OR',
  'OR OR OR',
  'réforme OR',
  '-',
  '--',
  '-réforme',
  "' OR 1=1 --",
  "'; drop table debate; --",
  '\\',
  "'''",
  '<->',
  'réforme <-> retraites',
  'réforme:*',
  'retraite:A',
  '^réforme',
  'title:réforme',
  '{}[]',
  '%',
  '_',
  '%_%',
  '\u0000',
  '😀 réforme 🎉',
  'ﬁnances',
  '  retraites  ',
  '?????',
  'réforme '.repeat(120),
  'x'.repeat(1000),
];

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

for (const mode of STORAGE_MODES) {
  describe(`plugin-search on ${mode.name}`, { skip: mode.skip }, () => {
    let host: TestHost;
    const debateIds = new Map<string, number>();
    const commissionIds = new Map<string, number>();
    const deputyIds = new Map<string, number>();

    const search = async (params: Record<string, string | number | boolean>): Promise<SearchBody> => {
      const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
      const res = await host.request(`/api/search?${qs}`);
      assert.equal(res.status, 200, `GET /api/search?${qs} → ${res.status}: ${await res.clone().text()}`);
      return json<SearchBody>(res);
    };
    const found = async (q: string, extra: Record<string, string | number | boolean> = {}) =>
      (await search({ q, per_page: 100, ...extra })).debates.map((d) => d.external_id).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    const em = () => host.robian.kernel.orm.em.fork() as unknown as EntityManager;

    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: [searchPlugin] });
      const manager = em();
      for (const c of COMMISSIONS) {
        const row = manager.create(CommissionSchema, { source: 'test', externalId: c.externalId, name: c.name, shortName: c.shortName, slug: slugify(c.shortName), kind: 'COMPER' } as never);
        await manager.flush();
        commissionIds.set(c.externalId, (row as { id: number }).id);
      }
      for (const d of DEPUTIES) {
        const fullName = `${d.firstName} ${d.lastName}`;
        const row = manager.create(DeputySchema, { source: 'test', externalId: d.externalId, firstName: d.firstName, lastName: d.lastName, fullName, slug: slugify(fullName) } as never);
        await manager.flush();
        deputyIds.set(d.externalId, (row as { id: number }).id);
      }
      for (const d of DEBATES) {
        const res = await host.request('/api/debats/', {
          method: 'POST',
          admin: true,
          json: {
            title: d.title,
            type: d.type,
            status: 'termine',
            date: `${d.date}T14:00:00Z`,
            source: 'test',
            external_id: d.id,
            ...(d.description ? { description: d.description } : {}),
            ...(d.agenda_points ? { agenda_points: d.agenda_points } : {}),
            ...(d.keywords ? { keywords: d.keywords } : {}),
            ...(d.tags ? { tags: d.tags } : {}),
            ...(d.commission ? { commission_id: commissionIds.get(d.commission) } : {}),
            ...(d.speakers ? { speaker_ids: d.speakers.map((s) => deputyIds.get(s)) } : {}),
          },
        });
        const text = await res.text();
        assert.equal(res.status, 201, text);
        debateIds.set(d.id, (JSON.parse(text) as { id: number }).id);
      }
    });
    after(async () => {
      await host?.close();
    });

    it('leaves no drift between the entities and the schema (the index lives outside the metadata)', async () => {
      const check = await checkSchema(host.robian.kernel.orm);
      assert.deepEqual(check.pending, []);
      assert.ok(check.executed.includes('search-0001-index'));
      assert.equal(check.drift, '');
      const status = await host.robian.kernel.services.get('search').status();
      assert.deepEqual(status, { debates: DEBATES.length, indexed: DEBATES.length });
    });

    it('ignores accents and case', async () => {
      assert.deepEqual(await found('reforme'), ['T1', 'T5', 'T12']);
      assert.deepEqual(await found('RÉFORME '), ['T1', 'T5', 'T12']);
      assert.deepEqual(await found('hopital public'), ['T7']);
      assert.deepEqual(await found('ENERGIE'), ['T8']);
    });

    it('stems French words', async () => {
      // retraites ↔ retraite ↔ retraités
      assert.deepEqual(await found('retraites '), ['T1', 'T2', 'T6']);
      assert.deepEqual(await found('retraite '), ['T1', 'T2', 'T6']);
      assert.deepEqual(await found('réformes '), ['T1', 'T5', 'T12']);
      assert.deepEqual(await found('pension '), ['T2', 'T6']);
    });

    it('spells ligatures out', async () => {
      assert.deepEqual(await found('coeur '), ['T11']);
      assert.deepEqual(await found('Cœur '), ['T11']);
    });

    it('matches phrases in quotes, in order', async () => {
      assert.deepEqual(await found('"réforme des retraites"'), ['T1']);
      assert.deepEqual(await found('"retraites réforme"'), []);
      assert.deepEqual(await found('"transition écologique"'), ['T8']);
      const body = await search({ q: '"réforme des retraites"' });
      assert.deepEqual(body.query.phrases, ['reforme des retraites']);
    });

    it('completes the last word as a prefix while typing', async () => {
      assert.deepEqual(await found('réfor'), ['T1', 'T5', 'T12']);
      assert.deepEqual(await found('hôpi'), ['T7']);
      assert.deepEqual(await found('retraites agri'), ['T6']);
      const typing = await search({ q: 'transition écolo' });
      assert.equal(typing.query.prefix, 'ecolo');
      assert.deepEqual(typing.debates.map((d) => d.external_id), ['T8']);
      // a space after the word: it is complete, not a prefix
      assert.deepEqual(await found('hôp'), ['T7']);
      assert.deepEqual(await found('hôp '), []);
      assert.equal((await search({ q: 'hôp ' })).query.prefix, null);
      // prefix=false: the last word is whole even without a space
      assert.deepEqual(await found('hôp', { prefix: false }), []);
      assert.equal((await search({ q: 'hôp', prefix: false })).query.prefix, null);
    });

    it('excludes with -word and accepts OR', async () => {
      assert.deepEqual(await found('retraites -agricoles'), ['T1', 'T2']);
      assert.deepEqual(await found('nucléaire OR chômage'), ['T3', 'T8', 'T12']);
    });

    it('searches agenda points, keywords, tags, committee names and speakers', async () => {
      assert.deepEqual(await found('mobilité durable'), ['T3']);
      assert.deepEqual(await found('PLFSS'), ['T10']);
      assert.deepEqual(await found('urgences'), ['T7']);
      assert.deepEqual(await found('affaires sociales'), ['T1', 'T6', 'T7']);
      assert.deepEqual(await found('lemaitre'), ['T1', 'T4']);
      assert.deepEqual(await found('Hélène Côté'), ['T1', 'T6', 'T10']);
    });

    it('ranks by relevance, then by date', async () => {
      // a title match outranks a description match
      const nuc = await search({ q: 'nucléaire ' });
      assert.deepEqual(nuc.debates.map((d) => d.external_id), ['T8', 'T3']);
      assert.ok(nuc.debates[0]!.score! > nuc.debates[1]!.score!);
      // equal relevance: the most recent first
      const same = await search({ q: 'questions orales', sort_by: 'relevance' });
      assert.deepEqual(same.debates.map((d) => d.external_id), ['T15', 'T14']);
      assert.equal(same.debates[0]!.score, same.debates[1]!.score);
      // another order on request
      const byDate = await search({ q: 'retraites ', sort_by: 'date', sort_order: 'asc' });
      assert.deepEqual(byDate.debates.map((d) => d.external_id), ['T1', 'T2', 'T6']);
    });

    it('applies the filters of /api/debats/', async () => {
      assert.deepEqual(await found('retraites ', { type: 'commission' }), ['T1', 'T6']);
      assert.deepEqual(await found('retraites ', { commission: 'affaires-sociales' }), ['T1', 'T6']);
      assert.deepEqual(await found('retraites ', { commission: 'PO-T-AFFSOC', date_start: '2024-01-01' }), ['T6']);
      assert.deepEqual(await found('retraites ', { date_end: '2023-03-14' }), ['T1', 'T2']);
      assert.deepEqual(await found('retraites ', { depute: 'PA-T4' }), ['T2']);
      assert.deepEqual(await found('retraites ', { depute: 'francois-lemaitre' }), ['T1']);
      assert.deepEqual(await found('retraites ', { has_audio: true }), []);
      assert.deepEqual(await found('retraites ', { has_audio: false, status: 'termine' }), ['T1', 'T2', 'T6']);
      const bad = await host.request('/api/search?q=x&type=nope');
      assert.equal(bad.status, 422);
      const problem = (await bad.json()) as { errors: { field: string }[] };
      assert.equal(problem.errors[0]!.field, 'type');
      assert.equal((await host.request('/api/search?q=x&date_start=2025-01-01&date_end=2024-01-01')).status, 422);
    });

    it('counts facets over the whole result set', async () => {
      const body = await search({ q: 'retraites ', per_page: 1 });
      assert.equal(body.total, 3);
      assert.deepEqual(body.facets.types, [
        { value: 'commission', count: 2 },
        { value: 'question_gouvernement', count: 1 },
      ]);
      assert.deepEqual(
        body.facets.commissions.map((c) => [c.name, c.slug, c.count]),
        [['Commission des affaires sociales', 'affaires-sociales', 2]],
      );
      assert.deepEqual(body.facets.years, [
        { value: 2024, count: 1 },
        { value: 2023, count: 2 },
      ]);
      // without words: every debate (matching the filters), newest first
      const all = await search({ per_page: 5 });
      assert.equal(all.query.mode, 'browse');
      assert.equal(all.total, DEBATES.length);
      assert.equal(all.debates[0]!.external_id, 'T11');
      assert.equal(all.facets.types.reduce((n, t) => n + t.count, 0), DEBATES.length);
      const audits = await search({ type: 'audition' });
      assert.deepEqual(audits.facets.types, [{ value: 'audition', count: 3 }]);
    });

    it('paginates like /api/debats/', async () => {
      const seen: string[] = [];
      for (let page = 1; page <= 3; page++) {
        const body = await search({ q: 'retraites ', per_page: 1, page });
        assert.equal(body.total, 3);
        assert.equal(body.page, page);
        assert.equal(body.per_page, 1);
        assert.equal(body.has_prev, page > 1);
        assert.equal(body.has_next, page < 3);
        assert.equal(body.debates.length, 1);
        seen.push(body.debates[0]!.external_id);
      }
      assert.deepEqual(seen.sort(), ['T1', 'T2', 'T6']);
      const beyond = await search({ q: 'retraites ', per_page: 1, page: 9 });
      assert.deepEqual(beyond.debates, []);
      assert.equal(beyond.total, 3);
      assert.equal(beyond.has_next, false);
      assert.equal((await host.request('/api/search?q=x&per_page=101')).status, 422);
      assert.equal((await host.request('/api/search?q=x&page=0')).status, 422);
    });

    it('returns each hit as a debate with highlighted snippets', async () => {
      const body = await search({ q: 'retraités' });
      const t6 = body.debates.find((d) => d.external_id === 'T6')!;
      assert.equal(t6.title, 'Les retraités agricoles et la revalorisation des pensions');
      assert.equal(t6.commission, 'Commission des affaires sociales');
      assert.equal(t6.committee?.name, 'Commission des affaires sociales');
      assert.deepEqual(t6.speakers, ['Hélène Côté']);
      assert.deepEqual(t6.deputies.map((s) => s.full_name), ['Hélène Côté']);
      assert.deepEqual(t6.highlights, [{ field: 'title', snippet: 'Les <mark>retraités</mark> agricoles et la revalorisation des pensions' }]);
      const t1 = body.debates.find((d) => d.external_id === 'T1')!;
      assert.deepEqual(
        t1.highlights.map((h) => h.field),
        ['title', 'keywords'],
      );
      // long descriptions are cut around the match; markup in the text is escaped
      const referendum = await search({ q: 'référendum' });
      const snippet = referendum.debates[0]!.highlights.find((h) => h.field === 'description')!.snippet;
      assert.match(snippet, /^….*<mark>référendum<\/mark> d’initiative partagée\.$/);
      assert.ok(snippet.length < 300);
      const escaped = await search({ q: 'dialogue' });
      assert.deepEqual(escaped.debates[0]!.highlights, [{ field: 'title', snippet: 'Loi « Travail » &amp; &lt;<mark>dialogue</mark> social&gt;' }]);
      const bySpeaker = await search({ q: 'Bérenger' });
      assert.deepEqual(bySpeaker.debates[0]!.highlights, [{ field: 'speakers', snippet: 'Zoé <mark>Bérenger</mark>' }]);
      const byCommittee = await search({ q: 'constitutionnelles lois' });
      assert.ok(byCommittee.debates.some((d) => d.highlights.some((h) => h.field === 'commission' && h.snippet.includes('<mark>lois</mark>'))));
    });

    it('never answers a 500 to an absurd query', async () => {
      for (const q of ABSURD) {
        for (const extra of ['', '&type=commission&commission=lois&depute=x']) {
          const res = await host.request(`/api/search?q=${encodeURIComponent(q)}${extra}`);
          // control characters are refused by every route (core, issue #11): a 422 naming q
          if (q.includes('\u0000')) {
            assert.equal(res.status, 422);
            assert.equal((await json<{ errors: { field: string }[] }>(res)).errors[0]?.field, 'q');
            continue;
          }
          assert.equal(res.status, 200, `q=${JSON.stringify(q.slice(0, 40))}${extra} → ${res.status} ${await res.clone().text()}`);
          const body = await json<SearchBody>(res);
          assert.ok(Array.isArray(body.debates) && typeof body.total === 'number');
        }
      }
      // SQL in the query is text: nothing matches, nothing breaks
      assert.deepEqual(await found("' OR 1=1 --"), []);
      assert.deepEqual(await found('réforme:*'), ['T1', 'T5', 'T12']);
      assert.deepEqual(await found('NEAR(réforme retraites)'), []);
      // only punctuation or only stop words: no search words, the filters alone apply
      const punct = await search({ q: '!!! *** ((' });
      assert.equal(punct.query.mode, 'browse');
      assert.equal(punct.total, DEBATES.length);
      const stop = await search({ q: 'le la de ' });
      assert.equal(stop.query.mode, 'browse');
      assert.deepEqual(stop.query.ignored, ['le', 'la', 'de']);
      // too long: a 422 naming the field, not a 500
      const long = await host.request(`/api/search?q=${'x'.repeat(1001)}`);
      assert.equal(long.status, 422);
      assert.equal(((await long.json()) as { errors: { field: string }[] }).errors[0]!.field, 'q');
    });

    it('survives random input (seeded fuzz over query syntax characters)', async () => {
      let seed = 20261125;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const pieces = ['"', "'", '*', ':', '&', '|', '!', '(', ')', '-', '–', '^', '+', '<', '>', '\\', '%', '_', ' ', ' ', ' ', 'OR', 'AND', 'NOT', 'NEAR', 'é', 'œ', 'a', 'l’', 'retraite', 'réforme', '1', '\u00a0', '/', '.', ',', ';', '{', '}', '[', ']', '~', '@', '#', '$'];
      for (let i = 0; i < 150; i++) {
        const length = 1 + Math.floor(random() * 16);
        let q = '';
        for (let j = 0; j < length; j++) q += pieces[Math.floor(random() * pieces.length)];
        const res = await host.request(`/api/search?q=${encodeURIComponent(q)}&per_page=3`);
        assert.equal(res.status, 200, `q=${JSON.stringify(q)} → ${res.status} ${await res.clone().text()}`);
      }
    });

    it('keeps the index in step with creates, updates and deletes', async () => {
      assert.deepEqual(await found('ornithologie'), []);
      const created = await host.request('/api/debats/', {
        method: 'POST',
        admin: true,
        json: { title: 'Ornithologie et biodiversité', type: 'autre', date: '2025-05-05', source: 'test', external_id: 'T90' },
      });
      assert.equal(created.status, 201);
      const id = ((await created.json()) as { id: number }).id;
      assert.deepEqual(await found('ornithologie'), ['T90']);
      const updated = await host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { title: 'Apiculture et biodiversité', keywords: ['abeilles'] } });
      assert.equal(updated.status, 200);
      assert.deepEqual(await found('ornithologie'), []);
      assert.deepEqual(await found('apiculture abeille'), ['T90']);
      // speakers change: the old one no longer finds it, the new one does
      await host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { speaker_ids: [deputyIds.get('PA-T3')] } });
      assert.deepEqual(await found('apiculture Bérenger'), ['T90']);
      await host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { speaker_ids: [deputyIds.get('PA-T4')] } });
      assert.deepEqual(await found('apiculture Bérenger'), []);
      assert.deepEqual(await found('apiculture Dupont'), ['T90']);
      // committee change
      await host.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { commission_id: commissionIds.get('PO-T-FIN') } });
      assert.deepEqual(await found('apiculture finances'), ['T90']);
      const deleted = await host.request(`/api/debats/${id}`, { method: 'DELETE', admin: true });
      assert.equal(deleted.status, 204);
      assert.deepEqual(await found('apiculture'), []);
      const status = await host.robian.kernel.services.get('search').status();
      assert.equal(status.indexed, status.debates);
    });

    it('follows committee and deputy renames made by an importer (and its import.completed event)', async () => {
      assert.deepEqual(await found('solidarités'), []);
      const manager = em();
      const committee = await manager.findOneOrFail(CommissionSchema, { externalId: 'PO-T-AFFSOC' });
      committee.name = 'Commission des affaires sociales et des solidarités';
      const deputy = await manager.findOneOrFail(DeputySchema, { externalId: 'PA-T2' });
      deputy.fullName = 'François Lemaître-Vasseur';
      deputy.lastName = 'Lemaître-Vasseur';
      await manager.flush();
      // the index follows at the write's commit (triggers)…
      const conn = manager.getConnection();
      const n = await conn.execute<{ n: number }[]>(
        mode.name === 'sqlite'
          ? "select count(*) as n from search_debate_fts where search_debate_fts match 'solidarites'"
          : "select count(*) as n from search_debate where document @@ to_tsquery('french', 'solidarites')",
      );
      assert.equal(Number(n[0]!.n), 3);
      // …and the cached answer is dropped when the importer says it is done
      assert.deepEqual(await found('solidarités'), [], 'served from the search cache until invalidated');
      await host.robian.kernel.events.emit('import.completed', importDone());
      assert.deepEqual(await found('solidarités'), ['T1', 'T6', 'T7']);
      assert.deepEqual(await found('vasseur'), ['T1', 'T4']);
      assert.deepEqual(await found('lemaitre'), ['T1', 'T4']);
      // a deputy removed from the tables leaves the index too
      const gone = manager.create(DeputySchema, { source: 'test', externalId: 'PA-T9', firstName: 'Anaïs', lastName: 'Éphémère', fullName: 'Anaïs Éphémère', slug: 'anais-ephemere' } as never);
      await manager.flush();
      await conn.execute('insert into debate_speaker (debate_id, deputy_id) values (?, ?)', [debateIds.get('T13'), (gone as { id: number }).id]);
      await host.robian.kernel.events.emit('import.completed', importDone());
      assert.deepEqual(await found('éphémère'), ['T13']);
      await conn.execute('delete from deputy where id = ?', [(gone as { id: number }).id]);
      await host.robian.kernel.events.emit('import.completed', importDone());
      assert.deepEqual(await found('éphémère'), []);
    });

    // PostgreSQL only (SQLite's row triggers refresh at once): defined for that mode alone, not skipped
    if (mode.name !== 'sqlite') it('PostgreSQL: refreshes a debate once, at the commit of the transaction that wrote it and its speakers', async () => {
      const conn = em().getConnection();
      const deputy = deputyIds.get('PA-T3')!;
      const versions = async (id: number) => Number((await conn.execute<{ n: number }[]>('select count(*) as n from search_debate where debate_id = ?', [id]))[0]!.n);
      const write = async (commit: boolean) => {
        let id = 0;
        let before: { indexed: number; pending: number } = { indexed: -1, pending: -1 };
        await em()
          .transactional(async (tx) => {
            const c = tx.getConnection();
            const ctx = tx.getTransactionContext();
            const [row] = await c.execute<{ id: number }[]>(
              "insert into debate (source, title, type, status, date, agenda_points, keywords, tags, has_audio, view_count, created_at, updated_at) values ('test', 'Ostréiculture et conchyliculture', 'commission', 'termine', now(), '[]', '[]', '[]', false, 0, now(), now()) returning id",
              [],
              'all',
              ctx,
            );
            id = Number(row!.id);
            await c.execute('insert into debate_speaker (debate_id, deputy_id) values (?, ?)', [id, deputy], 'run', ctx);
            const [seen] = await c.execute<{ indexed: number; pending: number }[]>(
              'select (select count(*) from search_debate where debate_id = ?) as indexed, (select count(*) from search_debate_pending where debate_id = ?) as pending',
              [id, id],
              'all',
              ctx,
            );
            before = { indexed: Number(seen!.indexed), pending: Number(seen!.pending) };
            if (!commit) throw new Error('roll back');
          })
          .catch((err: Error) => {
            if (commit || err.message !== 'roll back') throw err;
          });
        return { id, before };
      };
      // inside the transaction: queued once (two statements wrote it), not yet indexed (the trigger of
      // each statement used to refresh it at once, leaving a dead row version behind the first)
      const { id, before } = await write(true);
      assert.deepEqual(before, { indexed: 0, pending: 1 });
      // after the commit: indexed with its speaker, queue empty
      assert.equal(await versions(id), 1);
      const [doc] = await conn.execute<{ ok: boolean }[]>("select document @@ to_tsquery('french', 'berenger & ostreicultur') as ok from search_debate where debate_id = ?", [id]);
      assert.equal(doc!.ok, true);
      const [queues] = await conn.execute<{ a: number; b: number }[]>('select (select count(*) from search_debate_pending) as a, (select count(*) from search_debate_pending_tx) as b');
      assert.deepEqual([Number(queues!.a), Number(queues!.b)], [0, 0]);
      // a rolled back write leaves neither a row nor a queued id
      const rolled = await write(false);
      assert.deepEqual(rolled.before, { indexed: 0, pending: 1 });
      assert.equal(await versions(rolled.id), 0);
      const [left] = await conn.execute<{ n: number }[]>('select count(*) as n from search_debate_pending');
      assert.equal(Number(left!.n), 0);
      await conn.execute('delete from debate where id = ?', [id]);
      assert.equal(await versions(id), 0);
    });

    it('reports a damaged index in /health/detailed and rebuilds it on demand', async () => {
      const health = async () => ((await (await host.request('/health/detailed')).json()) as { plugins: Record<string, { status: string; debates: number; indexed: number }> }).plugins.search!;
      assert.equal((await health()).status, 'ok');
      // damage the index behind the triggers' back
      const conn = em().getConnection();
      await conn.execute(mode.name === 'sqlite' ? 'delete from search_debate_fts where rowid = ?' : 'delete from search_debate where debate_id = ?', [debateIds.get('T2')]);
      // SQLite: a debate without its copy of date, type and committee is not found either
      if (mode.name === 'sqlite') await conn.execute('delete from search_debate_facets where debate_id = ?', [debateIds.get('T6')]);
      if (mode.name === 'sqlite') assert.deepEqual(await found('retraites '), ['T1']);
      const damaged = await health();
      assert.equal(damaged.status, 'degraded');
      assert.equal(damaged.indexed, damaged.debates - 1);
      const service = host.robian.kernel.services.get('search');
      assert.equal(await service.reindex(), damaged.debates);
      assert.equal((await health()).status, 'ok');
      assert.deepEqual(await found('retraites '), ['T1', 'T2', 'T6']);
    });

    it('lists committees and deputies with their debate counts', async () => {
      const res = await host.request('/api/commissions/');
      assert.equal(res.status, 200);
      const list = (await res.json()) as { commissions: { external_id: string; debate_count: number; name: string }[]; total: number; has_next: boolean };
      assert.equal(list.total, 3);
      assert.deepEqual(
        Object.fromEntries(list.commissions.map((c) => [c.external_id, c.debate_count])),
        { 'PO-T-AFFSOC': 3, 'PO-T-FIN': 1, 'PO-T-LOIS': 2 },
      );
      const top = (await (await host.request('/api/commissions/?sort_by=debate_count&per_page=1')).json()) as typeof list;
      assert.deepEqual(top.commissions.map((c) => c.external_id), ['PO-T-AFFSOC']);
      assert.equal(top.has_next, true);
      const filtered = (await (await host.request(`/api/commissions/?q=${encodeURIComponent('legislation')}`)).json()) as typeof list;
      assert.deepEqual(filtered.commissions.map((c) => c.external_id), []); // the slug is the short name; the name is matched as written
      const byShort = (await (await host.request('/api/commissions/?q=finan')).json()) as typeof list;
      assert.deepEqual(byShort.commissions.map((c) => c.external_id), ['PO-T-FIN']);

      const deps = (await (await host.request('/api/deputes/?per_page=2')).json()) as { deputes: { external_id: string; last_name: string; debate_count: number }[]; total: number; has_next: boolean };
      assert.equal(deps.total, 4);
      assert.equal(deps.deputes.length, 2);
      assert.equal(deps.has_next, true);
      const counts = (await (await host.request('/api/deputes/?sort_by=debate_count')).json()) as typeof deps;
      assert.deepEqual(
        counts.deputes.map((d) => [d.external_id, d.debate_count]),
        [
          ['PA-T1', 3],
          ['PA-T4', 2],
          ['PA-T2', 2],
          ['PA-T3', 1],
        ].sort((a, b) => (b[1] as number) - (a[1] as number) || 0),
      );
      const searched = (await (await host.request(`/api/deputes/?q=${encodeURIComponent('hélène')}`)).json()) as typeof deps;
      assert.deepEqual(searched.deputes.map((d) => d.external_id), ['PA-T1']);
    });

    it('resolves {name} as uid, slug or name, any case and accents', async () => {
      const ids = async (path: string) => {
        const res = await host.request(path);
        assert.equal(res.status, 200, `${path} → ${res.status} ${await res.clone().text()}`);
        const body = (await res.json()) as { debates: { external_id: string }[]; total: number };
        return body.debates.map((d) => d.external_id).sort();
      };
      const expected = ['T1', 'T6', 'T7'];
      for (const name of ['PO-T-AFFSOC', 'po-t-affsoc', 'affaires-sociales', 'Affaires sociales', 'commission des affaires sociales et des solidarites', 'COMMISSION DES AFFAIRES SOCIALES ET DES SOLIDARITÉS']) {
        assert.deepEqual(await ids(`/api/commissions/${encodeURIComponent(name)}/debats`), expected, name);
      }
      assert.deepEqual(
        await ids(`/api/commissions/${encodeURIComponent('commission des lois constitutionnelles, de la legislation et de l’administration generale de la republique')}/debats`),
        ['T5', 'T9'],
      );
      const withFilter = (await (await host.request('/api/commissions/affaires-sociales/debats?type=commission&per_page=1')).json()) as {
        commission: { name: string; debate_count: number };
        debates: unknown[];
        total: number;
        has_next: boolean;
      };
      assert.equal(withFilter.commission.debate_count, 3);
      assert.equal(withFilter.total, 3);
      assert.equal(withFilter.debates.length, 1);
      assert.equal(withFilter.has_next, true);
      for (const name of ['PA-T1', 'pa-t1', 'helene-cote', 'Hélène Côté', 'HELENE COTE', 'Côté Hélène']) {
        assert.deepEqual(await ids(`/api/deputes/${encodeURIComponent(name)}/debats`), ['T1', 'T10', 'T6'], name);
      }
      const dep = (await (await host.request('/api/deputes/PA-T1/debats?date_start=2024-01-01')).json()) as { depute: { full_name: string; debate_count: number }; total: number };
      assert.equal(dep.depute.full_name, 'Hélène Côté');
      assert.equal(dep.depute.debate_count, 3);
      assert.equal(dep.total, 2);
    });

    it('answers an unknown name with a 404 that suggests the closest ones', async () => {
      const res = await host.request(`/api/commissions/${encodeURIComponent('affaires socials')}/debats`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const problem = (await res.json()) as { status: number; detail: string; suggestions: { external_id: string; href: string; name: string }[] };
      assert.equal(problem.status, 404);
      assert.equal(problem.suggestions[0]?.external_id, 'PO-T-AFFSOC');
      assert.equal(problem.suggestions[0]?.href, '/api/commissions/PO-T-AFFSOC/debats');
      assert.match(problem.detail, /did you mean "Commission des affaires sociales et des solidarités"/);
      const dep = (await (await host.request(`/api/deputes/${encodeURIComponent('Jerome Dupond')}/debats`)).json()) as typeof problem;
      assert.equal(dep.status, 404);
      assert.equal(dep.suggestions[0]?.external_id, 'PA-T4');
      const renamed = (await (await host.request(`/api/deputes/${encodeURIComponent('François Lemaitre Vaseur')}/debats`)).json()) as typeof problem;
      assert.equal(renamed.suggestions[0]?.external_id, 'PA-T2');
      const beranger = (await (await host.request('/api/deputes/berenjer/debats')).json()) as typeof problem;
      assert.equal(beranger.suggestions[0]?.external_id, 'PA-T3');
      const nothing = (await (await host.request(`/api/deputes/${encodeURIComponent('zzzzqqqqwwww')}/debats`)).json()) as typeof problem;
      assert.equal(nothing.status, 404);
      assert.deepEqual(nothing.suggestions, []);
      for (const absurd of ["' OR 1=1 --", '%', '_', '"', '*', 'x'.repeat(255)]) {
        const r = await host.request(`/api/commissions/${encodeURIComponent(absurd)}/debats`);
        assert.equal(r.status, 404, absurd);
      }
    });

    it('reverts and re-applies its migration, indexing the debates already there', async () => {
      const orm = host.robian.kernel.orm;
      await orm.migrator.down({ to: coreMigrations.at(-1)!.name });
      assert.equal((await checkSchema(orm)).drift, '');
      assert.deepEqual((await checkSchema(orm)).pending, ['search-0001-index', 'search-0002-year', 'search-0003-deferred', 'search-0004-moments', 'search-0005-date-order', 'search-0006-facets']);
      await orm.migrator.up();
      const check = await checkSchema(orm);
      assert.deepEqual([check.pending, check.drift], [[], '']);
      const status = await host.robian.kernel.services.get('search').status();
      assert.equal(status.indexed, status.debates);
      await host.robian.kernel.events.emit('import.completed', importDone());
      assert.deepEqual(await found('"réforme des retraites"'), ['T1']);
    });

    it('documents its routes and response shapes in OpenAPI', async () => {
      const doc = (await (await host.request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      };
      for (const path of ['/api/search', '/api/commissions/', '/api/commissions/{name}/debats', '/api/deputes/', '/api/deputes/{name}/debats']) assert.ok(doc.paths[path]?.get, path);
      const results = doc.components.schemas.SearchResults!;
      for (const field of ['debates', 'total', 'page', 'per_page', 'has_next', 'has_prev', 'facets', 'query']) assert.ok(results.properties?.[field], field);
      assert.ok(doc.components.schemas.SearchHit?.properties?.highlights);
    });
  });
}

