/**
 * Issue #11 item 4: the per-connection channel cap holds under a burst. The cap was checked before
 * the token check's `await` and the channel added after it, so a burst of subscriptions arriving
 * together all passed the same check (50 allowed, 56–60 accepted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usePlugin } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { wsPlugin } from '@robian/plugin-ws';
import { connectIo, connectWs, eventually } from './helpers.ts';

const CAP = 50;
const BURST = 60;
const channels = Array.from({ length: BURST }, (_, i) => `debate:${i + 1}`);

describe('the channel cap under a burst of subscriptions', () => {
  let host: TestHost;
  before(async () => {
    // the message rate limit is raised so that the cap alone decides
    host = await startTestHost({ plugins: [usePlugin(wsPlugin, { maxChannelsPerConnection: CAP, maxMessagesPerSecond: 10_000 })] });
  });
  after(() => host.close());

  for (const protocol of ['robian', 'original'] as const) {
    it(`/ws (${protocol} protocol) accepts exactly ${CAP} of ${BURST} subscriptions sent at once`, async () => {
      const c = await connectWs(host.url, { protocol });
      try {
        // one tick: the frames reach the server together and are handled as one batch
        for (const channel of channels) c.send({ type: 'subscribe', channel });
        await eventually(() => c.inbox.of('subscribed').length + c.inbox.of('error').length >= BURST, 10_000, 'an answer to every subscription');
        assert.equal(c.inbox.of('subscribed').length, CAP, `${c.inbox.of('subscribed').length} subscriptions accepted`);
        assert.equal(c.inbox.of('error').length, BURST - CAP);
        for (const e of c.inbox.of('error')) assert.match(String(e.data.message ?? e.data.error), /at most 50 channels/);
        // the slots are really taken: one more is refused, one already joined is still accepted
        c.send({ type: 'subscribe', channel: 'system' });
        c.send({ type: 'subscribe', channel: String(c.inbox.of('subscribed')[0]!.channel) });
        await eventually(() => c.inbox.of('subscribed').length + c.inbox.of('error').length >= BURST + 2, 5000, 'the two answers');
        assert.equal(c.inbox.of('error').length, BURST - CAP + 1);
        assert.equal(c.inbox.of('subscribed').length, CAP + 1);
      } finally {
        await c.close();
      }
    });
  }

  it(`socket.io accepts exactly ${CAP} of ${BURST} subscriptions sent at once`, async () => {
    const io = await connectIo(host.url);
    try {
      const replies = await Promise.all(channels.map((channel) => io.subscribe(channel)));
      assert.equal(replies.filter((r) => r.type === 'subscribed').length, CAP);
      const refused = replies.filter((r) => r.type === 'error');
      assert.equal(refused.length, BURST - CAP);
      for (const r of refused) assert.equal(r.data.code, 'too_many_channels');
    } finally {
      io.close();
    }
  });
});
