import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { officialPlugins } from '@robian/host';
import { ADMIN_KEY, startTestHost, type TestHost, serveTestMp3, type TestMp3Server } from '@robian/test-support';
import { ListenerSession, SessionEndedError, connectEvents, createRobianClient, memoryTokenStore, watchExtraction, type ExtractionState } from '../src/index.ts';

describe('@robian/client against a running host', () => {
  let media: TestMp3Server;
  let host: TestHost;
  before(async () => {
    media = await serveTestMp3({ seconds: 20, frequency: 330 });
    host = await startTestHost({ plugins: officialPlugins(), env: { MEDIA_ALLOWED_HOSTS: new URL(media.url).host, LISTENER_ACCESS_TOKEN_TTL: '60' } });
  });
  after(async () => {
    await host.close();
    await media.close();
  });

  it('reads and writes the catalogue through the generated types', async () => {
    const admin = createRobianClient({ baseUrl: host.url, adminKey: ADMIN_KEY });
    const created = await admin.api.POST('/api/debats/', { body: { title: 'Séance publique : réforme des retraites', type: 'seance_publique', date: '2026-12-01' } as never });
    assert.ok(created.response.ok, JSON.stringify(created.error));
    const anonymous = createRobianClient({ baseUrl: host.url });
    const list = await anonymous.api.GET('/api/debats/', { params: { query: { per_page: 5 } as never } });
    assert.equal(list.data?.total, 1);
    assert.equal(list.data?.debates[0]?.title, 'Séance publique : réforme des retraites');
    const missing = await anonymous.api.GET('/api/debats/{id}', { params: { path: { id: '999999' as never } } });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.response.headers.get('content-type'), 'application/problem+json');
  });

  it('signs a device in, renews the access token before it expires, rotates the refresh token', async () => {
    const store = memoryTokenStore();
    const session = new ListenerSession({ baseUrl: host.url, store });
    const first = await session.signIn('a phone');
    assert.equal(await session.signIn('a phone'), first, 'a stored session is kept');
    const client = createRobianClient({ baseUrl: host.url, session });
    const me = await client.api.GET('/api/me');
    assert.equal(me.response.status, 200);
    assert.equal(me.data?.id, first.account_id);

    // the token is about to expire: the next request refreshes first, and the old refresh token dies
    await store.save({ ...first, access_expires_at: Date.now() + 1_000 });
    const again = await client.api.GET('/api/me');
    assert.equal(again.response.status, 200);
    const renewed = (await store.load())!;
    assert.notEqual(renewed.refresh_token, first.refresh_token);
    assert.equal(renewed.session_id, first.session_id);
    const reuse = await fetch(`${host.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: first.refresh_token }) });
    assert.equal(reuse.status, 401, 'a rotated refresh token is refused');

    // the server ended the session (reuse detected): refreshing says so, and the tokens are forgotten
    await assert.rejects(session.refresh(), SessionEndedError);
    assert.equal(await store.load(), undefined);
  });

  it('follows an extraction to the end over socket.io, and picks a finished one up from its state', async () => {
    const admin = createRobianClient({ baseUrl: host.url, adminKey: ADMIN_KEY });
    const created = await admin.api.POST('/api/debats/', { body: { title: 'Commission des finances', type: 'commission', date: '2026-12-01', video_url: `${media.url}/seance.mp3` } as never });
    assert.ok(created.response.ok, JSON.stringify(created.error));
    const id = String((created.data as { id: string | number }).id);
    const socket = await connectEvents(admin);
    try {
      const seen: ExtractionState[] = [];
      const rendition = { format: 'mp3', quality: '64k' };
      const watching = watchExtraction(admin, socket, id, rendition, (s) => seen.push(s));
      const queued = await fetch(`${host.url}/api/debats/${id}/extract`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(rendition) });
      assert.ok(queued.status === 202 || queued.status === 200, String(queued.status));
      const end = await watching;
      assert.equal(end.status, 'ready', JSON.stringify(seen));
      assert.equal(end.progress, 100);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.progress >= seen[i - 1]!.progress, 'progress never goes backwards');

      const later = await watchExtraction(admin, socket, id, rendition);
      assert.equal(later.status, 'ready', 'a watcher that arrives after the end reads it from /streaming');
      const audio = await fetch(`${host.url}/api/debats/${id}/audio?format=mp3&quality=64k`, { headers: { range: 'bytes=0-99' } });
      assert.equal(audio.status, 206);
      await audio.body?.cancel();
    } finally {
      socket.close();
    }
  });
});
