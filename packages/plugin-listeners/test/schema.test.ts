import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSchema, coreMigrations } from '@robian/core';
import { STORAGE_MODES } from '@robian/test-support';
import { LISTENER_TABLES } from '@robian/plugin-listeners';
import { startListenersHost } from './helpers.ts';

for (const mode of STORAGE_MODES) {
  describe(`schema (${mode.name})`, { skip: mode.skip }, () => {
    it('the migrations create exactly what the entities describe', async () => {
      const host = await startListenersHost(mode.name);
      try {
        const check = await checkSchema(host.robian.kernel.orm);
        assert.deepEqual(check.pending, []);
        assert.ok(check.executed.includes('listeners-0001-initial'));
        assert.equal(check.drift, '');
        // every table exists and starts empty
        const conn = (host.robian.kernel.orm.em.fork() as unknown as { getConnection(): { execute<T>(sql: string): Promise<T> } }).getConnection();
        for (const t of LISTENER_TABLES) {
          const [row] = await conn.execute<{ n: number | string }[]>(`select count(*) as n from ${t}`);
          assert.equal(Number(row?.n), 0, t);
        }
      } finally {
        await host.close();
      }
    });

    it('documents every route in /openapi.json, with the listener token scheme', async () => {
      const host = await startListenersHost(mode.name);
      try {
        const res = await host.request('/openapi.json');
        assert.equal(res.status, 200);
        const doc = (await res.json()) as { paths: Record<string, Record<string, { security?: { userToken?: unknown[] }[] }>> };
        for (const r of host.robian.kernel.openapi.routes().filter((x) => x.owner === 'listeners')) {
          const op = doc.paths[r.path]?.[r.method.toLowerCase()];
          assert.ok(op, `${r.method} ${r.path} is documented`);
          const open = ['/api/auth/device', '/api/auth/refresh', '/api/auth/link/redeem'].includes(r.path);
          assert.equal(Boolean(op.security?.some((s) => 'userToken' in s)), !open, `${r.method} ${r.path} security`);
        }
      } finally {
        await host.close();
      }
    });

    it('reverts cleanly', async () => {
      const host = await startListenersHost(mode.name);
      try {
        const orm = host.robian.kernel.orm;
        await orm.migrator.down({ to: coreMigrations.at(-1)!.name } as never);
        const conn = (orm.em.fork() as unknown as { getConnection(): { execute<T>(sql: string): Promise<T> } }).getConnection();
        const sql =
          mode.name === 'sqlite'
            ? "select name from sqlite_master where type = 'table' and name like 'listener_%'"
            : "select table_name as name from information_schema.tables where table_schema = 'public' and table_name like 'listener_%'";
        assert.deepEqual(await conn.execute(sql), []);
        await orm.migrator.up();
        assert.equal((await checkSchema(orm)).drift, '');
      } finally {
        await host.close();
      }
    });
  });
}
