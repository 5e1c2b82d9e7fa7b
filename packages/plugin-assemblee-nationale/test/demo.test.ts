import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DebateSchema, DeputySchema, type Debate, type EntityManager } from '@robian/core';
import { AssembleeImporter, PoliteFetcher, assembleeNationalePlugin, demoRecords, optionsSchema, recordUid, writeRecordFiles } from '@robian/plugin-assemblee-nationale';
import { STORAGE_MODES, startTestHost } from '@robian/test-support';
import { FIXTURES_JSON, FIXTURES_SKIP } from './helpers.ts';

/** Every key path of a JSON value (array items share their array's path; the AN writes one item as an object). */
function keyPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) keyPaths(item, prefix, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${k}` : k;
      out.add(path);
      keyPaths(v, path, out);
    }
  }
  return out;
}

describe('the demo records (AN open data written by the project)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'robian-an-demo-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('use only the fields, nesting and uid forms of the real records', { skip: FIXTURES_SKIP }, () => {
    const demo = demoRecords();
    for (const [kind, list] of [['organe', demo.organes], ['acteur', demo.acteurs], ['reunion', demo.reunions]] as const) {
      const real = new Set<string>();
      for (const file of readdirSync(join(FIXTURES_JSON, kind))) keyPaths(JSON.parse(readFileSync(join(FIXTURES_JSON, kind, file), 'utf8')), '', real);
      for (const record of list) {
        const unknown = [...keyPaths({ [kind]: record })].filter((p) => !real.has(p));
        assert.deepEqual(unknown, [], `${kind} ${recordUid(record)} has fields the real ${kind}s do not`);
      }
    }
  });

  it('are fictional, in uid ranges the AN does not use, 2025–2026', () => {
    const { organes, acteurs, reunions } = demoRecords();
    assert.equal(organes.filter((o) => o.codeType !== 'GP').length, 4);
    assert.equal(acteurs.length, 6);
    assert.equal(reunions.length, 10);
    for (const r of [...organes, ...acteurs, ...reunions]) assert.match(recordUid(r), /^(PO99|PA99|RUANR5L17S20\d\dID[CS]99)\d{5}$/);
    for (const r of reunions) assert.match(String(r.timeStampDebut), /^202[56]-/);
    assert.deepEqual(demoRecords(), demoRecords(), 'the same records every time');
  });

  for (const mode of STORAGE_MODES) {
    it(`import through the importer: 4 committees, 6 deputies with groups, 10 debates, no problem; again: nothing created (${mode.name})`, { skip: mode.skip }, async () => {
      const dir = join(tmp, mode.name);
      assert.equal(await writeRecordFiles(dir, demoRecords()), 23);
      const host = await startTestHost({ mode: mode.name, plugins: [assembleeNationalePlugin] });
      try {
        const options = optionsSchema.parse({});
        const importer = new AssembleeImporter({
          orm: host.robian.kernel.orm,
          logger: host.robian.kernel.logger,
          fetcher: new PoliteFetcher({ maxConcurrent: 1, maxRetries: 0, retryBaseMs: 1, maxRetryAfterSeconds: 0, userAgent: 'test', allowedHosts: () => new Set() }),
          batchSize: options.batchSize,
          maxFileBytes: options.maxFileBytes,
          streamThresholdBytes: options.streamThresholdBytes,
          maxDownloadBytes: options.maxDownloadBytes,
          downloadTimeoutMs: options.downloadTimeoutMs,
          now: () => new Date('2026-06-01T12:00:00Z'),
        });
        const first = await importer.run(dir);
        assert.deepEqual(first.report.problems, []);
        assert.deepEqual(first.report.commissions, { created: 4, updated: 0, unchanged: 0, skipped: 0, removed: 0 });
        assert.deepEqual(first.report.deputies, { created: 6, updated: 0, unchanged: 0, skipped: 0, removed: 0 });
        assert.deepEqual(first.report.debates, { created: 10, updated: 0, unchanged: 0, skipped: 0, removed: 0 });

        const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
        const debates = (await em.find(DebateSchema, {}, { populate: ['commission'] as never, orderBy: { date: 'asc' } as never })) as Debate[];
        const byUid = new Map(debates.map((d) => [d.externalId, d]));
        const types = debates.map((d) => d.type);
        assert.equal(types.filter((t) => t === 'seance_publique').length, 4);
        assert.equal(types.filter((t) => t === 'question_gouvernement').length, 1);
        assert.equal(types.filter((t) => t === 'commission').length, 2);
        assert.equal(types.filter((t) => t === 'audition').length, 3, 'two auditions and a table ronde');
        assert.equal(debates.filter((d) => d.commission).length, 5, 'every committee réunion is linked');
        assert.equal(byUid.get('RUANR5L17S2025IDS9900001')!.title, '1re séance : Discussion du projet de loi relatif à la sobriété énergétique des bâtiments publics (n° 9901)');
        assert.deepEqual(byUid.get('RUANR5L17S2025IDS9900003')!.agendaPoints, ['Suite de la discussion du projet de loi relatif à la sobriété énergétique des bâtiments publics (n° 9901)'], 'a withdrawn point is left out');
        assert.equal(byUid.get('RUANR5L17S2026IDS9900004')!.title, 'Séance : Discussion de la proposition de loi visant à protéger les haies et les bocages (n° 9903)');
        assert.equal(((byUid.get('RUANR5L17S2026IDC9900005')!.commission as unknown) as { shortName: string }).shortName, 'Eau potable en montagne');
        assert.deepEqual(
          debates.map((d) => d.status),
          [...Array(9).fill('termine'), 'programme'],
          'the last one is still to come',
        );

        const deputies = await em.find(DeputySchema, {}, { orderBy: { externalId: 'asc' } as never });
        assert.deepEqual(
          deputies.map((d) => [d.fullName, d.politicalGroup, d.politicalGroupShort, d.active]),
          [
            ['Élise Fontanel', 'Groupe des Tilleuls', 'TIL', true],
            ['Joël Bercagne', 'Groupe des Marées', 'MAR', true],
            ['Inès Marcillac', 'Groupe des Tilleuls', 'TIL', true],
            ['François Delorme-Quéré', 'Groupe des Sommets', 'SOM', true],
            ['Chloé Vasseur-Haddad', 'Groupe des Marées', 'MAR', true],
            ['Noël Kerbriant', 'Groupe des Sommets', 'SOM', true],
          ],
        );

        const second = await importer.run(dir);
        assert.deepEqual(second.report.problems, []);
        for (const kind of ['commissions', 'deputies', 'debates'] as const) {
          assert.equal(second.report[kind].created + second.report[kind].updated, 0, `${kind}: nothing changes the second time`);
        }
      } finally {
        await host.close();
      }
    });
  }
});
