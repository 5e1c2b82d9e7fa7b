import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ADMIN_KEY, SECRET, STORAGE_MODES, type TestHost } from '@robian/test-support';
import { ListenerLinkCodeSchema, accessTokenKey } from '@robian/plugin-listeners';
import { as, countRows, json, newDebate, newDevice, rowsOf, startListenersHost, type Tokens } from './helpers.ts';

for (const mode of STORAGE_MODES) {
  describe(`listener accounts (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    before(async () => {
      host = await startListenersHost(mode.name);
    });
    after(() => host?.close());

    it('lives a whole life on two devices, then is erased without a trace', async () => {
      const d1 = await newDebate(host, 'Questions au gouvernement');
      const d2 = await newDebate(host, 'Commission des lois');
      const d3 = await newDebate(host, 'Audition');
      const before = await countRows(host);

      // device A creates the account
      const a = await newDevice(host, 'phone');
      assert.match(a.access_token, /^ey/);
      assert.ok(a.refresh_token.startsWith('rbn_rt_'));
      const A = as(host, a.access_token);

      // collections, favorites, progress from device A
      const col = await json<{ id: number; is_public: boolean; debate_count: number }>(
        await A('/api/collections/', { method: 'POST', json: { name: 'À écouter', description: 'ce week-end', color: '#1e88e5', icon: 'headphones', is_public: false } }),
        201,
      );
      assert.equal(col.debate_count, 0);
      for (const d of [d1, d2, d3]) await json(await A(`/api/collections/${col.id}/debats/${d}`, { method: 'POST' }), 201);
      // adding twice is harmless
      const again = await json<{ debate_count: number }>(await A(`/api/collections/${col.id}/debats/${d1}`, { method: 'POST' }), 200);
      assert.equal(again.debate_count, 3);
      // insert at the front
      const d4 = await newDebate(host, 'Séance de nuit');
      const front = await json<{ debates: { debate: { id: number }; position: number }[] }>(
        await A(`/api/collections/${col.id}/debats/${d4}`, { method: 'POST', json: { position: 0 } }),
        201,
      );
      assert.deepEqual(front.debates.map((i) => i.debate.id), [d4, d1, d2, d3]);
      assert.deepEqual(front.debates.map((i) => i.position), [0, 1, 2, 3]);
      // reorder
      const ordered = await json<{ debates: { debate: { id: number } }[]; debate_count: number }>(
        await A(`/api/collections/${col.id}/order`, { method: 'PUT', json: { debate_ids: [d3, d2, d1, d4] } }),
        200,
      );
      assert.deepEqual(ordered.debates.map((i) => i.debate.id), [d3, d2, d1, d4]);
      // an order that is not a permutation is refused, naming the field
      const badOrder = await json<{ errors: { field: string }[] }>(await A(`/api/collections/${col.id}/order`, { method: 'PUT', json: { debate_ids: [d3, d2] } }), 422);
      assert.equal(badOrder.errors[0]?.field, 'debate_ids');

      const fav = await json<{ debate_id: number; note: string; tags: string[] }>(
        await A(`/api/favorites/${d1}`, { method: 'POST', json: { note: 'intervention à 1h12', tags: ['budget', 'énergie'] } }),
        201,
      );
      assert.deepEqual([fav.debate_id, fav.note, fav.tags], [d1, 'intervention à 1h12', ['budget', 'énergie']]);
      // one favorite per debate: posting again updates it
      const favAgain = await json<{ note: string }>(await A(`/api/favorites/${d1}`, { method: 'POST', json: { note: 'changé' } }), 200);
      assert.equal(favAgain.note, 'changé');
      await json(await A(`/api/favorites/${d2}`, { method: 'POST' }), 201);

      const t0 = Date.parse('2026-01-01T10:00:00Z');
      await json(await A(`/api/me/progress/${d1}`, { method: 'PUT', json: { position_seconds: 600, rendition: 'mp3-128k', updated_at: new Date(t0).toISOString() } }), 200);

      // device A asks for a link code, device B redeems it and joins the account
      const link = await json<{ code: string; expires_in: number }>(await A('/api/auth/link', { method: 'POST' }), 201);
      assert.match(link.code, /^[0-9A-Z]{4}-[0-9A-Z]{6}$/);
      const b = await json<Tokens>(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: link.code.toLowerCase(), device_name: 'tablet' } }), 201);
      assert.equal(b.account_id, a.account_id);
      assert.notEqual(b.session_id, a.session_id);
      // the code works once
      await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: link.code } }), 400);
      const B = as(host, b.access_token);

      // B sees what A made
      const meB = await json<{ id: string; sessions: { device_name: string; current: boolean }[]; collections_count: number; favorites_count: number; progress_count: number }>(
        await B('/api/me'),
        200,
      );
      assert.equal(meB.id, a.account_id);
      assert.deepEqual(meB.sessions.map((s) => [s.device_name, s.current]), [['phone', false], ['tablet', true]]);
      assert.deepEqual([meB.collections_count, meB.favorites_count, meB.progress_count], [1, 2, 1]);
      const listB = await json<{ collections: { id: number; debate_count: number }[] }>(await B('/api/collections/'), 200);
      assert.deepEqual(listB.collections.map((c) => [c.id, c.debate_count]), [[col.id, 4]]);

      // last write wins by timestamp across devices; a stale write is ignored
      const newer = await json<{ position_seconds: number; applied: boolean }>(
        await B(`/api/me/progress/${d1}`, { method: 'PUT', json: { position_seconds: 900, rendition: 'opus-32k', updated_at: new Date(t0 + 60_000).toISOString() } }),
        200,
      );
      assert.deepEqual([newer.position_seconds, newer.applied], [900, true]);
      const stale = await json<{ position_seconds: number; rendition: string; applied: boolean }>(
        await A(`/api/me/progress/${d1}`, { method: 'PUT', json: { position_seconds: 650, updated_at: new Date(t0 + 30_000).toISOString() } }),
        200,
      );
      assert.deepEqual([stale.position_seconds, stale.rendition, stale.applied], [900, 'opus-32k', false]);
      await json(await A(`/api/me/progress/${d2}`, { method: 'PUT', json: { position_seconds: 42, updated_at: new Date(t0 + 120_000).toISOString() } }), 200);
      const progress = await json<{ progress: { debate_id: number; position_seconds: number; debate_title: string }[] }>(await A('/api/me/progress'), 200);
      assert.deepEqual(progress.progress.map((p) => [p.debate_id, p.position_seconds]), [[d2, 42], [d1, 900]]);

      // the debate detail carries the caller's position with a token, and not without
      const detail = await json<{ id: number; progress?: { position_seconds: number } | null }>(await A(`/api/debats/${d1}`), 200);
      assert.equal(detail.progress?.position_seconds, 900);
      const anonymous = await json<Record<string, unknown>>(await host.request(`/api/debats/${d1}`), 200);
      assert.equal('progress' in anonymous, false);
      const none = await json<{ progress: unknown }>(await A(`/api/debats/${d3}`), 200);
      assert.equal(none.progress, null);
      // the cached detail never leaks one listener's position to another
      const c = await newDevice(host, 'other');
      const other = await json<{ progress: unknown }>(await as(host, c.access_token)(`/api/debats/${d1}`), 200);
      assert.equal(other.progress, null);

      // a public collection is readable by anyone with its id; private ones are not
      await json(await as(host, c.access_token)(`/api/collections/${col.id}`), 404);
      await json(await host.request(`/api/collections/${col.id}`), 404);
      await json(await B(`/api/collections/${col.id}`, { method: 'PUT', json: { is_public: true } }), 200);
      const pub = await json<{ is_owner: boolean; debate_count: number }>(await host.request(`/api/collections/${col.id}`), 200);
      assert.deepEqual([pub.is_owner, pub.debate_count], [false, 4]);
      const pubOther = await json<{ is_owner: boolean }>(await as(host, c.access_token)(`/api/collections/${col.id}`), 200);
      assert.equal(pubOther.is_owner, false);

      // deleting a debate takes it out of collections and favorites; counts follow
      await json(await host.request(`/api/debats/${d1}`, { method: 'DELETE', admin: true }), 204);
      const afterDelete = await json<{ debate_count: number; debates: { debate: { id: number } }[] }>(await A(`/api/collections/${col.id}`), 200);
      assert.equal(afterDelete.debate_count, 3);
      assert.deepEqual(afterDelete.debates.map((i) => i.debate.id), [d3, d2, d4]);
      const favs = await json<{ favorites: { debate_id: number }[]; total: number }>(await A('/api/favorites/'), 200);
      assert.deepEqual([favs.total, favs.favorites.map((f) => f.debate_id)], [1, [d2]]);
      const prog = await json<{ total: number }>(await A('/api/me/progress'), 200);
      assert.equal(prog.total, 1);

      // remove items and favorites
      await json(await A(`/api/collections/${col.id}/debats/${d2}`, { method: 'DELETE' }), 204);
      await json(await A(`/api/collections/${col.id}/debats/${d2}`, { method: 'DELETE' }), 404);
      await json(await A(`/api/favorites/${d2}`, { method: 'DELETE' }), 204);
      await json(await A(`/api/favorites/${d2}`, { method: 'DELETE' }), 404);

      // logout on B ends B's session only
      await json(await B('/api/auth/logout', { method: 'POST' }), 204);
      await json(await B('/api/me'), 401);
      await json(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: b.refresh_token } }), 401);
      await json(await A('/api/me'), 200);

      // the account leaves nothing behind
      assert.ok((await rowsOf(host, a.account_id)) > 0);
      await json(await A('/api/me', { method: 'DELETE' }), 204);
      assert.equal(await rowsOf(host, a.account_id), 0);
      await json(await A('/api/me'), 401);
      await json(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: a.refresh_token } }), 401);
      await json(await host.request(`/api/collections/${col.id}`), 404);
      // only the other listener's rows remain besides the debates created here
      await json(await as(host, c.access_token)('/api/me', { method: 'DELETE' }), 204);
      const end = await countRows(host);
      assert.deepEqual(
        Object.fromEntries(Object.entries(end).filter(([t]) => t !== 'debate')),
        Object.fromEntries(Object.entries(before).filter(([t]) => t !== 'debate')),
      );
    });

    it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
      const a = await newDevice(host);
      const r1 = await json<Tokens>(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: a.refresh_token } }), 200);
      assert.notEqual(r1.refresh_token, a.refresh_token);
      assert.equal(r1.session_id, a.session_id);
      const r2 = await json<Tokens>(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: r1.refresh_token } }), 200);
      await json(await as(host, r2.access_token)('/api/me'), 200);
      // a thief replays the first token: the family is revoked, the legitimate holder too
      const reuse = await json<{ type: string; detail: string }>(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: a.refresh_token } }), 401);
      assert.match(reuse.detail, /already used/);
      await json(await host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: r2.refresh_token } }), 401);
      await json(await as(host, r2.access_token)('/api/me'), 401);
      await json(await as(host, a.access_token)('/api/me'), 401);
      // another device of another account is untouched
      const other = await newDevice(host);
      await json(await as(host, other.access_token)('/api/me'), 200);
      // two concurrent exchanges of one token: exactly one wins, then the family is revoked
      const c = await newDevice(host);
      const results = await Promise.all(
        [0, 1].map(() => host.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: c.refresh_token } }).then((r) => r.status)),
      );
      assert.deepEqual(results.sort(), [200, 401]);
    });

    it('refuses expired, tampered and foreign tokens; admin and listener tokens never mix', async () => {
      const a = await newDevice(host);
      const key = accessTokenKey(SECRET);
      const forge = (claims: Record<string, unknown>, opts: { exp?: number; aud?: string; typ?: string; iss?: string; key?: Uint8Array } = {}) =>
        new SignJWT({ sid: a.session_id, ...claims })
          .setProtectedHeader({ alg: 'HS256', typ: opts.typ ?? 'at+jwt' })
          .setSubject(a.account_id)
          .setAudience(opts.aud ?? 'robian:listener')
          .setIssuer(opts.iss ?? 'robian')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
          .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
          .sign(opts.key ?? key);
      // a forged token with the right key works (control), so the refusals below are about the claim changed
      await json(await as(host, await forge({}))('/api/me'), 200);
      const expired = await json<{ type: string }>(await as(host, await forge({}, { exp: Math.floor(Date.now() / 1000) - 5 }))('/api/me'), 401);
      assert.match(expired.type, /token-expired/);
      await json(await as(host, await forge({}, { aud: 'robian:admin' }))('/api/me'), 401);
      await json(await as(host, await forge({}, { typ: 'JWT' }))('/api/me'), 401);
      await json(await as(host, await forge({}, { iss: 'elsewhere' }))('/api/me'), 401);
      // signed with the raw SECRET_KEY instead of the derived key
      await json(await as(host, await forge({}, { key: new TextEncoder().encode(SECRET) }))('/api/me'), 401);
      // tampered payload (another account id), original signature
      const [h, p, s] = a.access_token.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const other = await newDevice(host);
      const tampered = [h, Buffer.from(JSON.stringify({ ...payload, sub: other.account_id })).toString('base64url'), s].join('.');
      await json(await as(host, tampered)('/api/me'), 401);
      // alg none
      const none = [Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url'), p, ''].join('.');
      await json(await as(host, none)('/api/me'), 401);
      // a refresh token is not an access token
      await json(await as(host, a.refresh_token)('/api/me'), 401);
      // admin key on listener routes, listener token on admin routes
      const adminAsUser = await json<{ detail: string }>(await as(host, ADMIN_KEY)('/api/me'), 401);
      assert.match(adminAsUser.detail, /admin key is not a listener token/);
      await json(await as(host, ADMIN_KEY)('/api/collections/', { method: 'POST', json: { name: 'x' } }), 401);
      await json(await as(host, a.access_token)('/api/debats/', { method: 'POST', json: { title: 't', date: '2025-01-01' } }), 403);
      const d = await newDebate(host);
      await json(await as(host, a.access_token)(`/api/debats/${d}`, { method: 'DELETE' }), 403);
      // no token at all
      await json(await host.request('/api/me'), 401);
      await json(await host.request('/api/collections/'), 401);
    });

    it('expires access tokens after LISTENER_ACCESS_TOKEN_TTL', async () => {
      const short = await startListenersHost(mode.name, { LISTENER_ACCESS_TOKEN_TTL: '1' });
      try {
        const a = await newDevice(short);
        assert.equal(a.expires_in, 1);
        await json(await as(short, a.access_token)('/api/me'), 200);
        await new Promise((r) => setTimeout(r, 2100));
        await json(await as(short, a.access_token)('/api/me'), 401);
        const fresh = await json<Tokens>(await short.request('/api/auth/refresh', { method: 'POST', json: { refresh_token: a.refresh_token } }), 200);
        await json(await as(short, fresh.access_token)('/api/me'), 200);
      } finally {
        await short.close();
      }
    });

    it('burns a link code after too many wrong tries, and expired codes do not work', async () => {
      const a = await newDevice(host);
      const link = await json<{ code: string; max_attempts: number }>(await as(host, a.access_token)('/api/auth/link', { method: 'POST' }), 201);
      const [lookup, secret] = link.code.split('-') as [string, string];
      const wrong = `${lookup}-${secret.slice(0, 5)}${secret.endsWith('Z') ? 'Y' : 'Z'}`;
      for (let i = 0; i < link.max_attempts; i++) await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: wrong } }), 400);
      // now even the right code is refused
      await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: link.code } }), 400);
      // a new code replaces the previous one
      const l2 = await json<{ code: string }>(await as(host, a.access_token)('/api/auth/link', { method: 'POST' }), 201);
      const l3 = await json<{ code: string }>(await as(host, a.access_token)('/api/auth/link', { method: 'POST' }), 201);
      await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: l2.code } }), 400);
      await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: l3.code } }), 201);
      // an expired code is refused
      const l5 = await json<{ code: string }>(await as(host, a.access_token)('/api/auth/link', { method: 'POST' }), 201);
      const em = host.robian.kernel.orm.em.fork();
      await em.nativeUpdate(ListenerLinkCodeSchema, { lookup: l5.code.slice(0, 4) } as never, { expiresAt: new Date(Date.now() - 1000) } as never);
      await json(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: l5.code } }), 400);
      // logout of every device
      const b = await newDevice(host);
      const l4 = await json<{ code: string }>(await as(host, b.access_token)('/api/auth/link', { method: 'POST' }), 201);
      const b2 = await json<Tokens>(await host.request('/api/auth/link/redeem', { method: 'POST', json: { code: l4.code } }), 201);
      await json(await host.request('/api/auth/logout', { method: 'POST', json: { refresh_token: b2.refresh_token, all_devices: true } }), 204);
      await json(await as(host, b.access_token)('/api/me'), 401);
      await json(await as(host, b2.access_token)('/api/me'), 401);
    });
  });
}
