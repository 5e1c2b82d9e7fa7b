import { dialectOfConfig, openSessionPool, type CacheNamespace, type Dialect, type EntityManager, type PluginContext, type PluginHealth, type SessionPool } from '@robian/core';
import { SEARCH_PLANNER_SETTINGS } from './engine.ts';
import { SQLITE_FACETS_FILL, SQLITE_UP } from './migrations.ts';

/** What the plugin offers other plugins and the CLI (`ctx.services.get('search')`). */
export interface SearchService {
  /** Rebuilds the whole index from the tables (the triggers keep it in step; this is for repairs). Returns the number of debates indexed. */
  reindex(): Promise<number>;
  /** Debates in the tables and in the index (equal when in step). */
  status(): Promise<{ debates: number; indexed: number }>;
}

declare module '@robian/core' {
  interface RobianServices {
    /** Provided by @robian/plugin-search. */
    search: SearchService;
  }
}

/** The migration's last statement indexes every debate. */
const SQLITE_REINDEX = SQLITE_UP[SQLITE_UP.length - 1]!;

async function reindexAll(em: EntityManager, dialect: Dialect): Promise<number> {
  const conn = em.getConnection();
  if (dialect === 'postgresql') {
    await conn.execute('select search_refresh(array(select id from debate))');
  } else {
    await em.transactional(async (tx) => {
      const c = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await c.execute('delete from search_debate_fts', [], 'run', ctx);
      await c.execute(SQLITE_REINDEX, [], 'run', ctx);
      await c.execute('delete from search_debate_facets', [], 'run', ctx);
      await c.execute(SQLITE_FACETS_FILL, [], 'run', ctx);
    });
  }
  const [row] = await conn.execute<{ n: number | string }[]>(dialect === 'postgresql' ? 'select count(*) as n from search_debate' : 'select count(*) as n from search_debate_fts');
  return Number(row?.n ?? 0);
}

/**
 * The search index of one plugin instance: its dialect, its PostgreSQL session pool, the response
 * cache it clears when debates change, the `search` service and the plugin's health.
 */
export class SearchIndex implements SearchService {
  readonly ctx: PluginContext;
  readonly dialect: Dialect;
  readonly cache: CacheNamespace;
  /** PostgreSQL: connections of their own that start with the planner settings search needs (docs/decisions.md § Search 11). */
  pool: SessionPool | undefined;

  /** Matches counted, faceted and ranked exactly (the plugin's `exactLimit`, SEARCH_EXACT_LIMIT). */
  readonly exactLimit: number;

  /** The same for the moment search (the plugin's `momentExactLimit`, SEARCH_MOMENT_EXACT_LIMIT). */
  readonly momentExactLimit: number;

  constructor(ctx: PluginContext, exactLimit = 5000, momentExactLimit = 500) {
    this.ctx = ctx;
    this.exactLimit = exactLimit;
    this.momentExactLimit = momentExactLimit;
    this.dialect = dialectOfConfig(ctx.config);
    this.cache = ctx.cache.namespace('search', ctx.config.cacheTtl.search);
  }

  /** The request's entity manager (a fresh fork outside a request). */
  em(): EntityManager {
    return this.ctx.em;
  }

  async open(): Promise<void> {
    const pool = this.dialect === 'postgresql' ? await openSessionPool(this.ctx.config, { name: 'robian-search', settings: SEARCH_PLANNER_SETTINGS }) : undefined;
    this.pool = pool;
    if (pool) this.ctx.onStop(() => pool.close());
  }

  /** Clears the cached responses when debates change; provides the `search` service. */
  register(): void {
    const invalidate = () => this.invalidate();
    this.ctx.events.on('debate.created', invalidate);
    this.ctx.events.on('debate.updated', invalidate);
    this.ctx.events.on('debate.deleted', invalidate);
    this.ctx.events.on('import.completed', invalidate);
    this.ctx.events.on('transcript.updated', invalidate);
    this.ctx.services.provide('search', { reindex: () => this.reindex(), status: () => this.status() });
  }

  async invalidate(): Promise<void> {
    await this.cache.invalidate();
  }

  async reindex(): Promise<number> {
    const n = await reindexAll(this.ctx.orm.em.fork() as unknown as EntityManager, this.dialect);
    await this.invalidate();
    return n;
  }

  async status(): Promise<{ debates: number; indexed: number }> {
    const conn = (this.ctx.orm.em.fork() as unknown as EntityManager).getConnection();
    const [row] = await conn.execute<{ debates: number | string; indexed: number | string }[]>(
      this.dialect === 'postgresql'
        ? 'select (select count(*) from debate) as debates, (select count(*) from search_debate) as indexed'
        : // a debate is found when it has its document and its copy of date, type and committee
          'select (select count(*) from debate) as debates, min((select count(*) from search_debate_fts), (select count(*) from search_debate_facets)) as indexed',
    );
    return { debates: Number(row?.debates ?? 0), indexed: Number(row?.indexed ?? 0) };
  }

  async health(): Promise<PluginHealth> {
    const status = await this.status();
    return { status: status.debates === status.indexed ? 'ok' : 'degraded', ...status };
  }
}
