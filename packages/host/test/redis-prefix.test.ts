import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createClient } from '@redis/client';
import { serverModeSkip, serverUrls, startTestHost } from '@robian/test-support';

/** Issue #11 item 11: REDIS_KEY_PREFIX leads every key Robian writes, and the test leaves none behind. */
it('every Redis key starts with REDIS_KEY_PREFIX', { skip: serverModeSkip() }, async () => {
  const host = await startTestHost({ mode: 'postgresql+redis', env: { RATE_LIMIT_PER_MINUTE: '100' } });
  const prefix = host.env.env.REDIS_KEY_PREFIX!;
  const redis = createClient({ url: serverUrls()!.redisUrl });
  await redis.connect();
  try {
    const created = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Séance cache', date: '2026-11-20' } });
    assert.equal(created.status, 201);
    for (const path of ['/api/debats/', '/api/debats/?per_page=5', '/api/stats']) await (await host.request(path)).text();
    const ours: string[] = [];
    for await (const keys of redis.scanIterator({ MATCH: `*${prefix}*`, COUNT: 1000 })) ours.push(...keys);
    assert.ok(ours.length > 0, 'the cache and the rate limiter wrote keys');
    assert.deepEqual(ours.filter((k) => !k.startsWith(prefix)), []);
  } finally {
    await host.close();
    const left: string[] = [];
    for await (const keys of redis.scanIterator({ MATCH: `*${prefix}*`, COUNT: 1000 })) left.push(...keys);
    await redis.close();
    assert.deepEqual(left, [], 'the test removed what it created');
  }
});
