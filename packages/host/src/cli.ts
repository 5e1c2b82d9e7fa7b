#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, DebateSchema, PluginError, ProblemError, checkSchema, loadConfig, type ImportReport, type RobianConfig, type TaskStatus } from '@robian/core';
import { InputError, partialResultOf } from '@robian/plugin-assemblee-nationale';
import { createRobian, type Robian } from './app.ts';
import { officialPlugins } from './official.ts';
import { progressReporter } from './progress.ts';
import { seedDemo } from './seed.ts';
import { pruneListeners } from '@robian/plugin-listeners';
import { HOST_VERSION } from './version.ts';
import { registerOpsCommands } from './cli-ops.ts';

function instance(overrides: { migrateOnStart?: boolean; config?: RobianConfig; workers?: boolean } = {}): Robian {
  const config = overrides.config ?? loadConfig();
  return createRobian({
    config,
    plugins: officialPlugins(),
    workers: overrides.workers ?? false,
    ...(overrides.migrateOnStart === undefined ? {} : { migrateOnStart: overrides.migrateOnStart }),
  });
}

async function withKernel<T>(fn: (robian: Robian) => Promise<T>, migrateOnStart = true, config?: RobianConfig): Promise<T> {
  const robian = instance({ migrateOnStart, ...(config ? { config } : {}) });
  await robian.start();
  try {
    return await fn(robian);
  } finally {
    await robian.close();
  }
}

const program = new Command();
program.name('robian').description('Robian: the media server for parliamentary debates').version(HOST_VERSION);

program
  .command('serve')
  .description('Start the HTTP API (reads PORT, HOST, DATABASE_URL, REDIS_URL… from the environment)')
  .action(async () => {
    const robian = instance({ workers: true });
    const server = await robian.listen();
    const address = server.address();
    const where = typeof address === 'object' && address ? `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : String(address);
    robian.logger.info(
      { url: where, database: robian.config.database.kind, cache: robian.config.redisUrl ? 'memory+redis' : 'memory', plugins: robian.kernel.plugins().map((p) => p.name) },
      `Robian ${HOST_VERSION} listening on ${where} (docs at ${where}/docs)`,
    );
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        robian.logger.warn(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      robian.logger.info({ signal }, 'shutting down');
      const hard = setTimeout(() => {
        robian.logger.error('shutdown took too long: exiting');
        process.exit(1);
      }, (robian.config.shutdownTimeoutSeconds + 5) * 1000);
      hard.unref();
      robian.close().then(
        () => process.exit(0),
        (err: unknown) => {
          robian.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

const db = program.command('db').description('Database: migrations, demo data, checks');

db.command('migrate')
  .description('Apply pending migrations')
  .action(async () => {
    await withKernel(async (robian) => {
      const { executed } = await checkSchema(robian.kernel.orm);
      console.log(`database is up to date (${executed.length} migrations applied)`);
    });
  });

db.command('seed')
  .description('Import the demo committees, deputies and debates (AN open-data records written by the project; idempotent)')
  .option('--if-empty', 'only when the database has no debate yet (what `pnpm start` uses: a real import is never mixed with the demo)')
  .action(async (opts: { ifEmpty?: boolean }) => {
    await withKernel(async (robian) => {
      if (opts.ifEmpty && (await robian.kernel.orm.em.fork().count(DebateSchema, {})) > 0) {
        console.log('the database already has debates: demo not seeded (--if-empty)');
        return;
      }
      const seeded = await seedDemo(robian.kernel);
      const { commissions, deputies, debates } = seeded.report;
      const created = commissions.created + deputies.created + debates.created;
      const updated = commissions.updated + deputies.updated + debates.updated;
      const where = robian.config.database.kind === 'sqlite' ? robian.config.database.path : `PostgreSQL database ${robian.config.database.dbName}`;
      console.log(
        `seeded ${seeded.commissions} commissions, ${seeded.deputies} deputies, ${seeded.debates} debates ` +
          `(demo AN open-data records, imported through ${seeded.via}: ${created} created, ${updated} updated, ` +
          `${commissions.unchanged + deputies.unchanged + debates.unchanged} unchanged) into ${where}`,
      );
    });
  });

db.command('reset')
  .description('Drop every table and migrate again (refused when ENVIRONMENT=production)')
  .option('--yes', 'do not ask')
  .action(async (opts: { yes?: boolean }) => {
    const config = loadConfig();
    if (config.environment === 'production') {
      console.error('robian db reset refuses to run with ENVIRONMENT=production');
      process.exitCode = 1;
      return;
    }
    if (!opts.yes && process.stdin.isTTY) {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(`Drop every Robian table in ${config.database.kind === 'sqlite' ? config.database.path : config.database.dbName}? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        console.log('nothing done');
        return;
      }
    }
    await withKernel(async (robian) => {
      await robian.kernel.orm.migrator.down({ to: 0 });
      await robian.kernel.orm.migrator.up();
      console.log('database reset');
    });
  });

db.command('check')
  .description('Report pending migrations and differences between the entities and the schema (exit 1 if any)')
  .action(async () => {
    await withKernel(async (robian) => {
      const report = await checkSchema(robian.kernel.orm);
      console.log(`applied: ${report.executed.length}, pending: ${report.pending.length ? report.pending.join(', ') : 'none'}`);
      if (report.drift) console.log(`schema differs from the entities:\n${report.drift}`);
      else console.log('schema matches the entities');
      if (report.pending.length || report.drift) process.exitCode = 1;
    }, false);
  });

const listeners = program.command('listeners').description("Listeners' accounts (plugin-listeners)");

listeners
  .command('prune')
  .description('Delete expired refresh tokens and link codes and sessions that can no longer be used')
  .option('--orphaned-after-days <days>', 'also erase accounts with no live session, not seen for this many days')
  .action(async (options: { orphanedAfterDays?: string }) => {
    let days: number | undefined;
    if (options.orphanedAfterDays !== undefined) {
      days = Number(options.orphanedAfterDays);
      if (!Number.isInteger(days) || days < 1) throw new ConfigError([{ variable: '--orphaned-after-days', message: `expected a whole number of days ≥ 1, got "${options.orphanedAfterDays}"` }]);
    }
    await withKernel(async (robian) => {
      const report = await pruneListeners(robian.kernel.em(), days === undefined ? {} : { orphanedAfterDays: days });
      console.log(JSON.stringify(report));
    });
  });

function printReport(report: ImportReport, maxProblems: number): void {
  const line = (label: string, c: ImportReport['debates']) =>
    `${label.padEnd(12)} ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.skipped} skipped${c.removed ? `, ${c.removed} removed` : ''}`;
  console.log(line('commissions', report.commissions));
  console.log(line('deputies', report.deputies));
  console.log(line('debates', report.debates));
  const skipped = report.problems.filter((p) => p.severity !== 'warning');
  const warnings = report.problems.filter((p) => p.severity === 'warning');
  const shown = [...skipped, ...warnings].slice(0, maxProblems);
  if (shown.length) console.log(`problems: ${skipped.length} skipped, ${warnings.length} warnings`);
  for (const p of shown) console.log(`  ${p.severity === 'warning' ? 'warning' : 'skipped'} ${p.kind} ${p.uid}: ${p.reason}`);
  if (report.problems.length > shown.length) console.log(`  … and ${report.problems.length - shown.length} more (--json prints them all)`);
  if (report.durationMs !== undefined) console.log(`done in ${(report.durationMs / 1000).toFixed(1)} s`);
}

function failImport(err: unknown): void {
  if (err instanceof InputError || err instanceof ProblemError) {
    console.error(`import failed: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exitCode = 1;
}

const imports = program.command('import').description('Import a parliament’s open data');

imports
  .command('assemblee')
  .description('Import the Assemblée nationale open data (AMO acteurs/organes, Agenda réunions): a folder, a JSON file, a zip of the dataset, or an http(s) URL to one')
  .argument('<path-or-url>', 'folder, .json file, .zip, or URL on AN_OPEN_DATA_BASE_URL')
  .option('--json', 'print the report as JSON')
  .option('--max-problems <n>', 'problems listed (default 50)', '50')
  .action(async (input: string, opts: { json?: boolean; maxProblems: string }) => {
    try {
      await withKernel(async (robian) => {
        const run = robian.kernel.services.get('assemblee.import');
        const progress = progressReporter(process.stderr);
        // Ctrl-C stops after the current batch (what is committed stays and is reported); twice exits at once
        const controller = new AbortController();
        const onSigint = () => {
          if (controller.signal.aborted) process.exit(130);
          process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit at once)\n');
          controller.abort(new Error('interrupted'));
        };
        process.on('SIGINT', onSigint);
        let result;
        try {
          result = await run(input, { signal: controller.signal, progress: (e) => progress.update(e) });
        } catch (err) {
          progress.end();
          const partial = partialResultOf(err);
          if (partial) {
            console.log(`import stopped: ${(err as Error).message}; committed before it:`);
            printReport(partial.report, Math.max(0, Number(opts.maxProblems) || 0));
            process.exitCode = controller.signal.aborted ? 130 : 1;
            return;
          }
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
        progress.end();
        if (opts.json) console.log(JSON.stringify(result.report, null, 2));
        else printReport(result.report, Math.max(0, Number(opts.maxProblems) || 0));
      });
    } catch (err) {
      failImport(err);
    }
  });

imports
  .command('assemblee-video')
  .description('Link a video page of videos.assemblee-nationale.fr to its réunion: media URLs, chapters and speakers on the debate')
  .argument('<url>', 'a …/video.<id>_<hex>… page')
  .option('--json', 'print the result as JSON')
  .action(async (url: string, opts: { json?: boolean }) => {
    try {
      await withKernel(async (robian) => {
        const result = await robian.kernel.services.get('assemblee.linkVideo')(url);
        if (opts.json) {
          console.log(JSON.stringify(result, null, 2));
          return;
        }
        console.log(`${result.created ? 'created' : 'updated'} debate ${result.debate_id} (réunion ${result.meeting_id})`);
        console.log(`chapters: ${result.chapters}, speakers: ${result.speakers_linked} (${result.speakers_created} new)`);
        for (const c of result.candidates) console.log(`  ${c.kind.padEnd(4)} ${c.url}`);
        for (const w of result.warnings) console.log(`  warning: ${w}`);
      });
    } catch (err) {
      failImport(err);
    }
  });

const schedule = program.command('schedule').description("The Assemblée nationale plugin's scheduled tasks (open data, videos, live sittings, transcripts)");

function printTask(t: TaskStatus): void {
  const when = (v: string | null) => v ?? '-';
  console.log(
    `${t.task.padEnd(24)} every ${String(t.interval_seconds).padStart(6)} s  last ${when(t.last_finished_at)} ${t.last_outcome ?? 'never run'}` +
      `${t.last_duration_ms === null ? '' : ` in ${t.last_duration_ms} ms`}  next ${when(t.next_run_at)}${t.running ? `  running on ${t.owner}` : ''}`,
  );
  if (t.last_error) console.log(`  error: ${t.last_error}`);
}

schedule
  .command('status')
  .description('Each task: last run, outcome, duration, next run, and which instance runs it now')
  .option('--json', 'print the status as JSON')
  .action(async (opts: { json?: boolean }) => {
    await withKernel(async (robian) => {
      const tasks = await robian.kernel.services.get('assemblee.schedule').status();
      if (opts.json) console.log(JSON.stringify(tasks, null, 2));
      else for (const t of tasks) printTask(t);
    });
  });

schedule
  .command('run')
  .description('Run one task now, in this process (refused while another instance runs it)')
  .argument('<task>', 'open-data, videos, live or transcripts (or the full name, e.g. assemblee.videos)')
  .option('--json', 'print the result as JSON')
  .action(async (task: string, opts: { json?: boolean }) => {
    try {
      await withKernel(async (robian) => {
        const status = await robian.kernel.services.get('assemblee.schedule').run(task);
        if (opts.json) console.log(JSON.stringify(status, null, 2));
        else {
          printTask(status);
          if (status.last_summary) console.log(JSON.stringify(status.last_summary, null, 2));
        }
        if (status.last_outcome === 'failed') process.exitCode = 1;
      });
    } catch (err) {
      failImport(err);
    }
  });

const audio = program.command('audio').description('Audio renditions: storage maintenance');

audio
  .command('cleanup')
  .description('Remove renditions not played for the TTL (AUDIO_CLEANUP_TTL_DAYS), files no row points to, stale temp files and (S3) multipart uploads older than S3_ABORT_UPLOADS_AFTER_HOURS; report the bytes freed')
  .option('--ttl-days <days>', 'renditions not played for this many days are removed (0 keeps them)')
  .option('--dry-run', 'report what would be removed, remove nothing')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { ttlDays?: string; dryRun?: boolean; json?: boolean }) => {
    if (opts.ttlDays !== undefined && !/^\d{1,4}$/.test(opts.ttlDays)) {
      console.error(`--ttl-days: expected a number of days, got "${opts.ttlDays}"`);
      process.exitCode = 1;
      return;
    }
    // no extraction workers in this process: it only maintains storage
    const config = loadConfig({ ...process.env, AUDIO_WORKERS: 'false' });
    await withKernel(
      async (robian) => {
        const service = robian.kernel.services.maybe('audio');
        if (!service) throw new Error('the audio plugin is not installed');
        const report = await service.cleanup({ ...(opts.ttlDays === undefined ? {} : { ttlDays: Number(opts.ttlDays) }), dryRun: opts.dryRun ?? false });
        if (opts.json) {
          console.log(JSON.stringify(report, null, 2));
          return;
        }
        for (const r of report.removed) console.log(`${report.dry_run ? 'would remove' : 'removed'} ${r.key} (${r.reason}, ${r.bytes} bytes)`);
        for (const w of report.warnings) console.error(`warning: ${w}`);
        const mb = (report.freed_bytes / 1048576).toFixed(1);
        console.log(`${report.dry_run ? 'would free' : 'freed'} ${report.freed_bytes} bytes (${mb} MiB) in ${report.removed.length} files (TTL ${report.ttl_days} days)`);
      },
      true,
      config,
    );
  });

audio
  .command('migrate')
  .description('Move the local audio library (AUDIO_STORAGE_DIR or DATA_DIR/audio) to the S3_* bucket: each file uploaded, read back and compared by SHA-256, journaled (a second run resumes), then the library is switched (hosts must run with AUDIO_STORAGE=s3; local files are kept)')
  .requiredOption('--to <storage>', 'the target storage: s3')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { to: string; json?: boolean }) => {
    if (opts.to !== 's3') {
      console.error(`--to: expected "s3", got "${opts.to}"`);
      process.exitCode = 1;
      return;
    }
    // the S3 storage is the one this process opens (a migrated local library would be refused); no workers
    const config = loadConfig({ ...process.env, AUDIO_WORKERS: 'false', AUDIO_STORAGE: 's3' });
    await withKernel(
      async (robian) => {
        const service = robian.kernel.services.maybe('audio');
        if (!service) throw new Error('the audio plugin is not installed');
        const report = await service.migrate(opts.json ? undefined : (key, outcome) => console.log(`${outcome.padEnd(7)} ${key}`));
        if (opts.json) console.log(JSON.stringify(report, null, 2));
        else {
          for (const f of report.failed) console.error(`failed  ${f.key}: ${f.error}`);
          console.log(`${report.files} files: ${report.copied} copied (${report.bytes_copied} bytes), ${report.skipped} already there, ${report.verified} verified, ${report.failed.length} failed → ${report.to}`);
          console.log(report.switched ? `switched: ${report.marker} written; run every host with AUDIO_STORAGE=s3 from now on` : 'not switched: run the command again (it resumes) once the failures are fixed');
        }
        if (!report.switched) process.exitCode = 1;
      },
      true,
      config,
    );
  });

const search = program.command('search').description('The full-text search index (@robian/plugin-search)');

search
  .command('status')
  .description('Debates in the tables and in the search index (exit 1 if they differ)')
  .action(async () => {
    await withKernel(async (robian) => {
      const status = await robian.kernel.services.get('search').status();
      console.log(`debates: ${status.debates}, indexed: ${status.indexed}${status.debates === status.indexed ? '' : ' (run `robian search reindex`)'}`);
      if (status.debates !== status.indexed) process.exitCode = 1;
    });
  });

search
  .command('reindex')
  .description('Rebuild the search index from the tables (the database triggers keep it in step; this repairs it)')
  .action(async () => {
    await withKernel(async (robian) => {
      const started = Date.now();
      const n = await robian.kernel.services.get('search').reindex();
      console.log(`indexed ${n} debates in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
  });

registerOpsCommands(program, withKernel);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PluginError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
