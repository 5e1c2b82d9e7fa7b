import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { organeRecord, writeRecordFiles } from '@robian/plugin-assemblee-nationale';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';
import { runCli } from './cli.ts';

async function json<T>(host: TestHost, path: string): Promise<T> {
  const res = await host.request(path);
  assert.equal(res.status, 200, `${path} → ${res.status}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

const ids = (page: { debates: { id: unknown }[] }) => page.debates.map((d) => String(d.id)).sort();

/** Issue #11 item 9: committee slugs are unique, and both routes that take a committee's name resolve it alike. */
describe('committee slugs', () => {
  for (const mode of STORAGE_MODES) {
    it(`the demo's and the real import's "finances" get distinct slugs, and /api/debats/?commission= resolves like /api/commissions/{name}/debats (${mode.name})`, { skip: mode.skip }, async () => {
      const env = await createTestEnvironment(mode.name);
      const dir = mkdtempSync(join(tmpdir(), 'robian-an-'));
      try {
        assert.equal((await runCli(['db', 'seed'], env.env)).code, 0);
        // the real AN committee: same names as the demo's, another uid
        await writeRecordFiles(dir, { organes: [organeRecord('PO59048', 'COMPER', 'Commission des finances, de l’économie générale et du contrôle budgétaire', 'Finances', { since: '1958-12-09' })], acteurs: [], reunions: [] });
        const imported = await runCli(['import', 'assemblee', dir], env.env);
        assert.equal(imported.code, 0, imported.stderr);
        const host = await startTestHost({ environment: env, plugins: officialPlugins(), workers: false });
        try {
          const { commissions } = await json<{ commissions: { id: unknown; external_id: string; slug: string }[] }>(host, '/api/commissions/?per_page=100');
          const slugs = commissions.map((c) => c.slug);
          assert.equal(new Set(slugs).size, slugs.length, `unique slugs: ${slugs.join(', ')}`);
          const demo = commissions.find((c) => c.external_id === 'PO9900002')!;
          const real = commissions.find((c) => c.external_id === 'PO59048')!;
          assert.equal(demo.slug, 'finances', 'the first one keeps the plain slug');
          assert.equal(real.slug, 'finances-po59048');
          // a debate of the real committee, beside the demo's ones
          const created = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Commission des finances : audition', date: '2026-11-25', type: 'commission', commission_id: Number(real.id) } });
          assert.equal(created.status, 201, await created.clone().text());
          for (const name of ['finances', 'finances-po59048', 'PO59048', String(demo.id)]) {
            const viaCommittee = await json<{ debates: { id: unknown }[] }>(host, `/api/commissions/${encodeURIComponent(name)}/debats?per_page=100`);
            const viaList = await json<{ debates: { id: unknown }[] }>(host, `/api/debats/?commission=${encodeURIComponent(name)}&per_page=100`);
            assert.deepEqual(ids(viaList), ids(viaCommittee), `"${name}" names the same committee on both routes`);
          }
          const real_ = await json<{ debates: { id: unknown }[] }>(host, '/api/debats/?commission=finances-po59048');
          assert.deepEqual(ids(real_), [String(((await created.json()) as { id: unknown }).id)]);
        } finally {
          await host.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await env.cleanup();
      }
    });
  }
});
