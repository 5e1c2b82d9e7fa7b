import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImportReport, RobianKernel } from '@robian/core';
import { AssembleeImporter, PoliteFetcher, demoRecords, optionsSchema, writeRecordFiles } from '@robian/plugin-assemblee-nationale';

export interface SeedResult {
  /** Demo records of each kind now in the catalogue (created, updated or already there). */
  commissions: number;
  deputies: number;
  debates: number;
  /** What the import did: a second seed creates and updates nothing. */
  report: ImportReport;
  /** `assemblee.import` when the Assemblée nationale plugin is installed, else its importer run directly. */
  via: 'assemblee.import' | 'importer';
}

const present = (c: ImportReport['commissions']) => c.created + c.updated + c.unchanged;

/**
 * Demo committees, deputies and debates so that a fresh embedded start shows a catalogue: a small set
 * of AN open-data records written by the project (`demoRecords()` of @robian/plugin-assemblee-nationale,
 * fictional names), written to a temporary folder in the layout of the AN zips and imported like real
 * data, through the `assemblee.import` service (events, metrics, cache invalidation). Without that
 * plugin (an embedding without the official plugins), the same importer runs directly on the kernel's
 * database. Idempotent: the records are matched by uid, a second seed creates nothing.
 */
export async function seedDemo(kernel: RobianKernel): Promise<SeedResult> {
  const dir = await mkdtemp(join(tmpdir(), 'robian-demo-'));
  let report: ImportReport;
  let via: SeedResult['via'];
  try {
    await writeRecordFiles(dir, demoRecords());
    const service = kernel.services.maybe('assemblee.import');
    if (service) {
      via = 'assemblee.import';
      report = (await service(dir)).report;
    } else {
      via = 'importer';
      const options = optionsSchema.parse({});
      const importer = new AssembleeImporter({
        orm: kernel.orm,
        logger: kernel.logger,
        // local files only: nothing is fetched
        fetcher: new PoliteFetcher({ maxConcurrent: 1, maxRetries: 0, retryBaseMs: 1, maxRetryAfterSeconds: 0, userAgent: options.userAgent, allowedHosts: () => new Set() }),
        batchSize: options.batchSize,
        maxFileBytes: options.maxFileBytes,
        streamThresholdBytes: options.streamThresholdBytes,
        maxDownloadBytes: options.maxDownloadBytes,
        downloadTimeoutMs: options.downloadTimeoutMs,
      });
      report = (await importer.run(dir)).report;
      // committees, deputies and debates: every view of them (lists, search, feeds) on every process
      await kernel.cache.invalidateAll();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const rejected = report.problems.filter((p) => p.severity !== 'warning');
  if (rejected.length) throw new Error(`demo records rejected by the importer: ${rejected.map((p) => `${p.uid} (${p.reason})`).join('; ')}`);
  return { commissions: present(report.commissions), deputies: present(report.deputies), debates: present(report.debates), report, via };
}
