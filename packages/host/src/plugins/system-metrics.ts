import { statfs } from 'node:fs/promises';
import type { EntityManager, PluginMetrics, RobianKernel } from '@robian/core';
import { HOST_VERSION } from '../version.ts';

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

const PING_TIMEOUT_MS = 1000;

async function ping(kernel: RobianKernel): Promise<boolean> {
  if (kernel.state !== 'started') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const conn = (kernel.orm.em as unknown as EntityManager).getConnection();
    await Promise.race([
      conn.execute('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function pgPool(kernel: RobianKernel): Promise<PgPool | undefined> {
  if (kernel.state !== 'started' || kernel.config.database.kind !== 'postgresql') return undefined;
  const conn = (kernel.orm.em as unknown as EntityManager).getConnection() as unknown as { getNativeClient?: () => Promise<PgPool> };
  try {
    return await conn.getNativeClient?.();
  } catch {
    return undefined;
  }
}

/**
 * The metrics an operator's alerts need beyond the HTTP ones: the database (reachable, pool use),
 * the disk under DATA_DIR and the build. Read at scrape time; nothing runs between scrapes.
 * docs/operations.md § Metrics lists them with the alerts that use them.
 */
export function registerSystemMetrics(metrics: PluginMetrics, kernel: RobianKernel): void {
  metrics.gauge({
    name: 'robian_build_info',
    help: 'Always 1; the labels say which Robian and which storage mode this is',
    labelNames: ['version', 'node', 'database'],
    collect() {
      this.set({ version: HOST_VERSION, node: process.version, database: kernel.config.database.kind }, 1);
    },
  });
  metrics.gauge({
    name: 'robian_db_up',
    help: `1 when the database answers "select 1" within ${PING_TIMEOUT_MS} ms at scrape time, else 0`,
    async collect() {
      this.set((await ping(kernel)) ? 1 : 0);
    },
  });
  metrics.gauge({
    name: 'robian_db_pool_max',
    help: 'Connections the database pool may open (DB_POOL_SIZE; 1 for SQLite, one connection)',
    collect() {
      this.set(kernel.config.database.kind === 'postgresql' ? kernel.config.dbPoolSize : 1);
    },
  });
  metrics.gauge({
    name: 'robian_db_pool_connections',
    help: 'Database pool connections by state: used (lent to a query), idle, waiting (queries waiting for one)',
    labelNames: ['state'],
    async collect() {
      const pool = await pgPool(kernel);
      if (!pool) {
        this.set({ state: 'used' }, 0);
        this.set({ state: 'idle' }, kernel.state === 'started' ? 1 : 0);
        this.set({ state: 'waiting' }, 0);
        return;
      }
      this.set({ state: 'used' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  const disk = async () => {
    try {
      const s = await statfs(kernel.config.dataDir);
      return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
    } catch {
      return undefined;
    }
  };
  metrics.gauge({
    name: 'robian_data_dir_size_bytes',
    help: 'Size of the file system holding DATA_DIR',
    async collect() {
      const d = await disk();
      if (d) this.set(d.size);
    },
  });
  metrics.gauge({
    name: 'robian_data_dir_free_bytes',
    help: 'Bytes of the file system holding DATA_DIR that Robian may still write (statfs bavail)',
    async collect() {
      const d = await disk();
      if (d) this.set(d.free);
    },
  });
}
