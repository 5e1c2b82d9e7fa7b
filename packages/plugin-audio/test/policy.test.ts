import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin, parseRendition } from '../src/index.ts';
import { createDebate, extract } from './helpers.ts';

/** Issue #11 item 3: without the admin key only the public renditions, at low or normal priority. */
describe('who may queue which rendition', () => {
  let host: TestHost;
  let id: number;
  before(async () => {
    host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', AUDIO_WORKERS: 'false', AUDIO_FORMAT: 'mp3', AUDIO_BITRATE: '128k' }, plugins: [audioPlugin] });
    id = await createDebate(host, { video_url: 'http://127.0.0.1:9/media/master.m3u8' });
  });
  after(() => host?.close());

  it('lets anyone queue the default rendition, the AAC master and mp3 192k at low/normal', async () => {
    for (const body of [{}, { format: 'mp3' }, { format: 'mp3', quality: '128k', priority: 'low' }, { format: 'aac' }, { format: 'aac', quality: 'source' }, { format: 'mp3', quality: '192k', priority: 'normal' }]) {
      const r = await extract(host, id, body, { admin: false });
      assert.equal(r.status, 202, JSON.stringify(body));
    }
  });

  it('refuses WAV, mp3 320k and urgent/high without the admin key, naming what is allowed', async () => {
    for (const body of [{ format: 'wav' }, { format: 'mp3', quality: '320k' }, { format: 'opus' }, { format: 'mp3', priority: 'urgent' }, { format: 'aac', priority: 'high' }]) {
      const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: body });
      assert.equal(res.status, 403, JSON.stringify(body));
      const p = (await res.json()) as { detail: string; allowed_renditions: string[]; allowed_priorities: string[] };
      assert.deepEqual(p.allowed_renditions.sort(), ['aac/source', 'mp3/128k', 'mp3/192k']);
      assert.deepEqual(p.allowed_priorities, ['low', 'normal']);
      assert.match(p.detail, /admin key/);
    }
    // a bearer that is not the admin key (a listener's) is refused the same way
    const res = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'wav' }, headers: { authorization: 'Bearer some-listener-token' } });
    assert.equal(res.status, 403);
  });

  it('lets the admin key queue anything', async () => {
    assert.equal((await extract(host, id, { format: 'wav', priority: 'urgent' })).status, 202);
    assert.equal((await extract(host, id, { format: 'mp3', quality: '320k', priority: 'high' })).status, 202);
  });

  it('takes PUBLIC_RENDITIONS as format/quality pairs and refuses a bad one at start', async () => {
    assert.deepEqual(parseRendition('mp3/192k'), { format: 'mp3', quality: '192k' });
    assert.deepEqual(parseRendition('aac'), { format: 'aac', quality: 'source' });
    assert.equal(parseRendition('flac/1k'), undefined);
    const custom = await startTestHost({ env: { PUBLIC_RENDITIONS: 'opus/32k', AUDIO_WORKERS: 'false', MEDIA_ALLOWED_HOSTS: '127.0.0.1:*' }, plugins: [audioPlugin] });
    try {
      const d = await createDebate(custom, { video_url: 'http://127.0.0.1:9/media/master.m3u8' });
      assert.equal((await extract(custom, d, { format: 'opus', quality: '32k' }, { admin: false })).status, 202);
      assert.equal((await extract(custom, d, { format: 'mp3' }, { admin: false })).status, 403);
    } finally {
      await custom.close();
    }
    await assert.rejects(startTestHost({ env: { PUBLIC_RENDITIONS: 'mp3/999k' }, plugins: [audioPlugin] }), /PUBLIC_RENDITIONS/);
  });
});
