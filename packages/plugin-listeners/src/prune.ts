import type { EntityManager } from '@robian/core';
import { ListenerAccountSchema, ListenerLinkCodeSchema, ListenerRefreshTokenSchema } from './entities.ts';

export interface PruneReport {
  refresh_tokens: number;
  link_codes: number;
  sessions: number;
  orphaned_accounts: number;
}

type Conn = { execute(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run', ctx?: unknown): Promise<unknown> };

/**
 * Housekeeping (`robian listeners prune`): deletes expired refresh tokens and link codes, and
 * sessions that can no longer be used (revoked, or without a live refresh token). With
 * `orphanedAfterDays`, also erases accounts that have had no live session for that long: nobody
 * can sign in to them any more (an anonymous account has no other credential).
 */
export async function pruneListeners(em: EntityManager, options: { orphanedAfterDays?: number; now?: Date } = {}): Promise<PruneReport> {
  const now = options.now ?? new Date();
  const report: PruneReport = { refresh_tokens: 0, link_codes: 0, sessions: 0, orphaned_accounts: 0 };
  const affected = (r: unknown) => Number((r as { affectedRows?: number; changes?: number })?.affectedRows ?? (r as { changes?: number })?.changes ?? 0);
  await em.transactional(async (tx) => {
    const trx = tx.getTransactionContext();
    const conn = tx.getConnection() as unknown as Conn;
    // date comparisons go through the ORM, which stores dates per dialect
    report.refresh_tokens = await tx.nativeDelete(ListenerRefreshTokenSchema, { expiresAt: { $lt: now } } as never);
    report.link_codes = await tx.nativeDelete(ListenerLinkCodeSchema, { expiresAt: { $lt: now } } as never);
    // a session is usable while it is not revoked and has a refresh token not yet exchanged
    const dead = `revoked_at is not null or not exists (select 1 from listener_refresh_token t where t.session_id = listener_session.id and t.rotated_at is null)`;
    await conn.execute(`delete from listener_refresh_token where session_id in (select id from listener_session where ${dead})`, [], 'run', trx);
    report.sessions = affected(await conn.execute(`delete from listener_session where ${dead}`, [], 'run', trx));
    if (options.orphanedAfterDays !== undefined) {
      const before = new Date(now.getTime() - options.orphanedAfterDays * 86_400_000);
      const stale = await tx.find(ListenerAccountSchema, { lastSeenAt: { $lt: before } } as never, { fields: ['id'] as never });
      const ids: string[] = [];
      for (const { id } of stale) {
        const [live] = (await conn.execute('select count(*) as n from listener_session where account_id = ?', [id], 'all', trx)) as { n: number | string }[];
        if (Number(live?.n ?? 0) > 0) continue;
        ids.push(id);
        for (const sql of [
          'delete from listener_progress where account_id = ?',
          'delete from listener_favorite where account_id = ?',
          'delete from listener_collection_item where collection_id in (select id from listener_collection where account_id = ?)',
          'delete from listener_collection where account_id = ?',
          'delete from listener_link_code where account_id = ?',
          'delete from listener_account where id = ?',
        ]) {
          await conn.execute(sql, [id], 'run', trx);
        }
      }
      report.orphaned_accounts = ids.length;
    }
  });
  return report;
}
