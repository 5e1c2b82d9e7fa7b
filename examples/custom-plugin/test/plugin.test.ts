import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startTestHost } from '@robian/test-support';
import { newsroomPlugin } from '../plugin.ts';

it('a third-party plugin reads its options from the environment, listens to events and answers a validated route', async () => {
  const host = await startTestHost({ plugins: [newsroomPlugin], env: { NEWSROOM_GREETING: 'Salut' } });
  try {
    const created = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Audition', type: 'audition', date: '2025-06-04' } });
    assert.equal(created.status, 201);
    // events are delivered asynchronously: poll briefly
    let body: { greeting: string; created: number } = { greeting: '', created: 0 };
    for (let i = 0; i < 50 && body.created === 0; i++) {
      body = (await (await host.request('/api/newsroom/audition')).json()) as typeof body;
      if (body.created === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(body, { greeting: 'Salut', type: 'audition', created: 1 });
    const bad = await host.request('/api/newsroom/plenary');
    assert.equal(bad.status, 422);
    const doc = (await (await host.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/api/newsroom/{type}'], 'documented');
    const health = (await (await host.request('/health/detailed')).json()) as { plugins: Record<string, { status: string; version: string }> };
    assert.deepEqual([health.plugins.newsroom?.status, health.plugins.newsroom?.version], ['ok', '1.0.0']);
    assert.equal(host.robian.kernel.services.get('newsroom.counts').snapshot().audition, 1);
  } finally {
    await host.close();
  }
});
