import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHost, type TestHost } from '@robian/test-support';
import { listenersPlugin } from '@robian/plugin-listeners';

/** Issue #11 item 3: free device accounts do not multiply the general rate limit of one address. */
describe('rate limit of one address across its accounts', () => {
  let host: TestHost;
  before(async () => {
    host = await startTestHost({ plugins: [listenersPlugin], env: { RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_PER_IP_PER_MINUTE: '10', RATE_LIMIT_STRICT_PER_MINUTE: '0' } });
  });
  after(() => host?.close());

  it('counts every request of an IP, whatever account it carries', async () => {
    let answered = 0;
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await host.request('/api/auth/device', { method: 'POST', json: { device_name: `phone ${i}` } });
      if (res.status === 201) {
        answered++;
        tokens.push(((await res.json()) as { access_token: string }).access_token);
      }
    }
    assert.equal(tokens.length, 3);
    let limited: string | undefined;
    for (const token of tokens) {
      for (let i = 0; i < 6; i++) {
        const res = await host.request('/api/debats/', { headers: { authorization: `Bearer ${token}` } });
        const text = await res.text();
        if (res.status === 200) answered++;
        else if (res.status === 429) limited = text;
      }
    }
    // 3 accounts x 6 would be 18 more answers (+3 registrations) without the per-address limit
    assert.equal(answered, 10);
    assert.ok(limited);
    assert.match((JSON.parse(limited) as { detail: string }).detail, /one address/);
  });
});
