import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AnyEntity, EntitySchema, MigrationObject } from '@mikro-orm/core';
import { MikroORM, type Options } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { SqliteDriver } from '@mikro-orm/sqlite';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Migrator, Migration } from '@mikro-orm/migrations';
import type { DatabaseConfig, RobianConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { UnmanagedSchema } from './plugin.ts';

export type { EntityManager } from '@mikro-orm/sql';
export type RobianOrm = MikroORM;
export type Dialect = DatabaseConfig['kind'];

export interface DialectSql {
  sqlite: string[];
  postgresql: string[];
}

/**
 * A migration written once for both storage modes: the SQL of each dialect, up and (optionally) down.
 * Plugins contribute theirs through `definePlugin({ migrations })`; names must be unique, so prefix them
 * with the plugin name, e.g. `audio-0001-extraction-job`.
 */
export function sqlMigration(name: string, up: DialectSql, down?: DialectSql): MigrationObject {
  const Named = class extends Migration {
    override up(): void {
      for (const sql of up[dialectOf(this.driver)]) this.addSql(sql);
    }
    override down(): void {
      if (!down) throw new Error(`migration ${name} cannot be reverted`);
      for (const sql of down[dialectOf(this.driver)]) this.addSql(sql);
    }
  };
  Object.defineProperty(Named, 'name', { value: name });
  return { name, class: Named };
}

function dialectOf(driver: unknown): Dialect {
  return driver instanceof PostgreSqlDriver ? 'postgresql' : 'sqlite';
}

export interface OrmSettings {
  config: RobianConfig;
  logger: Logger;
  entities: EntitySchema<AnyEntity>[] | unknown[];
  migrations: MigrationObject[];
  /** Schema objects created by migrations outside the entities: the schema diff leaves them alone. */
  unmanaged?: UnmanagedSchema;
}

/** Opens the database of the configured storage mode (SQLite file or PostgreSQL). */
export async function openOrm({ config, logger, entities, migrations, unmanaged }: OrmSettings): Promise<MikroORM> {
  const db = config.database;
  const common: Partial<Options> = {
    entities: entities as Options['entities'],
    schemaGenerator: {
      ...(unmanaged?.tables?.length ? { skipTables: unmanaged.tables } : {}),
      ...(unmanaged?.triggers ? { ignoreTriggers: true } : {}),
      ...(unmanaged?.routines ? { ignoreRoutines: true } : {}),
    },
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'robian_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    debug: config.dbEcho,
    logger: (message: string) => logger.debug({ orm: true }, message),
    allowGlobalContext: false,
    // only an explicit flush writes: a request that fails validation half-way never leaves a row behind
    flushMode: 'commit',
    forceUtcTimezone: true,
  };
  let orm: MikroORM;
  if (db.kind === 'sqlite') {
    if (db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
    orm = await MikroORM.init({ ...common, driver: SqliteDriver, dbName: db.path } as Options);
    const conn = (orm.em as unknown as EntityManager).getConnection();
    // WAL lets readers go on while a writer commits; busy_timeout waits instead of failing on a lock
    if (db.path !== ':memory:') await conn.execute('pragma journal_mode = wal');
    await conn.execute('pragma busy_timeout = 5000');
    await conn.execute('pragma foreign_keys = on');
    await conn.execute('pragma synchronous = normal');
  } else {
    orm = await MikroORM.init({
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: db.url,
      pool: { min: 0, max: config.dbPoolSize },
    } as Options);
  }
  return orm;
}

export function dialectOfConfig(config: RobianConfig): Dialect {
  return config.database.kind;
}

/** Applies pending migrations; returns their names. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}

export interface SchemaCheck {
  pending: string[];
  executed: string[];
  /** SQL that would bring the database in line with the entities (empty when in step). */
  drift: string;
}

/** What `robian db check` reports: pending migrations and any difference between entities and the schema. */
export async function checkSchema(orm: MikroORM): Promise<SchemaCheck> {
  const pending = (await orm.migrator.getPending()).map((m) => m.name);
  const executed = (await orm.migrator.getExecuted()).map((m) => m.name);
  const drift = (await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false })).trim();
  return { pending, executed, drift };
}

/** A pool of PostgreSQL connections of a plugin's own (see `openSessionPool`). */
export interface SessionPool {
  /** Runs one statement with `?` placeholders (as `Connection.execute`), outside any transaction. */
  query<T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;
const SETTING_VALUE = /^[A-Za-z0-9_.-]+$/;

/**
 * PostgreSQL: a small pool of connections of its own whose sessions start with `settings` (sent as
 * startup options, so no statement and no transaction is spent on them, and no other connection of
 * the host sees them). For statements that need planner settings of their own — plugin-search's,
 * whose plans depend on `random_page_cost` — without a `SET LOCAL` round trip each time.
 * Connections open on demand and close after 10 s idle.
 */
export async function openSessionPool(config: RobianConfig, options: { name: string; settings: Record<string, string>; max?: number }): Promise<SessionPool> {
  const db = config.database;
  if (db.kind !== 'postgresql') throw new Error('openSessionPool needs PostgreSQL');
  for (const [k, v] of Object.entries(options.settings)) {
    if (!SETTING_NAME.test(k) || !SETTING_VALUE.test(v)) throw new Error(`invalid session setting ${k}=${v}`);
  }
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: db.url,
    max: options.max ?? config.dbPoolSize,
    idleTimeoutMillis: 10_000,
    // idle connections never keep a process alive (a CLI command, a test run)
    allowExitOnIdle: true,
    application_name: options.name,
    options: Object.entries(options.settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' '),
  });
  // an idle connection that the server drops must not crash the process
  pool.on('error', () => {});
  return {
    async query<T extends Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      if (n !== params.length) throw new Error(`${n} placeholders for ${params.length} parameters`);
      const result = await pool.query<T>(text, params as unknown[]);
      return result.rows;
    },
    close: () => pool.end(),
  };
}
