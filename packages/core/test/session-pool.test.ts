import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKernel, createLogger, openSessionPool, type EntityManager } from '@robian/core';
import { createTestEnvironment, serverModeSkip } from '@robian/test-support';

describe('openSessionPool (PostgreSQL)', { skip: serverModeSkip() }, () => {
  it('starts its sessions with the given settings, binds ? placeholders, and leaves the host connections alone', async () => {
    const env = await createTestEnvironment('postgresql+redis');
    const kernel = createKernel({ config: env.config, logger: createLogger({ level: 'silent' }), defaultMetrics: false });
    await kernel.start();
    const pool = await openSessionPool(env.config, { name: 'robian-test', settings: { random_page_cost: '1.3', jit: 'off' }, max: 2 });
    try {
      const [own] = await pool.query<{ rpc: string; jit: string; app: string; x: string }>(
        "select current_setting('random_page_cost') as rpc, current_setting('jit') as jit, current_setting('application_name') as app, ?::text || ?::text as x",
        ['a', 'b'],
      );
      assert.deepEqual(own, { rpc: '1.3', jit: 'off', app: 'robian-test', x: 'ab' });
      // MikroORM's connections keep the server's defaults
      const conn = (kernel.orm.em.fork() as unknown as EntityManager).getConnection();
      const [host] = await conn.execute<{ rpc: string }[]>("select current_setting('random_page_cost') as rpc");
      assert.notEqual(host!.rpc, '1.3');
      await assert.rejects(pool.query('select ?, ?', [1]), /2 placeholders for 1 parameters/);
      await assert.rejects(openSessionPool(env.config, { name: 'x', settings: { 'random_page_cost; drop table debate': '1' } }), /invalid session setting/);
      await assert.rejects(openSessionPool(env.config, { name: 'x', settings: { jit: 'off -c log_statement=all' } }), /invalid session setting/);
    } finally {
      await pool.close();
      await kernel.stop();
      await env.cleanup();
    }
  });
});
