import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createClient } from '@redis/client';
import { loadConfig, type PluginInput, type RobianConfig } from '@robian/core';
import { createRobian, type Robian, type RobianOptions } from '@robian/host';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';
export const SECRET = 'test-secret-key-0123456789abcdef0123456789';

const CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The PostgreSQL and Redis servers the server-mode suites use. They come from DATABASE_URL and
 * REDIS_URL; under CI=true they default to the local servers, so those suites run (and fail when
 * the servers are unreachable) instead of skipping.
 */
export function serverUrls(): { databaseUrl: string; redisUrl: string } | undefined {
  const databaseUrl = process.env.DATABASE_URL ?? (CI ? 'postgresql://postgres@127.0.0.1:5432/test' : undefined);
  const redisUrl = process.env.REDIS_URL ?? (CI ? 'redis://127.0.0.1:6379' : undefined);
  if (!databaseUrl || !redisUrl || !/^postgres/.test(databaseUrl)) return undefined;
  return { databaseUrl, redisUrl };
}

/** `{ skip }` for node:test when the server mode is not configured (never under CI). */
export function serverModeSkip(): string | false {
  return serverUrls() ? false : 'set DATABASE_URL=postgresql://… and REDIS_URL=redis://… to run the server-mode suite (CI always does)';
}

export interface StorageMode {
  name: 'sqlite' | 'postgresql+redis';
  skip: string | false;
}

export const STORAGE_MODES: StorageMode[] = [
  { name: 'sqlite', skip: false },
  { name: 'postgresql+redis', skip: serverModeSkip() },
];

const uid = () => `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

/** A database of its own on the PostgreSQL server, dropped by `drop()`. */
export async function createTestDatabase(adminUrl = serverUrls()?.databaseUrl): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  if (!adminUrl) throw new Error('no PostgreSQL configured (DATABASE_URL)');
  const name = `robian_t_${uid()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Deletes every Redis key under a prefix (what a test created, nothing else). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  if (!prefix || prefix.length < 8) throw new Error('refusing to delete a short Redis prefix');
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

export interface TestEnvironment {
  env: Record<string, string>;
  config: RobianConfig;
  dataDir: string;
  cleanup(): Promise<void>;
}

/**
 * A complete environment for one test: its own DATA_DIR, its own database (SQLite file, or a
 * fresh PostgreSQL database) and its own Redis key prefix. `cleanup()` removes all of it.
 */
export async function createTestEnvironment(mode: StorageMode['name'] = 'sqlite', extraEnv: Record<string, string> = {}): Promise<TestEnvironment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'robian-test-'));
  const env: Record<string, string> = {
    ENVIRONMENT: 'test',
    DATA_DIR: dataDir,
    ADMIN_API_KEY: ADMIN_KEY,
    SECRET_KEY: SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_TIMEOUT: '5',
    // suites that test the rate limits set their own; the others must not trip over them
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_STRICT_PER_MINUTE: '0',
  };
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  if (mode === 'postgresql+redis') {
    const urls = serverUrls();
    if (!urls) throw new Error('server mode needs DATABASE_URL and REDIS_URL');
    const db = await createTestDatabase(urls.databaseUrl);
    const prefix = `robian-test:${uid()}:`;
    env.DATABASE_URL = db.url;
    env.REDIS_URL = urls.redisUrl;
    env.REDIS_KEY_PREFIX = prefix;
    cleanups.push(() => db.drop(), () => deleteRedisPrefix(urls.redisUrl, prefix));
  }
  Object.assign(env, extraEnv);
  return {
    env,
    config: loadConfig(env),
    dataDir,
    async cleanup() {
      for (const c of cleanups.reverse()) await c();
    },
  };
}

export interface TestHost {
  robian: Robian;
  url: string;
  env: TestEnvironment;
  /** fetch relative to the host; JSON bodies are encoded. */
  request(path: string, init?: RequestInit & { json?: unknown; admin?: boolean }): Promise<Response>;
  close(): Promise<void>;
}

/** Starts a host on 127.0.0.1 on a free port. */
export async function startTestHost(
  options: { mode?: StorageMode['name']; env?: Record<string, string>; plugins?: PluginInput[]; environment?: TestEnvironment } & Omit<RobianOptions, 'config' | 'plugins'> = {},
): Promise<TestHost> {
  const environment = options.environment ?? (await createTestEnvironment(options.mode ?? 'sqlite', options.env));
  const { mode: _m, env: _e, environment: _env, plugins, ...rest } = options;
  const robian = createRobian({ config: environment.config, plugins: plugins ?? [], defaultMetrics: false, ...rest });
  const server = await robian.listen(0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    robian,
    url,
    env: environment,
    request(path, init = {}) {
      const { json, admin, ...rest2 } = init;
      const headers = new Headers(rest2.headers);
      if (json !== undefined) headers.set('content-type', 'application/json');
      if (admin) headers.set('authorization', `Bearer ${ADMIN_KEY}`);
      return fetch(url + path, { ...rest2, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    async close() {
      if (closed) return;
      closed = true;
      await robian.close();
      if (!options.environment) await environment.cleanup();
    },
  };
}
export { serveTestLiveHls, serveTestMp3, type TestLiveHls, type TestMp3Server } from './media.ts';
