import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestHost, type TestHost } from '@robian/test-support';
import { S3AudioStorage, audioPlugin, staleUploadsOf, type S3StorageConfig } from '../src/index.ts';
import { createDebate, extract, hlsFixture, probe, startMediaServer, streaming, waitRendition, type MediaServer } from './helpers.ts';
import { S3_KEY, startS3Server, uniquePrefix, type S3Server } from './s3-server.ts';

const fixture = await hlsFixture();

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('S3AudioStorage on a real S3 protocol server', () => {
  let s3: S3Server;
  let work: string;
  const storages: S3AudioStorage[] = [];
  const make = (over: Partial<S3StorageConfig> = {}) => {
    const s = new S3AudioStorage({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY },
      prefix: uniquePrefix('unit'),
      tempDir: join(work, 'tmp'),
      ...over,
    });
    storages.push(s);
    return s;
  };
  const temp = async (s: S3AudioStorage, key: string, body: Buffer) => {
    const path = await s.tempPath(key);
    writeFileSync(path, body);
    return path;
  };

  before(async () => {
    s3 = await startS3Server();
    work = mkdtempSync(join(tmpdir(), 'robian-s3-unit-'));
  });
  after(async () => {
    for (const s of storages) s.close();
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  });

  for (const addressing of ['path-style', 'virtual-host'] as const) {
    it(`puts (multipart), stats, opens at an offset, lists and deletes (${addressing})`, async () => {
      const s =
        addressing === 'path-style'
          ? make({ forcePathStyle: true, partSizeBytes: 5 * 1024 * 1024 })
          : // <bucket>.s3.robian.test:<port>, every name resolved to 127.0.0.1 (nothing leaves the machine)
            make({ endpoint: `http://s3.robian.test:${s3.port}`, forcePathStyle: false, partSizeBytes: 5 * 1024 * 1024, lookup: ((_h: string, o: unknown, cb: (...a: unknown[]) => void) => dnsLookup('127.0.0.1', o as never, cb as never)) as never });
      const body = randomBytes(11 * 1024 * 1024 + 123); // three parts
      const key = '7/mp3-128k.mp3';
      const tmp = await temp(s, key, body);
      const stored = await s.put(key, tmp);
      assert.equal(stored.size, body.length);
      assert.ok(stored.etag, 'the object ETag is kept as the validator of reads');
      const st = await s.stat(key);
      assert.equal(st?.size, body.length);
      assert.equal(st?.etag, stored.etag);
      const at = 5 * 1024 * 1024 - 10; // across a part boundary
      assert.ok((await collect(await s.open(key, { start: at, end: at + 99 }, st))).equals(body.subarray(at, at + 100)));
      assert.ok((await collect(await s.open(key))).equals(body));
      const listed = [];
      for await (const f of s.list()) listed.push(f);
      assert.deepEqual(listed.map((f) => [f.key, f.size]), [[key, body.length]]);
      // the object is under the prefix, in the bucket: the server's folder holds it, not the temp folder
      assert.ok(filesUnder(join(s3.directory, s3.bucket)).some((f) => f.includes(s.prefix.replace(/\/$/, ''))));
      const url = await s.url(key, { disposition: 'attachment; filename="x.mp3"' });
      if (addressing === 'virtual-host') assert.match(url, new RegExp(`^http://${s3.bucket}\\.s3\\.robian\\.test:${s3.port}/`));
      else assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/${s.prefix}${key}?`), url);
      assert.equal(await s.delete(key), true);
      assert.equal(await s.stat(key), undefined);
      await assert.rejects(s.open(key), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      assert.equal(await s.delete(key), false);
    });
  }

  it('refuses to read bytes of another version than the one looked up (ENOENT, never a mix)', async () => {
    const s = make({ forcePathStyle: true });
    const key = '8/aac-source.m4a';
    await s.put(key, await temp(s, key, Buffer.from('first version of the file')));
    const first = (await s.stat(key))!;
    await s.put(key, await temp(s, key, Buffer.from('second version, longer than the first')));
    await assert.rejects(s.open(key, { start: 0, end: 4 }, first), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    const second = (await s.stat(key))!;
    assert.equal((await collect(await s.open(key, { start: 0, end: 5 }, second))).toString(), 'second');
  });

  it('reads through the SDK when the presigned read is refused (403: credentials rotated), and says what S3 said', async () => {
    const s = make({ forcePathStyle: true });
    const key = '12/mp3-64k.mp3';
    await s.put(key, await temp(s, key, Buffer.from('bytes of the object')));
    const stored = (await s.stat(key))!;
    assert.equal((await collect(await s.open(key, { start: 0, end: 4 }, stored))).toString(), 'bytes');
    // the same object with an access key the server does not know: the presigned GET gets a 403,
    // the SDK is tried and its error (parsed from S3's answer) is what the caller sees
    const stranger = make({ forcePathStyle: true, prefix: s.prefix, credentials: { accessKeyId: 'UNKNOWN', secretAccessKey: 'UNKNOWN' } });
    await assert.rejects(stranger.open(key, { start: 0, end: 4 }, stored), (e: Error) => e.name === 'InvalidAccessKeyId');
    // load falls back the same way
    assert.equal(Buffer.concat(await s.load(key, { start: 6, end: 10 }, stored)).toString(), 'of th');
    await assert.rejects(stranger.load(key, { start: 0, end: 4 }, stored), (e: Error) => e.name === 'InvalidAccessKeyId');
  });

  it('loads a range whole (load): exact bytes, a wider answer cut, another version refused, a missing object ENOENT', async () => {
    const s = make({ forcePathStyle: true });
    const key = '13/mp3-128k.mp3';
    const body = randomBytes(300 * 1024);
    await s.put(key, await temp(s, key, body));
    const stored = (await s.stat(key))!;
    assert.ok(Buffer.concat(await s.load(key, { start: 12_345, end: 112_344 }, stored)).equals(body.subarray(12_345, 112_345)));
    // past the end: clamped to the object, as a GET is
    assert.ok(Buffer.concat(await s.load(key, { start: body.length - 10, end: body.length + 100 }, stored)).equals(body.subarray(body.length - 10)));
    // s3rver answers `bytes=0-0` with more than one byte: load reads it again through open, which cuts it
    assert.ok(Buffer.concat(await s.load(key, { start: 0, end: 0 }, stored)).equals(body.subarray(0, 1)));
    // another version under the key: ENOENT, never its bytes
    await s.put(key, await temp(s, key, Buffer.from('a replacement')));
    await assert.rejects(s.load(key, { start: 0, end: 4 }, stored), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    await s.delete(key);
    await assert.rejects(s.load(key, { start: 0, end: 4 }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    await assert.rejects(s.load('../etc/passwd', { start: 0, end: 4 }), /invalid storage key/);
  });

  it('says undefined only for a missing object: an unreachable server is an error (cleanup must not forget rows)', async () => {
    const s = make({ endpoint: 'http://127.0.0.1:9', forcePathStyle: true });
    assert.equal(await make({ forcePathStyle: true }).stat('9/mp3-64k.mp3'), undefined);
    await assert.rejects(s.stat('9/mp3-64k.mp3'));
  });

  it('hands out presigned URLs a plain HTTP client follows (range, Content-Disposition), and public URLs with AUDIO_PUBLIC_BASE_URL', async () => {
    const s = make({ forcePathStyle: true, publicBaseUrl: 'https://cdn.example.org/audio/' });
    const key = '10/mp3-64k.mp3';
    const body = randomBytes(4000);
    await s.put(key, await temp(s, key, body));
    assert.equal(await s.url(key), `https://cdn.example.org/audio/${s.prefix}${key}`);
    const signed = await s.url(key, { disposition: `attachment; filename="S_ance.mp3"; filename*=UTF-8''S%C3%A9ance.mp3`, contentType: 'audio/mpeg' });
    assert.match(signed, /X-Amz-Signature=[0-9a-f]{64}/);
    assert.match(signed, /X-Amz-Expires=\d+/);
    assert.equal(await s.url(key, { disposition: `attachment; filename="S_ance.mp3"; filename*=UTF-8''S%C3%A9ance.mp3`, contentType: 'audio/mpeg' }), signed, 'reused while young');
    const res = await fetch(signed, { headers: { range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="S_ance.mp3"; filename*=UTF-8''S%C3%A9ance.mp3`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body.subarray(100, 200)));
  });

  it('leaves nothing visible when the uploading process is killed halfway', async () => {
    const prefix = uniquePrefix('killed');
    const config: S3StorageConfig = { bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, prefix, tempDir: join(work, 'tmp-killed'), partSizeBytes: 5 * 1024 * 1024, queueSize: 1 };
    const file = join(work, 'big.mp3');
    writeFileSync(file, randomBytes(20 * 1024 * 1024));
    const key = '11/mp3-320k.mp3';
    const child = spawn(process.execPath, ['--conditions=robian-source', fileURLToPath(new URL('./child-upload.ts', import.meta.url)), JSON.stringify(config), key, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // halfway: the server holds finished parts of the upload (s3rver writes `<part>.md5` once a part is in)
    const parts = () => filesUnder(join(s3.directory, s3.bucket)).filter((f) => /uploads/.test(f) && f.endsWith('.md5')).length;
    while (parts() < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    assert.equal(out, '', 'killed before the upload completed');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const s = make({ ...config, tempDir: join(work, 'tmp-killed') });
    assert.equal(await s.stat(key), undefined, 'no object');
    const listed = [];
    for await (const f of s.list()) listed.push(f.key);
    assert.deepEqual(listed, []);
    await assert.rejects(s.open(key), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    // the killed upload's parts are still on the server; s3rver cannot list (nor abort) them, and says so
    assert.ok(parts() >= 2);
    const stale = await s.abortStaleUploads({ olderThan: new Date(Date.now() + 60_000) });
    assert.equal(stale.supported, false);
    assert.deepEqual(stale.uploads, []);
    assert.match(stale.detail ?? '', /does not list multipart uploads \(ListMultipartUploads: NotImplemented\).*lifecycle rule/);
  });

  it('picks, of a ListMultipartUploads page, only Robian’s uploads under its prefix started before the bound', () => {
    const initiated = (hoursAgo: number) => new Date(Date.UTC(2026, 10, 20, 12) - hoursAgo * 3_600_000);
    const bound = initiated(24);
    const picked = staleUploadsOf(
      [
        { Key: 'robian/11/mp3-320k.mp3', UploadId: 'old', Initiated: initiated(30) },
        { Key: 'robian/12/aac-source.m4a', UploadId: 'young', Initiated: initiated(2) },
        { Key: 'robian/13/aac-source.m4a', UploadId: 'exactly-the-bound', Initiated: initiated(24) },
        { Key: 'other-app/11/mp3-320k.mp3', UploadId: 'not-under-the-prefix', Initiated: initiated(30) },
        { Key: 'robian/backups/db.dump', UploadId: 'not-a-rendition', Initiated: initiated(30) },
        { Key: 'robian/14/mp3-64k.mp3.1a2b.tmp', UploadId: 'a-temp-key', Initiated: initiated(30) },
        { Key: 'robian/15/opus-24k.ogg', Initiated: initiated(30) },
      ],
      'robian/',
      bound,
    );
    assert.deepEqual(picked, [{ key: '11/mp3-320k.mp3', objectKey: 'robian/11/mp3-320k.mp3', uploadId: 'old', initiated: initiated(30) }]);
  });
});

describe('S3 storage, redirect delivery (AUDIO_DELIVERY=redirect)', () => {
  let media: MediaServer;
  let s3: S3Server;
  let host: TestHost;
  let id: number;
  let file: Buffer;
  let prefix: string;
  before(async () => {
    media = await startMediaServer(fixture);
    s3 = await startS3Server();
    prefix = uniquePrefix('redirect');
    // only the media server's port: FFmpeg reaches the S3 server because it is the storage (egress allow-list)
    host = await startTestHost({ env: { MEDIA_ALLOWED_HOSTS: new URL(media.url).host, EXTRACTION_POLL_INTERVAL_MS: '100', ...s3.env(prefix, { AUDIO_DELIVERY: 'redirect', S3_PRESIGN_TTL: '120' }) }, plugins: [audioPlugin] });
    id = await createDebate(host, { title: 'Séance du 21 novembre : « Énergie »', video_url: `${media.url}/media/master.m3u8` });
    await extract(host, id, { format: 'aac' });
    const r = await waitRendition(host, id, 'aac', 'source', ['ready', 'failed']);
    assert.equal(r.status, 'ready', r.error ?? '');
    file = await collect(await host.robian.kernel.services.get('audio').storage.open(`${id}/aac-source.m4a`));
  });
  after(async () => {
    await host?.close();
    await media?.close();
    await s3?.close();
  });

  it('answers 302 to a presigned GET of bounded life, after Robian’s own signature check', async () => {
    const res = await host.request(`/api/debats/${id}/audio?format=aac`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = res.headers.get('location')!;
    assert.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/${prefix}${id}/aac-source.m4a?`), location);
    assert.match(location, /X-Amz-Expires=120&/);
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=30$/);
    const s = await streaming(host, id);
    const signed = s.renditions.find((r) => r.format === 'aac')!.stream_url!;
    assert.equal((await host.request(signed.replace(/signature=./, 'signature=_'), { redirect: 'manual' })).status, 403, 'an altered Robian URL is refused, not redirected');
    assert.equal((await host.request(signed, { redirect: 'manual' })).status, 302);
  });

  const cases: [string, (n: number) => [number, number]][] = [
    ['bytes=0-99', () => [0, 99]],
    ['bytes=1000-', (n) => [1000, n - 1]],
    ['bytes=5000-5999', () => [5000, 5999]],
  ];
  // the other cases of the local suite (bytes=0-0, suffixes, 416, If-Range) are the S3 server's own
  // semantics in this mode; s3rver 3.7.1 gets 0-0 and suffixes wrong (docs/decisions.md § S3)
  for (const [header, expected] of cases) {
    it(`a client following the redirect gets ${header} from S3 (206, exactly those bytes)`, async () => {
      const [start, end] = expected(file.length);
      const res = await host.request(`/api/debats/${id}/audio?format=aac`, { headers: { range: header } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${file.length}`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(file.subarray(start, end + 1)));
    });
  }

  it('serves the whole file and the download named after the title through S3', async () => {
    const whole = await host.request(`/api/debats/${id}/audio?format=aac`);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file));
    const dl = await host.request(`/api/debats/${id}/download?format=aac`);
    assert.equal(dl.status, 200);
    const star = /filename\*=UTF-8''(.+)$/.exec(dl.headers.get('content-disposition') ?? '')?.[1];
    assert.equal(decodeURIComponent(star ?? ''), 'Séance-du-21-novembre-Énergie.m4a');
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(file));
  });

  it('robian audio cleanup on an S3 server without ListMultipartUploads goes on and warns', async () => {
    const report = await host.robian.kernel.services.get('audio').cleanup({ ttlDays: 0, dryRun: true });
    assert.deepEqual(report.removed, []);
    assert.equal(report.warnings.length, 1);
    assert.match(report.warnings[0]!, /^s3:\/\/robian-test does not list multipart uploads/);
  });

  it('derives a rendition from the master on S3 (FFmpeg reads a presigned URL), not from the source again', async () => {
    const before = media.hits.length;
    await extract(host, id, { format: 'mp3', quality: '64k' });
    const r = await waitRendition(host, id, 'mp3', '64k', ['ready', 'failed']);
    assert.equal(r.status, 'ready', r.error ?? '');
    assert.equal(media.hits.length, before, 'the source was not fetched again');
    const mp3 = await collect(await host.robian.kernel.services.get('audio').storage.open(`${id}/mp3-64k.mp3`));
    const local = join(host.env.dataDir, 'check.mp3');
    writeFileSync(local, mp3);
    const p = await probe(local);
    assert.equal(p.codec, 'mp3');
    assert.ok(p.duration > 30);
    assert.deepEqual(readdirSync(join(host.env.dataDir, 'tmp', 'audio', String(id))), [], 'no temp file left after the upload');
  });
});
