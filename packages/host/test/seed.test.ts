import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DebateView } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, startTestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';
import { seedDemo } from '../src/seed.ts';
import { runCli } from './cli.ts';

async function json<T>(res: Response): Promise<T> {
  assert.equal(res.status, 200, `${res.url} → ${res.status}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

describe('robian db seed: the demo catalogue', () => {
  for (const mode of STORAGE_MODES) {
    it(`is imported from AN records, twice without change, then searchable and browsable (${mode.name})`, { skip: mode.skip }, async () => {
      const env = await createTestEnvironment(mode.name);
      try {
        const first = await runCli(['db', 'seed'], env.env);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /seeded 4 commissions, 6 deputies, 10 debates \(demo AN open-data records, imported through assemblee\.import: 20 created, 0 updated, 0 unchanged\) into /);
        const second = await runCli(['db', 'seed'], env.env);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /: 0 created, 0 updated, 20 unchanged\)/);

        const host = await startTestHost({ environment: env, plugins: officialPlugins(), workers: false });
        try {
          const all = await json<{ total: number; debates: DebateView[] }>(await host.request('/api/debats/?per_page=100&sort_by=date&sort_order=asc'));
          assert.equal(all.total, 10);
          assert.equal(all.debates.filter((d) => d.commission).length, 5, 'committee réunions are linked to their committee');
          assert.equal(all.debates.filter((d) => d.type === 'question_gouvernement').length, 1);
          assert.ok(all.debates.every((d) => d.source === 'assemblee-nationale'), 'imported like real data');

          // a word of a title, typed without accents, finds the debates that carry it
          const hits = await json<{ total: number; debates: DebateView[] }>(await host.request('/api/search?q=sobriete%20ENERGETIQUE'));
          assert.deepEqual(hits.debates.map((d) => d.external_id ?? "").sort(), [
            'RUANR5L17S2025IDC9900001',
            'RUANR5L17S2025IDS9900001',
            'RUANR5L17S2025IDS9900002',
            'RUANR5L17S2025IDS9900003',
          ]);
          assert.equal(hits.total, 4);
          const bocage = await json<{ debates: DebateView[] }>(await host.request('/api/search?q=bocage'));
          assert.deepEqual(
            bocage.debates.map((d) => d.title),
            ['Séance : Discussion de la proposition de loi visant à protéger les haies et les bocages (n° 9903)'],
          );

          const commissions = await json<{ total: number; commissions: { short_name: string | null; debate_count: number }[] }>(await host.request('/api/commissions/'));
          assert.equal(commissions.total, 4);
          assert.deepEqual(
            commissions.commissions.map((c) => [c.short_name, c.debate_count]).sort(),
            [
              ['Affaires sociales', 1],
              ['Eau potable en montagne', 1],
              ['Finances', 2],
              ['Lois', 1],
            ],
          );
          const deputies = await json<{ total: number; deputes: { full_name: string; political_group_short: string | null }[] }>(await host.request('/api/deputes/'));
          assert.equal(deputies.total, 6);
          assert.deepEqual(deputies.deputes.map((d) => d.political_group_short).sort(), ['MAR', 'MAR', 'SOM', 'SOM', 'TIL', 'TIL']);
        } finally {
          await host.close();
        }
      } finally {
        await env.cleanup();
      }
    });
  }

  it('runs the same importer when the Assemblée nationale plugin is not installed (embedding without official plugins)', async () => {
    const host = await startTestHost({ plugins: [] });
    try {
      const first = await seedDemo(host.robian.kernel);
      assert.equal(first.via, 'importer');
      assert.deepEqual([first.commissions, first.deputies, first.debates], [4, 6, 10]);
      assert.equal(first.report.debates.created, 10);
      const second = await seedDemo(host.robian.kernel);
      assert.deepEqual([second.report.commissions.created, second.report.deputies.created, second.report.debates.created], [0, 0, 0]);
      assert.equal(second.report.debates.unchanged, 10);
      const list = await json<{ total: number }>(await host.request('/api/debats/'));
      assert.equal(list.total, 10);
    } finally {
      await host.close();
    }
  });
});
