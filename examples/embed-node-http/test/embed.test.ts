import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createTestEnvironment } from '@robian/test-support';
import { startEmbedded } from '../server.ts';

it('serves Robian under /robian and the host application elsewhere', async () => {
  const env = await createTestEnvironment('sqlite');
  const app = await startEmbedded(env.config, 0);
  try {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    assert.equal(await (await fetch(`${base}/`)).text(), 'my own application\n');
    const list = await fetch(`${base}/robian/api/debats/?per_page=5`);
    assert.equal(list.status, 200);
    assert.deepEqual(await list.json(), { debates: [], total: 0, page: 1, per_page: 5, has_next: false, has_prev: false });
    const health = await fetch(`${base}/robian/health`);
    assert.equal(((await health.json()) as { status: string }).status, 'healthy');
    const missing = await fetch(`${base}/robian/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
  } finally {
    await app.close();
    await env.cleanup();
  }
});
