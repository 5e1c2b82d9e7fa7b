// One listener's journey through every official plugin, on a host started exactly as `robian serve`
// starts it: a sitting is created, its audio extracted by real FFmpeg from an HLS stream served on
// 127.0.0.1 while socket.io and WebSocket clients watch the progress live, then it is streamed with a
// range, found by search, and resumed by a listener.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';
import { hlsFixture, startMediaServer, type MediaServer } from '../../plugin-audio/test/helpers.ts';
import { connectIo, connectWs, type IoTestClient, type Message, type WsTestClient } from '../../plugin-ws/test/helpers.ts';

for (const mode of STORAGE_MODES) {
  describe(`a listener's journey through every plugin (${mode.name})`, { skip: mode.skip }, () => {
    let media: MediaServer;
    let host: TestHost;
    let io: IoTestClient;
    let ws: WsTestClient;

    before(async () => {
      media = await startMediaServer(await hlsFixture());
      host = await startTestHost({ mode: mode.name, plugins: officialPlugins(), env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', AUDIO_FORMAT: 'mp3', AUDIO_BITRATE: '64k' } });
      io = await connectIo(host.url);
      ws = await connectWs(host.url);
    });
    after(async () => {
      io?.close();
      await ws?.close();
      await host?.close();
      await media?.close();
    });

    it('extracts, pushes progress live on both protocols, streams, searches and resumes', async () => {
      // the sitting (a slow HLS stream, so that progress is reported while it runs)
      const created = await host.request('/api/debats/', {
        method: 'POST',
        admin: true,
        json: { title: 'Séance publique : réforme des retraites', type: 'seance_publique', status: 'termine', date: '2025-06-05T19:30:00Z', video_url: `${media.url}/slow/media/master.m3u8` },
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      const channel = `debate:${id}`;
      assert.equal((await io.subscribe(channel)).type, 'subscribed');
      assert.equal((await io.subscribe('extractions')).type, 'subscribed');
      assert.equal((await ws.request({ type: 'subscribe', channel })).type, 'subscribed');

      // a listener's device asks for the audio
      const device = (await (await host.request('/api/auth/device', { method: 'POST', json: {} })).json()) as { access_token: string };
      assert.ok(device.access_token);
      const extract = await host.request(`/api/debats/${id}/extract`, { method: 'POST', json: { format: 'mp3', quality: '64k' }, headers: { authorization: `Bearer ${device.access_token}` } });
      assert.equal(extract.status, 202);

      const isMp3 = (m: Message) => m.data.debate_id === id && m.data.format === 'mp3';
      const done = (inbox: IoTestClient['inbox']) => inbox.next((m) => m.type === 'extraction_completed' && isMp3(m), 90_000, 'the mp3 extraction to complete');
      await Promise.all([done(io.inbox), done(ws.inbox)]);
      for (const inbox of [io.inbox, ws.inbox]) {
        const progress = inbox.messages.filter((m) => m.type === 'extraction_progress' && isMp3(m)).map((m) => Number(m.data.progress));
        assert.ok(inbox.messages.some((m) => m.type === 'extraction_started' && isMp3(m)), 'started was pushed');
        assert.ok(progress.length >= 1, `progress was pushed (${progress.length})`);
        assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
        for (const m of inbox.messages.filter((x) => x.type.startsWith('extraction_'))) {
          assert.deepEqual(Object.keys(m).sort(), ['channel', 'data', 'message_id', 'timestamp', 'type'], 'the original envelope');
        }
      }
      assert.ok(io.inbox.messages.some((m) => m.type === 'extraction_completed' && m.channel === 'extractions'), 'also on the extractions channel');

      // it streams, with a range
      const streaming = (await (await host.request(`/api/debats/${id}/streaming`)).json()) as { audio_available: boolean; stream_url: string; format: string };
      assert.equal(streaming.audio_available, true);
      assert.equal(streaming.format, 'mp3');
      const range = await fetch(new URL(streaming.stream_url, host.url), { headers: { range: 'bytes=100-199' } });
      assert.equal(range.status, 206);
      assert.equal((await range.arrayBuffer()).byteLength, 100);
      assert.equal(range.headers.get('content-type'), 'audio/mpeg');
      const detail = (await (await host.request(`/api/debats/${id}`)).json()) as { has_audio: boolean; status: string; audio_files: { format: string }[] };
      assert.equal(detail.has_audio, true, 'the catalogue knows');
      assert.equal(detail.status, 'disponible', 'the sitting moved from termine through extraction to disponible');
      const announced = io.inbox.messages.filter((m) => m.type === 'debate_updated' && m.channel === channel).map((m) => (m.data as { status?: string }).status);
      assert.deepEqual(announced, ['extraction', 'disponible'], 'live clients were told of both moves');
      assert.ok(detail.audio_files.some((a) => a.format === 'mp3'));

      // search finds it without accents, with its audio flag
      const found = (await (await host.request('/api/search?q=reforme&has_audio=true')).json()) as { total: number; debates: { id: number }[] };
      assert.equal(found.total, 1);
      assert.equal(found.debates[0]?.id, id);

      // the listener stops at 12:34 and another device sees the position
      const auth = { authorization: `Bearer ${device.access_token}` };
      const put = await host.request(`/api/me/progress/${id}`, { method: 'PUT', json: { position_seconds: 754, rendition: 'mp3-64k' }, headers: auth });
      assert.equal(put.status, 200);
      const withPosition = (await (await host.request(`/api/debats/${id}`, { headers: auth })).json()) as { progress: { position_seconds: number } | null };
      assert.equal(withPosition.progress?.position_seconds, 754);
    });
  });
}
