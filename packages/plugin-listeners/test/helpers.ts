import assert from 'node:assert/strict';
import { startTestHost, type StorageMode, type TestHost } from '@robian/test-support';
import { listenersPlugin, LISTENER_TABLES } from '@robian/plugin-listeners';

export interface Tokens {
  access_token: string;
  refresh_token: string;
  account_id: string;
  session_id: string;
  expires_in: number;
}

/** A host with the listeners plugin; rate limits off unless the test sets them. */
export function startListenersHost(mode: StorageMode['name'], env: Record<string, string> = {}): Promise<TestHost> {
  return startTestHost({ mode, plugins: [listenersPlugin], env: { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_STRICT_PER_MINUTE: '0', ...env } });
}

export async function json<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** fetch with a listener's bearer token. */
export function as(host: TestHost, token: string | undefined) {
  return (path: string, init: RequestInit & { json?: unknown } = {}) =>
    host.request(path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) } });
}

export async function newDevice(host: TestHost, name = 'phone'): Promise<Tokens> {
  return json<Tokens>(await host.request('/api/auth/device', { method: 'POST', json: { device_name: name } }), 201);
}

let seq = 0;
export async function newDebate(host: TestHost, title = 'Séance'): Promise<number> {
  seq++;
  const body = await json<{ id: number }>(
    await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: `${title} ${seq}`, date: '2025-06-05T14:00:00Z', type: 'seance_publique' } }),
    201,
  );
  return body.id;
}

/** Row counts of the plugin's tables (and optionally only one account's rows). */
export async function countRows(host: TestHost): Promise<Record<string, number>> {
  const conn = (host.robian.kernel.orm.em.fork() as unknown as { getConnection(): { execute<T>(sql: string, p?: unknown[]): Promise<T> } }).getConnection();
  const out: Record<string, number> = {};
  for (const t of [...LISTENER_TABLES, 'debate']) {
    const [row] = await conn.execute<{ n: number | string }[]>(`select count(*) as n from ${t}`);
    out[t] = Number(row?.n ?? 0);
  }
  return out;
}

export async function rowsOf(host: TestHost, accountId: string): Promise<number> {
  const conn = (host.robian.kernel.orm.em.fork() as unknown as { getConnection(): { execute<T>(sql: string, p?: unknown[]): Promise<T> } }).getConnection();
  const [row] = await conn.execute<{ n: number | string }[]>(
    `select
      (select count(*) from listener_account where id = ?) +
      (select count(*) from listener_session where account_id = ?) +
      (select count(*) from listener_refresh_token where session_id in (select id from listener_session where account_id = ?)) +
      (select count(*) from listener_link_code where account_id = ?) +
      (select count(*) from listener_collection where account_id = ?) +
      (select count(*) from listener_collection_item where collection_id in (select id from listener_collection where account_id = ?)) +
      (select count(*) from listener_favorite where account_id = ?) +
      (select count(*) from listener_progress where account_id = ?) as n`,
    Array(8).fill(accountId),
  );
  return Number(row?.n ?? 0);
}
