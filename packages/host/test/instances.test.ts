import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestEnvironment, serverModeSkip, startTestHost } from '@robian/test-support';

describe('two host instances sharing PostgreSQL and Redis', { skip: serverModeSkip() }, () => {
  it('a write on one instance is seen at once by the other, whose cache had the old answer', async () => {
    const env = await createTestEnvironment('postgresql+redis');
    const a = await startTestHost({ environment: env });
    const b = await startTestHost({ environment: env });
    try {
      const created = await a.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Avant', date: '2025-06-04', status: 'programme' } });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: number };
      // B caches both the detail and the list
      for (let i = 0; i < 2; i++) {
        assert.equal(((await (await b.request(`/api/debats/${id}`)).json()) as { title: string }).title, 'Avant');
        assert.equal(((await (await b.request('/api/debats/')).json()) as { total: number }).total, 1);
      }
      const hitsBefore = b.robian.kernel.cache.stats.hits;
      assert.ok(hitsBefore >= 2, 'B answered from its cache');
      // A changes the debate and adds another
      assert.equal((await a.request(`/api/debats/${id}`, { method: 'PUT', admin: true, json: { title: 'Après' } })).status, 200);
      assert.equal((await a.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Nouveau', date: '2025-06-05' } })).status, 201);
      // pub/sub delivery is asynchronous but quick: B must follow within a short, bounded wait
      let title = '';
      let total = 0;
      for (let i = 0; i < 100 && (title !== 'Après' || total !== 2); i++) {
        title = ((await (await b.request(`/api/debats/${id}`)).json()) as { title: string }).title;
        total = ((await (await b.request('/api/debats/')).json()) as { total: number }).total;
        if (title !== 'Après' || total !== 2) await sleep(20);
      }
      assert.equal(title, 'Après');
      assert.equal(total, 2);
      // and A deletes: B's detail is a 404, not the cached debate
      assert.equal((await a.request(`/api/debats/${id}`, { method: 'DELETE', admin: true })).status, 204);
      let status = 200;
      for (let i = 0; i < 100 && status !== 404; i++) {
        status = (await b.request(`/api/debats/${id}`)).status;
        if (status !== 404) await sleep(20);
      }
      assert.equal(status, 404);
    } finally {
      await a.close();
      await b.close();
      await env.cleanup();
    }
  });
});
