// Development aid: prints the CREATE statements MikroORM derives from the entities, per dialect,
// as a starting point for a new migration (`node packages/core/scripts/print-schema.ts [module.ts export]`).
import { MikroORM } from '@mikro-orm/core';
import { SqliteDriver } from '@mikro-orm/sqlite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { coreEntities } from '../src/entities.ts';

const extra = process.argv[2] ? ((await import(process.argv[2])) as Record<string, unknown[]>)[process.argv[3] ?? 'entities'] ?? [] : [];
const entities = [...coreEntities, ...extra];
const split = (sql: string) => sql.split(/;\s*\n/).map((s) => s.trim().replace(/;$/, '')).filter((s) => s && !s.startsWith('set names'));
const sqlite = await MikroORM.init({ driver: SqliteDriver, dbName: ':memory:', entities } as never);
const pg = await MikroORM.init({ driver: PostgreSqlDriver, clientUrl: process.env.PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test', entities, connect: false } as never);
console.log(JSON.stringify({ sqlite: split(await sqlite.schema.getCreateSchemaSQL()), postgresql: split(await pg.schema.getCreateSchemaSQL()) }, null, 2));
await sqlite.close();
await pg.close();
