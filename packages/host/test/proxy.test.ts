import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@robian/core';
import { TrustedProxies } from '../src/proxy.ts';

describe('trusted proxies (TRUST_PROXY, TRUSTED_PROXIES)', () => {
  const base = { ENVIRONMENT: 'test', DATA_DIR: '/tmp/robian-proxy-test', SECRET_KEY: 'x'.repeat(32), ADMIN_API_KEY: 'y'.repeat(32) };

  it('ignores X-Forwarded-For without TRUST_PROXY', () => {
    const p = TrustedProxies.of(loadConfig(base));
    assert.equal(p.clientAddress('127.0.0.1', '203.0.113.9'), '127.0.0.1');
  });

  it('believes only trusted peers, and walks the chain from the right past trusted hops', () => {
    const p = TrustedProxies.of(loadConfig({ ...base, TRUST_PROXY: 'true', TRUSTED_PROXIES: '10.0.0.0/8, ::1' }));
    assert.equal(p.clientAddress('10.1.2.3', '203.0.113.9'), '203.0.113.9');
    assert.equal(p.clientAddress('::ffff:10.1.2.3', '203.0.113.9'), '203.0.113.9', 'an IPv4 peer on a dual-stack socket');
    assert.equal(p.clientAddress('::1', '198.51.100.1, 203.0.113.9, 10.0.0.7'), '203.0.113.9', 'a client-written entry left of the first untrusted hop is not believed');
    assert.equal(p.clientAddress('192.0.2.50', '203.0.113.9'), '192.0.2.50', 'an untrusted peer cannot pick its address');
    assert.equal(p.clientAddress('127.0.0.1', '203.0.113.9'), '127.0.0.1', 'loopback is not in this list');
    assert.equal(p.clientAddress('10.1.2.3', 'garbage, 203.0.113.9'), '203.0.113.9');
    assert.equal(p.clientAddress('10.1.2.3', '10.0.0.2, 10.0.0.3'), '10.0.0.2', 'every hop trusted: the leftmost is the client');
  });

  it('defaults to loopback and private networks, and names a bad entry', () => {
    const c = loadConfig({ ...base, TRUST_PROXY: 'true' });
    assert.ok(c.trustedProxies.includes('127.0.0.0/8') && c.trustedProxies.includes('172.16.0.0/12'));
    const p = TrustedProxies.of(c);
    assert.equal(p.clientAddress('172.18.0.5', '203.0.113.9'), '203.0.113.9');
    assert.equal(p.clientAddress('8.8.8.8', '203.0.113.9'), '8.8.8.8');
    assert.throws(
      () => loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/33' }),
      (err: unknown) => err instanceof ConfigError && /TRUSTED_PROXIES/.test(err.message) && /10\.0\.0\.0\/33/.test(err.message),
    );
  });
});
