import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STORAGE_MODES, type TestHost } from '@robian/test-support';
import { as, json, newDebate, newDevice, startListenersHost } from './helpers.ts';

for (const mode of STORAGE_MODES) {
  describe(`ownership (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    before(async () => {
      host = await startListenersHost(mode.name);
    });
    after(() => host?.close());

    it("another listener can neither read, change nor delete what is not theirs, on any route", async () => {
      const d1 = await newDebate(host);
      const d2 = await newDebate(host);
      const victim = await newDevice(host, 'victim');
      const V = as(host, victim.access_token);
      const priv = await json<{ id: number }>(await V('/api/collections/', { method: 'POST', json: { name: 'privée' } }), 201);
      const pub = await json<{ id: number }>(await V('/api/collections/', { method: 'POST', json: { name: 'publique', is_public: true } }), 201);
      for (const c of [priv.id, pub.id]) await json(await V(`/api/collections/${c}/debats/${d1}`, { method: 'POST' }), 201);
      await json(await V(`/api/favorites/${d1}`, { method: 'POST', json: { note: 'à moi' } }), 201);
      await json(await V(`/api/me/progress/${d1}`, { method: 'PUT', json: { position_seconds: 77 } }), 200);
      const snapshot = async () => ({
        me: await json<Record<string, unknown>>(await V('/api/me'), 200),
        collections: await json(await V('/api/collections/'), 200),
        priv: await json(await V(`/api/collections/${priv.id}`), 200),
        pub: await json(await V(`/api/collections/${pub.id}`), 200),
        favorites: await json(await V('/api/favorites/'), 200),
        progress: await json(await V('/api/me/progress'), 200),
      });
      const before = await snapshot();

      const intruder = await newDevice(host, 'intruder');
      const I = as(host, intruder.access_token);
      const tried = new Set<string>();
      const attempt = async (method: string, template: string, path: string, expected: number[], body?: unknown) => {
        tried.add(`${method} ${template}`);
        const res = await I(path, { method, ...(body === undefined ? {} : { json: body }) });
        const text = await res.text();
        assert.ok(expected.includes(res.status), `${method} ${path}: expected ${expected.join('/')}, got ${res.status} ${text}`);
      };
      for (const c of [priv.id, pub.id]) {
        const readable = c === pub.id ? [200] : [404];
        await attempt('GET', '/api/collections/{id}', `/api/collections/${c}`, readable);
        await attempt('PUT', '/api/collections/{id}', `/api/collections/${c}`, [404], { name: 'pwned', is_public: true });
        await attempt('DELETE', '/api/collections/{id}', `/api/collections/${c}`, [404]);
        await attempt('POST', '/api/collections/{id}/debats/{debate_id}', `/api/collections/${c}/debats/${d2}`, [404]);
        await attempt('DELETE', '/api/collections/{id}/debats/{debate_id}', `/api/collections/${c}/debats/${d1}`, [404]);
        await attempt('PUT', '/api/collections/{id}/order', `/api/collections/${c}/order`, [404], { debate_ids: [d1] });
      }
      // the routes below act on the caller's own account only: whatever the intruder does stays in its account
      await attempt('GET', '/api/collections/', '/api/collections/', [200]);
      await attempt('POST', '/api/collections/', '/api/collections/', [201], { name: 'à moi' });
      await attempt('GET', '/api/favorites/', '/api/favorites/', [200]);
      await attempt('POST', '/api/favorites/{debate_id}', `/api/favorites/${d1}`, [201], { note: 'intrus' });
      await attempt('DELETE', '/api/favorites/{debate_id}', `/api/favorites/${d1}`, [204]);
      await attempt('DELETE', '/api/favorites/{debate_id}', `/api/favorites/${d1}`, [404]);
      await attempt('PUT', '/api/me/progress/{debate_id}', `/api/me/progress/${d1}`, [200], { position_seconds: 1 });
      await attempt('GET', '/api/me/progress', '/api/me/progress', [200]);
      await attempt('DELETE', '/api/me/progress/{debate_id}', `/api/me/progress/${d1}`, [204]);
      await attempt('GET', '/api/me', '/api/me', [200]);
      await attempt('POST', '/api/auth/link', '/api/auth/link', [201]);
      // the victim's refresh token is not the intruder's to use, but guessing one does not work
      await attempt('POST', '/api/auth/refresh', '/api/auth/refresh', [401], { refresh_token: 'rbn_rt_' + 'A'.repeat(43) });
      await attempt('POST', '/api/auth/link/redeem', '/api/auth/link/redeem', [400], { code: 'AAAA-BBBBBB' });
      await attempt('POST', '/api/auth/device', '/api/auth/device', [201], {});
      const intruderMe = await json<{ id: string; favorites_count: number; progress_count: number; collections_count: number }>(await I('/api/me'), 200);
      assert.notEqual(intruderMe.id, victim.account_id);
      assert.deepEqual([intruderMe.collections_count, intruderMe.favorites_count, intruderMe.progress_count], [1, 0, 0]);
      await attempt('DELETE', '/api/me', '/api/me', [204]);
      await attempt('POST', '/api/auth/logout', '/api/auth/logout', [401], { refresh_token: victim.refresh_token });
      // without a token, a refresh token that is not the caller's cannot be guessed either
      await json(await host.request('/api/auth/logout', { method: 'POST', json: { refresh_token: 'rbn_rt_' + 'B'.repeat(43) } }), 401);

      // every route of the plugin was tried
      const routes = host.robian.kernel.openapi
        .routes()
        .filter((r) => r.owner === 'listeners')
        .map((r) => `${r.method} ${r.path}`);
      assert.deepEqual([...tried].sort(), [...new Set(routes)].sort());

      // and nothing of the victim's changed (except the debate's view count)
      const after = await snapshot();
      assert.deepEqual(strip(after), strip(before));
    });
  });
}

/** Drops fields that change on their own (view counts, last use). */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !['view_count', 'last_used_at'].includes(k))
        .map(([k, v]) => [k, strip(v)]),
    );
  }
  return value;
}
