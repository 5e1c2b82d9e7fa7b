import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';

interface Problem {
  status: number;
  errors?: { in: string; field: string; message: string }[];
}

/** Issue #11 items 2 and 9: control characters and non-canonical integers are 422s naming the field, on every route (a debate id in another form is a 404, issue #10). */
for (const mode of STORAGE_MODES) {
  describe(`request text and ids on ${mode.name}`, { skip: mode.skip }, () => {
    let host: TestHost;
    let token: string;
    let debateId: number;

    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: officialPlugins(), env: { AUDIO_WORKERS: 'false' } });
      const device = await host.request('/api/auth/device', { method: 'POST', json: { device_name: 'test phone' } });
      assert.equal(device.status, 201, await device.clone().text());
      token = ((await device.json()) as { access_token: string }).access_token;
      const created = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Séance test', date: '2026-11-20' } });
      assert.equal(created.status, 201, await created.clone().text());
      debateId = Number(((await created.json()) as { id: number | string }).id);
    });
    after(() => host?.close());

    const expect422 = async (res: Response, where: string, field: string) => {
      const text = await res.text();
      assert.equal(res.status, 422, `${res.url}: ${text}`);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      const p = JSON.parse(text) as Problem;
      assert.ok(p.errors?.some((e) => e.in === where && e.field === field), `${res.url} names ${where} ${field}: ${text}`);
    };

    it('refuses a NUL byte in query strings and path segments with a 422 naming the field (not a 500)', async () => {
      await expect422(await host.request('/api/debats/?q=a%00b'), 'query', 'q');
      await expect422(await host.request('/api/debats/?commission=a%00'), 'query', 'commission');
      await expect422(await host.request('/api/debats/?depute=x%00'), 'query', 'depute');
      await expect422(await host.request('/api/search?q=a%00b'), 'query', 'q');
      await expect422(await host.request('/api/commissions/a%00b/debats'), 'path', 'name');
      await expect422(await host.request('/api/deputes/a%00b/debats'), 'path', 'name');
      await expect422(await host.request('/api/debats/?q=a%1Fb'), 'query', 'q');
    });

    it('refuses control characters in JSON bodies (device name, collections, favorites, admin titles), keeps newlines', async () => {
      await expect422(await host.request('/api/auth/device', { method: 'POST', json: { device_name: 'phone\u0000' } }), 'body', 'device_name');
      const auth = { authorization: `Bearer ${token}` };
      await expect422(await host.request('/api/collections/', { method: 'POST', headers: auth, json: { name: 'a\u0000b' } }), 'body', 'name');
      await expect422(await host.request(`/api/favorites/${debateId}`, { method: 'POST', headers: auth, json: { note: 'x\u0000' } }), 'body', 'note');
      await expect422(await host.request(`/api/favorites/${debateId}`, { method: 'POST', headers: auth, json: { tags: ['ok', 'b\u0007'] } }), 'body', 'tags.1');
      await expect422(await host.request(`/api/debats/${debateId}`, { method: 'PUT', admin: true, json: { title: 'T\u0000' } }), 'body', 'title');
      await expect422(await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'T\u001b[31m', date: '2026-11-20' } }), 'body', 'title');
      const fav = await host.request(`/api/favorites/${debateId}`, { method: 'POST', headers: auth, json: { note: 'line one\nline two\ttabbed' } });
      assert.ok(fav.status === 201 || fav.status === 200, await fav.text());
    });

    it('takes ids and page sizes in canonical decimal form only', async () => {
      const ok = await host.request(`/api/debats/${debateId}`);
      assert.equal(ok.status, 200);
      // a debate id in another form names no debate (ids are opaque strings to clients): 404, never debate 16 or 1
      for (const bad of ['0x10', '%20%201', '1e0', '01', '+1', '1.0', ' 1']) {
        const res = await host.request(`/api/debats/${bad === ' 1' ? '%201' : bad}`);
        assert.equal(res.status, 404, bad);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
      }
      await expect422(await host.request('/api/debats/?per_page=1e2'), 'query', 'per_page');
      await expect422(await host.request('/api/debats/?page=0x2'), 'query', 'page');
      assert.equal((await host.request(`/api/debats/0${debateId}/streaming`)).status, 404);
      await expect422(await host.request('/api/favorites/0x1', { method: 'POST', headers: { authorization: `Bearer ${token}` }, json: {} }), 'path', 'debate_id');
      const page = await host.request('/api/debats/?per_page=5&page=1');
      assert.equal(page.status, 200, await page.text());
    });
  });
}
