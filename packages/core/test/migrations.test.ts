import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSchema, createKernel, createLogger } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment } from '@robian/test-support';

for (const mode of STORAGE_MODES) {
  describe(`migrations on ${mode.name}`, { skip: mode.skip }, () => {
    it('create the schema the entities describe, revert to nothing and apply again', async () => {
      const env = await createTestEnvironment(mode.name);
      const kernel = createKernel({ config: env.config, logger: createLogger({ level: 'silent' }), defaultMetrics: false });
      try {
        await kernel.start();
        const first = await checkSchema(kernel.orm);
        assert.deepEqual(first.pending, []);
        assert.deepEqual(first.executed, ['core-0001-initial', 'core-0002-transcripts', 'core-0003-scheduled-task', 'core-0004-original-fields', 'core-0005-cache-generation', 'core-0006-unique-committee-slugs']);
        assert.equal(first.drift, '', 'no difference between entities and migrated schema');
        await kernel.orm.migrator.down({ to: 0 });
        const down = await checkSchema(kernel.orm);
        assert.deepEqual(down.pending, ['core-0001-initial', 'core-0002-transcripts', 'core-0003-scheduled-task', 'core-0004-original-fields', 'core-0005-cache-generation', 'core-0006-unique-committee-slugs']);
        assert.notEqual(down.drift, '', 'tables are gone');
        await kernel.orm.migrator.up();
        assert.equal((await checkSchema(kernel.orm)).drift, '');
      } finally {
        await kernel.stop();
        await env.cleanup();
      }
    });
  });
}
