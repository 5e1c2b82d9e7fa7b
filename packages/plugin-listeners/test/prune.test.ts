import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STORAGE_MODES } from '@robian/test-support';
import { pruneListeners } from '@robian/plugin-listeners';
import { as, countRows, json, newDebate, newDevice, startListenersHost, type Tokens } from './helpers.ts';

for (const mode of STORAGE_MODES) {
  describe(`prune (${mode.name})`, { skip: mode.skip }, () => {
    it('deletes what can no longer be used, and orphaned accounts only when asked', async () => {
      const host = await startListenersHost(mode.name);
      try {
        const d = await newDebate(host);
        // a live account with one rotated token (kept for reuse detection) and a live one
        const live = await newDevice(host);
        const rotated = await json<Tokens>(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: live.refresh_token } }), 200);
        // an account whose only device logged out, owning a favorite
        const gone = await newDevice(host);
        await json(await as(host, gone.access_token)(`/api/favorites/${d}`, { method: 'POST' }), 201);
        await json(await as(host, gone.access_token)('/api/auth/link', { method: 'POST' }), 201);
        await json(await as(host, gone.access_token)('/api/auth/logout', { method: 'POST' }), 204);
        const em = () => host.robian.kernel.orm.em.fork() as never;

        const first = await pruneListeners(em());
        assert.deepEqual(first, { refresh_tokens: 0, link_codes: 0, sessions: 1, orphaned_accounts: 0 });
        // nothing is due yet for the orphan (seen today)
        assert.equal((await pruneListeners(em(), { orphanedAfterDays: 30 })).orphaned_accounts, 0);
        // 31 days later: the live account's tokens have not expired (90 days), the orphan goes with what it owned
        const later = new Date(Date.now() + 31 * 86_400_000);
        const second = await pruneListeners(em(), { orphanedAfterDays: 30, now: later });
        assert.equal(second.orphaned_accounts, 1);
        assert.equal(second.link_codes, 1); // its link code (5 minutes) has expired
        const rows = await countRows(host);
        assert.deepEqual([rows.listener_account, rows.listener_session, rows.listener_favorite], [1, 1, 0]);
        await json(await as(host, rotated.access_token)('/api/me'), 200);
        // 100 days later, the live account's refresh token has expired too
        const third = await pruneListeners(em(), { now: new Date(Date.now() + 100 * 86_400_000) });
        assert.deepEqual([third.refresh_tokens, third.sessions], [2, 1]);
      } finally {
        await host.close();
      }
    });
  });
}
