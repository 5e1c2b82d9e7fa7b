import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin, type LocalAudioStorage } from '../src/index.ts';
import { createDebate, extract, hlsFixture, startMediaServer, waitRendition, type MediaServer } from './helpers.ts';

/** Issue #11 item 6: deleting a debate removes its audio (files, rows, cache). */
describe('deleting a debate removes its audio', () => {
  let media: MediaServer;
  let host: TestHost;
  before(async () => {
    media = await startMediaServer(await hlsFixture());
    host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100' }, plugins: [audioPlugin] });
  });
  after(async () => {
    await host?.close();
    await media?.close();
  });

  it('removes the rendition files from storage and stops serving them', async () => {
    const id = await createDebate(host, { video_url: `${media.url}/media/audio-64k.mp3` });
    assert.equal((await extract(host, id, { format: 'mp3', quality: '64k' })).status, 202);
    await waitRendition(host, id, 'mp3', '64k', ['ready']);
    const dir = join(host.env.dataDir, 'audio', String(id));
    assert.ok(existsSync(join(dir, 'mp3-64k.mp3')));
    assert.equal((await host.request(`/api/debats/${id}/audio?format=mp3&quality=64k`, { headers: { range: 'bytes=0-9' } })).status, 206);
    assert.equal((await host.request(`/api/debats/${id}`, { method: 'DELETE', admin: true })).status, 204);
    // the event is handled right after the answer
    for (let i = 0; i < 200 && existsSync(join(dir, 'mp3-64k.mp3')); i++) await sleep(50);
    assert.ok(!existsSync(join(dir, 'mp3-64k.mp3')), 'the file is gone');
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
    assert.equal((await host.request(`/api/debats/${id}/audio?format=mp3&quality=64k`)).status, 404);
  });
});

/** Issue #11 item 6 on other instances: the instance that did not handle the deletion stops serving at once too. */
for (const mode of STORAGE_MODES) {
  describe(`deleting a debate on one instance (${mode.name})`, { skip: mode.skip }, () => {
    it('another instance sharing the database and storage forgets what it found playable', { timeout: 120_000 }, async (t) => {
      const media = await startMediaServer(await hlsFixture());
      const env = await createTestEnvironment(mode.name, { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100' });
      const a = await startTestHost({ environment: env, plugins: [audioPlugin] });
      const b = await startTestHost({ environment: env, plugins: [audioPlugin], workers: false });
      try {
        // B keeps what it found playable, and the file open, for as long as the test lasts: only
        // the deletion's word from A can make it stop
        const library = b.robian.kernel.services.get('audio').library;
        library.playableTtlMs = 3_600_000;
        const storage = b.robian.kernel.services.get('audio').storage as LocalAudioStorage;
        if ('fdIdleMs' in storage) storage.fdIdleMs = 3_600_000;
        const id = await createDebate(a, { video_url: `${media.url}/media/audio-64k.mp3` });
        assert.equal((await extract(a, id, { format: 'mp3', quality: '64k' })).status, 202);
        await waitRendition(a, id, 'mp3', '64k', ['ready']);
        const range = { headers: { range: 'bytes=0-9' } };
        const audio = `/api/debats/${id}/audio?format=mp3&quality=64k`;
        assert.equal((await b.request(audio, range)).status, 206);
        assert.equal((await a.request(`/api/debats/${id}`, { method: 'DELETE', admin: true })).status, 204);
        let status = 206;
        while ((status = (await b.request(audio, range)).status) === 206 && !t.signal.aborted) await sleep(50);
        assert.equal(status, 404);
      } finally {
        await b.close();
        await a.close();
        await env.cleanup();
        await media.close();
      }
    });
  });
}
