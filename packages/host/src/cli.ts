#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, PluginError, checkSchema, loadConfig, type RobianConfig } from '@robian/core';
import { createRobian, type Robian } from './app.ts';
import { officialPlugins } from './official.ts';
import { seedDemo } from './seed.ts';
import { HOST_VERSION } from './version.ts';

function instance(overrides: { migrateOnStart?: boolean; config?: RobianConfig } = {}): Robian {
  const config = overrides.config ?? loadConfig();
  return createRobian({ config, plugins: officialPlugins(), ...(overrides.migrateOnStart === undefined ? {} : { migrateOnStart: overrides.migrateOnStart }) });
}

async function withKernel<T>(fn: (robian: Robian) => Promise<T>, migrateOnStart = true): Promise<T> {
  const robian = instance({ migrateOnStart });
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
    const robian = instance();
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
  .description('Insert demo committees, deputies and debates (idempotent)')
  .action(async () => {
    await withKernel(async (robian) => {
      const counts = await seedDemo(robian.kernel);
      console.log(`seeded ${counts.commissions} commissions, ${counts.deputies} deputies, ${counts.debates} debates`);
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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PluginError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
