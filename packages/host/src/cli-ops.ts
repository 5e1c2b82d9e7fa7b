import type { Command } from 'commander';
import { loadConfig, type RobianConfig } from '@robian/core';
import type { Robian } from './app.ts';
import { BackupError, backup, restoreAudio, restoreDatabase, verifyBackup } from './backup.ts';
import { checkIntegrity } from './integrity.ts';

type WithKernel = <T>(fn: (robian: Robian) => Promise<T>, migrateOnStart?: boolean, config?: RobianConfig) => Promise<T>;

/** No extraction workers and no schedulers in a maintenance process. */
const maintenanceConfig = () => loadConfig({ ...process.env, AUDIO_WORKERS: 'false' });

function fail(err: unknown): void {
  if (err instanceof BackupError) console.error(`error: ${err.message}`);
  else console.error(err);
  process.exitCode = 1;
}

/** `robian backup`, `robian restore`, `robian integrity` (docs/operations.md § Backups). */
export function registerOpsCommands(program: Command, withKernel: WithKernel): void {
  program
    .command('backup')
    .description('Back up the database (SQLite online backup / pg_dump) and the audio files, with a manifest of SHA-256 sums, into a new folder')
    .argument('<dir>', 'a folder that does not exist yet or is empty')
    .option('--json', 'print the manifest')
    .action(async (dir: string, opts: { json?: boolean }) => {
      try {
        await withKernel(
          async (robian) => {
            const m = await backup(robian, dir);
            if (opts.json) console.log(JSON.stringify(m, null, 2));
            else {
              const rows = Object.values(m.tables).reduce((a, b) => a + b, 0);
              const bytes = m.audio.reduce((a, f) => a + f.bytes, 0);
              console.log(`backed up the ${m.database.kind} database (${rows} rows in ${Object.keys(m.tables).length} tables) and ${m.audio.length} audio files (${bytes} bytes) into ${dir}`);
            }
          },
          true,
          maintenanceConfig(),
        );
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('restore')
    .description('Restore a backup made by `robian backup` (stop the server first); refused onto a database that holds rows unless --force')
    .argument('<dir>', 'the backup folder')
    .option('--force', 'overwrite a database that is not empty')
    .action(async (dir: string, opts: { force?: boolean }) => {
      try {
        const config = maintenanceConfig();
        const manifest = await verifyBackup(dir);
        await restoreDatabase(config, dir, manifest, opts.force ?? false);
        // then migrate (a backup of an older version) and put the audio files back
        await withKernel(
          async (robian) => {
            const audio = await restoreAudio(robian, dir, manifest);
            console.log(`restored the ${manifest.database.kind} database of ${manifest.created_at} and ${audio.files} audio files (${audio.bytes} bytes)`);
          },
          true,
          config,
        );
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('integrity')
    .description('Check rows without files, files without rows, a sample of checksums and the search index (exit 1 on a problem)')
    .option('--sample <n>', 'files whose checksum is verified (default 20)', '20')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { sample: string; json?: boolean }) => {
      if (!/^\d{1,6}$/.test(opts.sample)) {
        console.error(`--sample: expected a number of files, got "${opts.sample}"`);
        process.exitCode = 1;
        return;
      }
      await withKernel(
        async (robian) => {
          const report = await checkIntegrity(robian, { sample: Number(opts.sample) });
          if (opts.json) console.log(JSON.stringify(report, null, 2));
          else {
            for (const p of report.problems) console.log(`problem ${p.kind}${p.key ? ` ${p.key}` : ''}: ${p.detail}`);
            console.log(
              `${report.ok ? 'ok' : `${report.problems.length} problems`}: ${report.audio_rows} audio rows, ${report.stored_files} stored files, ` +
                `${report.checksums_verified} checksums verified (${report.checksums_missing} files have none)` +
                (report.search ? `, search index ${report.search.indexed}/${report.search.debates}` : ''),
            );
          }
          if (!report.ok) process.exitCode = 1;
        },
        true,
        maintenanceConfig(),
      );
    });
}
