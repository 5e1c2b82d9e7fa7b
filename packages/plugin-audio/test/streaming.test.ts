import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestHost, type TestHost } from '@robian/test-support';
import { audioPlugin, type AudioStorage, type S3AudioStorage } from '../src/index.ts';
import { createDebate, extract, hlsFixture, startMediaServer, streaming, waitRendition, type MediaServer } from './helpers.ts';
import { startS3Server, uniquePrefix, type S3Server } from './s3-server.ts';

const fixture = await hlsFixture();

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** A stored file's bytes, read through the storage (whatever it is). */
async function storedBytes(storage: AudioStorage, key: string): Promise<Buffer> {
  const stream = await storage.open(key);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The same suite on the local filesystem and on S3 through Robian (AUDIO_DELIVERY=proxy, a GET of the
 * object with the range): answers up to `loadMaxBytes` read whole first, longer ones streamed; the
 * third run streams every answer (`loadMaxBytes` 0), so that both S3 paths pass the suite.
 */
const STORAGES = [
  { name: 'local storage', s3: false, streamed: false },
  { name: 'S3 storage, proxy delivery', s3: true, streamed: false },
  { name: 'S3 storage, proxy delivery, every answer streamed', s3: true, streamed: true },
];

/**
 * How many socket writes (`_write` or `_writev` of the connection, one system call each) the host's
 * responses to `path` took.
 */
function countSocketWrites(host: TestHost, path: string): { counts: { socketWrites: number }; detach: () => void } {
  const counts = { socketWrites: 0 };
  let detach = () => {};
  type Hooks = { _write: (...a: unknown[]) => void; _writev?: (...a: unknown[]) => void };
  host.robian.kernel.services.get('http.server').attach((server) => {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== path) return;
      const socket = res.socket as unknown as Hooks;
      const { _write, _writev } = socket;
      socket._write = function (this: unknown, ...a: unknown[]) {
        counts.socketWrites++;
        return _write.apply(this, a);
      };
      if (_writev)
        socket._writev = function (this: unknown, ...a: unknown[]) {
          counts.socketWrites++;
          return _writev.apply(this, a);
        };
      res.once('close', () => {
        socket._write = _write;
        if (_writev) socket._writev = _writev;
      });
    };
    server.on('request', onRequest);
    detach = () => server.off('request', onRequest);
    return detach;
  });
  return { counts, detach: () => detach() };
}

for (const storage of STORAGES) describe(`audio streaming: ranges, validators, download (${storage.name})`, () => {
  let media: MediaServer;
  let s3: S3Server | undefined;
  let host: TestHost;
  let id: number;
  let file: Buffer;
  let size: number;
  const audio = (q = '') => `/api/debats/${id}/audio?format=aac${q}`;

  before(async () => {
    media = await startMediaServer(fixture);
    if (storage.s3) s3 = await startS3Server();
    host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', EXTRACTION_POLL_INTERVAL_MS: '100', ...(s3 ? s3.env(uniquePrefix('streaming')) : {}) }, plugins: [audioPlugin] });
    id = await createDebate(host, { title: 'Séance du 20 novembre : « Budget » / État', video_url: `${media.url}/media/master.m3u8` });
    await extract(host, id, { format: 'aac' });
    const r = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
    assert.equal(r.status, 'ready', r.error ?? '');
    const stored = host.robian.kernel.services.get('audio').storage;
    assert.equal(stored.kind, storage.s3 ? 's3' : 'local');
    if (storage.streamed) (stored as S3AudioStorage).loadMaxBytes = 0;
    file = await storedBytes(stored, `${id}/aac-source.m4a`);
    size = file.length;
    assert.ok(size > 100_000);
  });
  after(async () => {
    await host?.close();
    await media?.close();
    await s3?.close();
  });

  it('serves the whole file with its validators and media type', async () => {
    const res = await host.request(audio());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-type'), 'audio/mp4');
    assert.equal(res.headers.get('content-length'), String(size));
    assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(res.headers.get('last-modified'));
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.ok((await bytes(res)).equals(file));
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await host.request(audio(), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(size));
    assert.equal((await bytes(res)).length, 0);
    const ranged = await host.request(audio(), { method: 'HEAD', headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${size}`);
  });

  const cases: [string, (size: number) => [number, number]][] = [
    ['bytes=0-99', () => [0, 99]],
    ['bytes=1000-', (n) => [1000, n - 1]],
    ['bytes=-500', (n) => [n - 500, n - 1]],
    ['bytes=0-0', () => [0, 0]],
  ];
  for (const [header, expected] of cases) {
    it(`answers ${header} with 206 and exactly those bytes`, async () => {
      const [start, end] = expected(size);
      const res = await host.request(audio(), { headers: { range: header } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`);
      assert.equal(res.headers.get('content-length'), String(end - start + 1));
      assert.ok((await bytes(res)).equals(file.subarray(start, end + 1)));
    });
  }

  it(storage.streamed ? 'streams a range when loadMaxBytes is 0 (several socket writes)' : 'answers a range of up to 256 KiB in one socket write, its headers included (no stream)', async () => {
    const end = Math.min(size - 1, 256 * 1024);
    const path = audio();
    const { counts, detach } = countSocketWrites(host, path);
    try {
      const res = await host.request(path, { headers: { range: `bytes=1-${end}` } });
      assert.equal(res.status, 206);
      assert.ok((await bytes(res)).equals(file.subarray(1, end + 1)));
    } finally {
      detach();
    }
    if (storage.streamed) assert.ok(counts.socketWrites > 1, `${counts.socketWrites} socket writes`);
    else assert.equal(counts.socketWrites, 1);
  });

  it('serves the last 100 bytes and a range that runs past the end (clamped)', async () => {
    const last = await host.request(audio(), { headers: { range: `bytes=${size - 100}-${size + 5000}` } });
    assert.equal(last.status, 206);
    assert.equal(last.headers.get('content-range'), `bytes ${size - 100}-${size - 1}/${size}`);
    assert.ok((await bytes(last)).equals(file.subarray(size - 100)));
    const huge = await host.request(audio(), { headers: { range: `bytes=-${size * 2}` } });
    assert.equal(huge.status, 206);
    assert.ok((await bytes(huge)).equals(file));
  });

  it('answers an unsatisfiable range with 416 and bytes */size', async () => {
    for (const header of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`]) {
      const res = await host.request(audio(), { headers: { range: header } });
      assert.equal(res.status, 416, header);
      assert.equal(res.headers.get('content-range'), `bytes */${size}`);
      await res.arrayBuffer();
    }
  });

  it('ignores a malformed range or several ranges and sends the whole file', async () => {
    for (const header of ['bytes=abc', 'items=0-10', 'bytes=0-10,20-30']) {
      const res = await host.request(audio(), { headers: { range: header } });
      assert.equal(res.status, 200, header);
      assert.ok((await bytes(res)).equals(file));
    }
  });

  it('answers If-None-Match and If-Modified-Since with 304', async () => {
    const first = await host.request(audio());
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    const modified = first.headers.get('last-modified')!;
    const res = await host.request(audio(), { headers: { 'if-none-match': etag } });
    assert.equal(res.status, 304);
    assert.equal(res.headers.get('etag'), etag);
    assert.equal((await bytes(res)).length, 0);
    assert.equal((await host.request(audio(), { headers: { 'if-none-match': `"other", W/${etag}` } })).status, 304);
    const ims = await host.request(audio(), { headers: { 'if-modified-since': modified } });
    assert.equal(ims.status, 304);
    const changed = await host.request(audio(), { headers: { 'if-none-match': '"not-it"' } });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();
  });

  it('honours If-Range: a matching validator keeps the range, another one gets the whole file', async () => {
    const head = await host.request(audio(), { method: 'HEAD' });
    const etag = head.headers.get('etag')!;
    const modified = head.headers.get('last-modified')!;
    const same = await host.request(audio(), { headers: { range: 'bytes=0-9', 'if-range': etag } });
    assert.equal(same.status, 206);
    assert.ok((await bytes(same)).equals(file.subarray(0, 10)));
    const byDate = await host.request(audio(), { headers: { range: 'bytes=0-9', 'if-range': modified } });
    assert.equal(byDate.status, 206);
    await byDate.arrayBuffer();
    const stale = await host.request(audio(), { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
    assert.equal(stale.status, 200);
    assert.ok((await bytes(stale)).equals(file));
    const weak = await host.request(audio(), { headers: { range: 'bytes=0-9', 'if-range': `W/${etag}` } });
    assert.equal(weak.status, 200);
    await weak.arrayBuffer();
  });

  it('names the download after the title, accents kept through filename*', async () => {
    const res = await host.request(`/api/debats/${id}/download?format=aac`);
    assert.equal(res.status, 200);
    const cd = res.headers.get('content-disposition') ?? '';
    assert.match(cd, /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
    const star = /filename\*=UTF-8''(.+)$/.exec(cd)![1]!;
    assert.equal(decodeURIComponent(star), 'Séance-du-20-novembre-Budget-État.m4a');
    assert.doesNotMatch(cd, /\//);
    assert.ok((await bytes(res)).equals(file));
  });

  it('says 404 for a rendition not extracted and 422 for an invalid one', async () => {
    const res = await host.request(`/api/debats/${id}/audio?format=mp3&quality=320k`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { detail: string }).detail, /POST \/api\/debats\/\d+\/extract/);
    assert.equal((await host.request(`/api/debats/${id}/audio?format=mp3&quality=abc`)).status, 422);
    assert.equal((await host.request(`/api/debats/${id}/audio?format=../../etc`)).status, 422);
  });

  it('hands out signed URLs that play, and refuses altered or expired ones', async () => {
    const s = await streaming(host, id);
    const r = s.renditions.find((x) => x.format === 'aac')!;
    assert.match(r.stream_url!, /expires=\d+&signature=/);
    const ok = await host.request(r.stream_url!, { headers: { range: 'bytes=0-9' } });
    assert.equal(ok.status, 206);
    await ok.arrayBuffer();
    const altered = r.stream_url!.replace(/signature=([^&])/, (_m, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await host.request(altered)).status, 403);
    const otherQuality = r.stream_url!.replace('quality=source', 'quality=64k');
    assert.equal((await host.request(otherQuality)).status, 403);
    const expired = r.stream_url!.replace(/expires=\d+/, 'expires=1000');
    assert.equal((await host.request(expired)).status, 403);
    const asDownload = r.stream_url!.replace('/audio?', '/download?');
    assert.equal((await host.request(asDownload)).status, 403, 'a stream signature does not open the download route');
  });

  it('looks a rendition up once for concurrent requests when it is not cached (no stampede of queries and stats)', async () => {
    const audioService = host.robian.kernel.services.get('audio');
    const { storage: store, library } = audioService;
    const stat = store.stat.bind(store);
    let stats = 0;
    store.stat = (key: string) => {
      stats++;
      return stat(key);
    };
    try {
      library.forget(); // as when the cached entry expires under load
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => host.request(audio(), { headers: { range: `bytes=${i * 100}-${i * 100 + 99}` } })));
      for (const [i, res] of answers.entries()) {
        assert.equal(res.status, 206);
        assert.ok((await bytes(res)).equals(file.subarray(i * 100, i * 100 + 100)));
      }
      assert.equal(stats, 1, 'one stat for the 40 requests');
    } finally {
      store.stat = stat;
    }
  });

  it('records plays in last_played_at', async () => {
    const res = await host.request(audio(), { headers: { range: 'bytes=0-1' } });
    await res.arrayBuffer();
    const em = host.robian.kernel.orm.em.fork();
    for (let i = 0; i < 50; i++) {
      const rows = await em.getConnection().execute<{ last_played_at: string | null }[]>('select last_played_at from audio_file where debate_id = ?', [id]);
      if (rows[0]?.last_played_at) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail('last_played_at was not recorded');
  });

  it('serves the new bytes and ETag after a rendition is replaced, never a mix (descriptor cache)', async () => {
    const before = await host.request(audio(), { headers: { range: 'bytes=0-9' } });
    await before.arrayBuffer();
    const audioService = host.robian.kernel.services.get('audio');
    const key = `${id}/aac-source.m4a`;
    const tmp = await audioService.storage.tempPath(key);
    const replacement = Buffer.concat([file.subarray(0, 5000), Buffer.from('a different version')]);
    (await import('node:fs')).writeFileSync(tmp, replacement);
    const stored = await audioService.storage.put(key, tmp);
    await audioService.library.saveFile(id, { format: 'aac', quality: 'source' }, stored, 1);
    const after = await host.request(audio());
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    assert.ok((await bytes(after)).equals(replacement));
  });
});

describe('REQUIRE_SIGNED_URLS=true', () => {
  let media: MediaServer;
  let host: TestHost;
  let id: number;
  before(async () => {
    media = await startMediaServer(fixture);
    host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: '127.0.0.1:*', REQUIRE_SIGNED_URLS: 'true', EXTRACTION_POLL_INTERVAL_MS: '100' }, plugins: [audioPlugin] });
    id = await createDebate(host, { video_url: `${media.url}/media/master.m3u8` });
    await extract(host, id, { format: 'aac' });
    assert.equal((await waitRendition(host, id, 'aac', 'source', ['ready', 'failed'])).status, 'ready');
  });
  after(async () => {
    await host?.close();
    await media?.close();
  });

  it('refuses unsigned audio and download URLs with 403 and serves signed ones', async () => {
    const unsigned = await host.request(`/api/debats/${id}/audio?format=aac`);
    assert.equal(unsigned.status, 403);
    assert.match(((await unsigned.json()) as { detail: string }).detail, /not signed/);
    assert.equal((await host.request(`/api/debats/${id}/download?format=aac`)).status, 403);
    const s = await streaming(host, id);
    assert.equal(s.audio_available, true);
    const r = s.renditions.find((x) => x.format === 'aac')!;
    const play = await host.request(r.stream_url!);
    assert.equal(play.status, 200, play.status === 200 ? '' : await play.text());
    await play.arrayBuffer();
    const dl = await host.request(r.download_url!);
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-disposition') ?? '', /^attachment/);
    await dl.arrayBuffer();
  });
});
