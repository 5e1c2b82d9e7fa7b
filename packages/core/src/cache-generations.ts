import { defineEntity, type MikroORM } from '@mikro-orm/core';

/**
 * Where the memory-only cache learns that another process wrote (`robian import`, `robian db seed`,
 * another server on the same SQLite file): one row per cache namespace in the database, whose
 * generation every invalidation bumps. `*` stands for every namespace (`invalidateAll`).
 */
export interface GenerationStore {
  /** Every namespace's generation. */
  read(): Promise<Map<string, number>>;
  /** Adds one to a namespace's generation and returns the new one. */
  bump(namespace: string): Promise<number>;
}

export const ALL_NAMESPACES = '*';

const p = defineEntity.properties;

/** One row per cache namespace that was invalidated in embedded mode (no Redis): its generation. */
export const CacheGenerationSchema = defineEntity({
  name: 'CacheGeneration',
  tableName: 'cache_generation',
  properties: {
    namespace: p.string().length(128).primary(),
    generation: p.integer().default(0),
  },
});

/** The `cache_generation` table (migration core-0005-cache-generation). */
export class DatabaseGenerations implements GenerationStore {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  #execute<T>(sql: string, params: unknown[] = []): Promise<T> {
    return (this.#orm.em.getConnection() as unknown as { execute(sql: string, params: unknown[]): Promise<T> }).execute(sql, params);
  }

  async read(): Promise<Map<string, number>> {
    const rows = await this.#execute<{ namespace: string; generation: number | string }[]>('select namespace, generation from cache_generation');
    return new Map(rows.map((r) => [r.namespace, Number(r.generation)]));
  }

  async bump(namespace: string): Promise<number> {
    // one statement on both databases (SQLite ≥ 3.35 and PostgreSQL have upsert + returning)
    const rows = await this.#execute<{ generation: number | string }[]>(
      'insert into cache_generation (namespace, generation) values (?, 1) on conflict (namespace) do update set generation = cache_generation.generation + 1 returning generation',
      [namespace],
    );
    return Number(rows[0]?.generation ?? 0);
  }
}
