import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin } from '../src/index.ts';
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
