import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PLUGIN_API_VERSION, checkSchema, createKernel, createLogger, definePlugin, loadConfig, sqlMigration, type UnmanagedSchema } from '@robian/core';

const dataDir = mkdtempSync(join(tmpdir(), 'robian-unmanaged-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

// a plugin whose migration adds a table and a trigger that no entity describes
const migration = sqlMigration('extra-0001', {
  sqlite: [
    'create table `extra_log` (`debate_id` integer not null)',
    'create trigger `extra_debate_ai` after insert on `debate` for each row begin insert into extra_log (debate_id) values (new.id); end',
  ],
  postgresql: ['create table "extra_log" ("debate_id" int not null)'],
});

async function drift(unmanagedSchema?: UnmanagedSchema): Promise<string> {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'sqlite::memory:', ADMIN_API_KEY: 'k'.repeat(32), SECRET_KEY: 's'.repeat(32) });
  const plugin = definePlugin({ name: 'extra', version: '1.0.0', apiVersion: PLUGIN_API_VERSION, migrations: [migration], ...(unmanagedSchema ? { unmanagedSchema } : {}) });
  const kernel = createKernel({ config, logger: createLogger({ level: 'silent' }), defaultMetrics: false, plugins: [plugin] });
  await kernel.start();
  try {
    return (await checkSchema(kernel.orm)).drift;
  } finally {
    await kernel.stop();
  }
}

describe('unmanagedSchema', () => {
  it('keeps objects created by migrations outside the entities out of the schema diff', async () => {
    const undeclared = await drift();
    assert.match(undeclared, /drop table if exists `extra_log`/);
    assert.match(undeclared, /drop trigger if exists `extra_debate_ai`/);
    assert.equal(await drift({ tables: ['extra_log'], triggers: true }), '');
    assert.equal(await drift({ tables: [/^extra_/], triggers: true, routines: true }), '');
  });
});
