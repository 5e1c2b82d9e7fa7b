import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskResult, TaskRun } from '@robian/core';
import type { PoliteFetcher, Validators } from './fetcher.ts';
import type { ImportResult } from './importer.ts';
import type { AssembleeOptions } from './options.ts';

export interface OpenDataDeps {
  fetcher: PoliteFetcher;
  options: AssembleeOptions;
  /** The plugin's import (events and caches included) of a downloaded file. */
  importFile: (path: string, signal: AbortSignal) => Promise<ImportResult>;
}

/** The dataset URLs: paths are relative to the open-data base; absolute URLs are kept (the fetcher checks their host). */
export function datasetUrls(options: Pick<AssembleeOptions, 'openDataUrls' | 'openDataBaseUrl'>): string[] {
  return options.openDataUrls.map((u) => new URL(u.replace(/^\//, ''), options.openDataBaseUrl).href);
}

/**
 * Refreshes the AMO and agenda datasets: a conditional GET per dataset (the ETag and Last-Modified
 * of the last import are kept in the task's state), so an unchanged dataset costs one request and
 * no import; a changed one is downloaded and imported (idempotent by uid).
 */
export async function refreshOpenData(deps: OpenDataDeps, run: TaskRun): Promise<TaskResult> {
  const validators = { ...((run.state.validators as Record<string, Validators> | undefined) ?? {}) };
  const datasets: Record<string, unknown>[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'robian-an-sched-'));
  let failed: Error | undefined;
  try {
    for (const url of datasetUrls(deps.options)) {
      run.signal.throwIfAborted();
      const target = join(dir, `dataset-${datasets.length}${/\.zip(?:$|\?)/i.test(url) ? '.zip' : '.json'}`);
      try {
        const got = await deps.fetcher.download(url, target, { timeoutMs: deps.options.downloadTimeoutMs, maxBytes: deps.options.maxDownloadBytes, signal: run.signal, ...(validators[url] ? { validators: validators[url] } : {}) });
        if (got.notModified) {
          datasets.push({ url, status: 'not-modified' });
          continue;
        }
        const { report } = await deps.importFile(target, run.signal);
        validators[url] = got.validators;
        datasets.push({ url, status: 'imported', bytes: got.bytes, debates: report.debates, commissions: report.commissions, deputies: report.deputies, problems: report.problems.length });
      } catch (err) {
        if (run.signal.aborted) throw err;
        failed ??= err as Error;
        datasets.push({ url, status: 'failed', error: (err as Error).message });
      } finally {
        await rm(target, { force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { summary: { datasets }, state: { validators }, ...(failed ? { error: `open data: ${failed.message}` } : {}) };
}
