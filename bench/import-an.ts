/**
 * AN open-data import throughput: N generated réunions (one JSON file per record, the layout of the
 * AN zips, unzipped) imported into a fresh database with batched transactions (the default, 200 records
 * per transaction), then again (idempotent pass: every record unchanged), against a baseline measured
 * in the same run: one transaction per record (batchSize 1).
 *
 *   node --conditions=robian-source bench/import-an.ts [N]            # SQLite
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
 *     node --conditions=robian-source bench/import-an.ts [N]          # and PostgreSQL
 *
 * Not part of the tests. Figures go to docs/performance.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORAGE_MODES, createTestEnvironment } from '@robian/test-support';
// the workspace root does not depend on the packages: reach them by path
import { createRobian } from '../packages/host/src/index.ts';
import { assembleeNationalePlugin } from '../packages/plugin-assemblee-nationale/src/index.ts';
import { dataset } from '../packages/plugin-assemblee-nationale/test/records.ts';

const N = Number(process.argv[2] ?? 5000);

/** The layout of the AN zips, unzipped: json/<kind>/<uid>.json, one record per file. */
function buildFolder(root: string): void {
  const { organes, acteurs, reunions } = dataset(N);
  for (const kind of ['organe', 'acteur', 'reunion']) mkdirSync(join(root, kind), { recursive: true });
  for (const o of organes) writeFileSync(join(root, 'organe', `${o.uid}.json`), JSON.stringify({ organe: o }));
  for (const a of acteurs) writeFileSync(join(root, 'acteur', `${(a.uid as { '#text': string })['#text']}.json`), JSON.stringify({ acteur: a }));
  for (const r of reunions) writeFileSync(join(root, 'reunion', `${r.uid}.json`), JSON.stringify({ reunion: r }));
}

async function timedImport(mode: (typeof STORAGE_MODES)[number]['name'], zip: string, batchSize: number, passes: number): Promise<number[]> {
  const environment = await createTestEnvironment(mode);
  const robian = createRobian({ config: environment.config, plugins: [{ plugin: assembleeNationalePlugin as never, options: { batchSize } }], defaultMetrics: false });
  await robian.start();
  try {
    const run = robian.kernel.services.get('assemblee.import');
    const times: number[] = [];
    for (let i = 0; i < passes; i++) {
      const t0 = performance.now();
      const { report } = await run(zip);
      times.push(performance.now() - t0);
      const total = report.debates.created + report.debates.updated + report.debates.unchanged;
      if (total !== N) throw new Error(`expected ${N} debates, got ${JSON.stringify(report.debates)}`);
    }
    return times;
  } finally {
    await robian.close();
    await environment.cleanup();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'robian-bench-an-'));
try {
  const zip = join(dir, 'json');
  buildFolder(zip);
  console.log(`AN import benchmark: ${N} réunions (+1 committee, 1 group, 2 acteurs), one JSON file per record (the AN zips' layout)`);
  for (const mode of STORAGE_MODES) {
    if (mode.skip) {
      console.log(`${mode.name}: skipped (${mode.skip})`);
      continue;
    }
    const [first, second] = await timedImport(mode.name, zip, 200, 2);
    const [baseline] = await timedImport(mode.name, zip, 1, 1);
    const rate = (ms: number) => `${Math.round(N / (ms / 1000))} records/s`;
    console.log(`${mode.name}:`);
    console.log(`  batched (200/transaction), first import : ${(first! / 1000).toFixed(2)} s  ${rate(first!)}`);
    console.log(`  batched, second import (all unchanged)  : ${(second! / 1000).toFixed(2)} s  ${rate(second!)}`);
    console.log(`  baseline (1 record/transaction)         : ${(baseline! / 1000).toFixed(2)} s  ${rate(baseline!)}`);
    console.log(`  ratio baseline / batched first import   : ${(baseline! / first!).toFixed(1)}×`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
