import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthRegistry, loadConfig, type RobianContext } from '@robian/core';

const ADMIN = 'a'.repeat(40);
const request = (authorization?: string) =>
  ({ get: (name: string) => (name.toLowerCase() === 'authorization' ? (authorization ?? '') : ''), state: {} }) as unknown as RobianContext;

describe('AuthRegistry.identify', () => {
  it('names the admin, a scheme that recognises its credential, or nobody', async () => {
    const auth = new AuthRegistry(ADMIN);
    const dispose = auth.register('user', () => undefined, { identify: (ctx) => (ctx.get('authorization') === 'Bearer good' ? 'u1' : undefined) });
    assert.equal(await auth.identify(request()), undefined);
    assert.equal(await auth.identify(request(`Bearer ${ADMIN}`)), 'admin');
    assert.equal(await auth.identify(request('Bearer good')), 'user:u1');
    assert.equal(await auth.identify(request('Bearer bad')), undefined);
    dispose();
    assert.equal(await auth.identify(request('Bearer good')), undefined);
  });

  it('treats an identifier that throws as not recognising the credential', async () => {
    const auth = new AuthRegistry(ADMIN);
    auth.register('user', () => undefined, {
      identify: () => {
        throw new Error('bad signature');
      },
    });
    assert.equal(await auth.identify(request('Bearer x')), undefined);
  });

  it('keeps the user scheme and the admin key apart', async () => {
    const auth = new AuthRegistry(ADMIN);
    auth.register('user', (ctx) => (ctx.get('authorization') === 'Bearer good' ? { kind: 'user', id: 'u1' } : undefined));
    const asUser = request('Bearer good');
    await assert.rejects(auth.authenticate(asUser, 'admin'), (e: { status?: number }) => e.status === 403);
    const asAdmin = request(`Bearer ${ADMIN}`);
    await assert.rejects(auth.authenticate(asAdmin, 'user'), (e: { status?: number }) => e.status === 401);
  });
});

describe('rate limit configuration', () => {
  it('reads RATE_LIMIT_STRICT_PER_MINUTE and TRUST_PROXY, with defaults', () => {
    const base = { DATABASE_URL: 'sqlite::memory:', SECRET_KEY: 's'.repeat(32), ADMIN_API_KEY: ADMIN };
    const d = loadConfig(base);
    assert.deepEqual([d.rateLimitPerMinute, d.rateLimitStrictPerMinute, d.trustProxy], [120, 20, false]);
    const c = loadConfig({ ...base, RATE_LIMIT_STRICT_PER_MINUTE: '5', TRUST_PROXY: 'true' });
    assert.deepEqual([c.rateLimitStrictPerMinute, c.trustProxy], [5, true]);
    assert.throws(() => loadConfig({ ...base, RATE_LIMIT_STRICT_PER_MINUTE: 'many' }), /RATE_LIMIT_STRICT_PER_MINUTE/);
  });
});
