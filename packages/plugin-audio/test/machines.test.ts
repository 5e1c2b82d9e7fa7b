import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createTestEnvironment, serverModeSkip, type TestEnvironment } from '@robian/test-support';
import { S3AudioStorage } from '../src/index.ts';
import { createDebate, extract, hlsFixture, startMediaServer, streaming, waitRendition, type MediaServer } from './helpers.ts';
import { S3_KEY, startS3Server, uniquePrefix, type S3Server } from './s3-server.ts';
import { spawnHost, type ChildHost } from './spawn-host.ts';

const fixture = await hlsFixture();

/** Every file under a folder (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Two hosts as two machines would run them: separate processes, separate DATA_DIRs (no disk in
 * common), one PostgreSQL database, one Redis prefix and one S3 bucket (s3rver on 127.0.0.1). A
 * rendition extracted by A is streamed and downloaded by B from S3, and deleting the debate on B
 * removes its objects from the bucket.
 */
describe('several machines: two host processes sharing PostgreSQL, Redis and S3, no disk', { skip: serverModeSkip() }, () => {
  let media: MediaServer;
  let s3: S3Server;
  let env: TestEnvironment;
  let dataB: string;
  let a: ChildHost | undefined;
  let b: ChildHost | undefined;
  let objects: S3AudioStorage;
  let prefix: string;
  let id: number;
  const FAST = { EXTRACTION_POLL_INTERVAL_MS: '100', EXTRACTION_RETRY_BASE_MS: '50' };

  /** The bucket's keys under this test's prefix, listed straight from S3 (not through Robian's filters). */
  const bucketKeys = async () => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await objects.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  };
  const objectBytes = async (key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await objects.open(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  before(async () => {
    media = await startMediaServer(fixture);
    s3 = await startS3Server();
    prefix = uniquePrefix('machines');
    env = await createTestEnvironment('postgresql+redis', { ...FAST, MEDIA_ALLOWED_HOSTS: new URL(media.url).host, ...s3.env(prefix) });
    dataB = mkdtempSync(join(tmpdir(), 'robian-test-machine-b-'));
    objects = new S3AudioStorage({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, prefix, tempDir: join(env.dataDir, 'unused') });
    // A first, alone: it migrates the schema, and the extraction is its own (B has no job to claim yet)
    a = await spawnHost({ ...env.env, TEST_MEDIA_URL: media.url });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    objects?.close();
    await env?.cleanup();
    rmSync(dataB, { recursive: true, force: true });
    await s3?.close();
    await media?.close();
  });

  it('host A extracts a master and a derived rendition: objects in the bucket, nothing left on its disk', async () => {
    id = await createDebate(a!, { title: 'Séance du 22 novembre : « Deux machines »', video_url: `${media.url}/media/master.m3u8` });
    assert.equal((await extract(a!, id, { format: 'aac' })).status, 202);
    const master = await waitRendition(a!, id, 'aac', 'source', ['ready', 'failed']);
    assert.equal(master.status, 'ready', master.error ?? '');
    assert.equal((await extract(a!, id, { format: 'mp3', quality: '64k' })).status, 202);
    const mp3 = await waitRendition(a!, id, 'mp3', '64k', ['ready', 'failed']);
    assert.equal(mp3.status, 'ready', mp3.error ?? '');
    assert.deepEqual(await bucketKeys(), [`${prefix}${id}/aac-source.m4a`, `${prefix}${id}/mp3-64k.mp3`]);
    assert.deepEqual(filesUnder(join(env.dataDir, 'audio')), [], 'A keeps no rendition on its disk');
    assert.deepEqual(filesUnder(join(env.dataDir, 'tmp', 'audio')), [], 'nor a temp file once uploaded');
  });

  it('host B, on its own DATA_DIR, sees the renditions ready and does not extract them again', async () => {
    b = await spawnHost({ ...env.env, DATA_DIR: dataB, TEST_MEDIA_URL: media.url });
    const hits = media.hits.length;
    const s = await streaming(b, id);
    const aac = s.renditions.find((r) => r.format === 'aac' && r.quality === 'source')!;
    assert.equal(aac.status, 'ready');
    assert.ok(aac.stream_url);
    const again = await extract(b, id, { format: 'aac' });
    assert.equal(again.status, 200, 'already available: no second job');
    assert.equal(again.job.status, 'completed');
    assert.equal(media.hits.length, hits, 'B fetched nothing from the source');
  });

  it('host B streams A’s rendition with seeks: every range is the bytes of the object A uploaded', async () => {
    const file = await objectBytes(`${id}/aac-source.m4a`);
    const size = file.length;
    assert.ok(size > 100_000);
    const whole = await b!.request(`/api/debats/${id}/audio?format=aac`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.ok((await bytes(whole)).equals(file));
    // a player's seeks: the start, forward, back, the end, open-ended, a suffix, one byte
    const seeks: [string, number, number][] = [
      ['bytes=0-65535', 0, 65535],
      [`bytes=${Math.floor(size / 2)}-${Math.floor(size / 2) + 99_999}`, Math.floor(size / 2), Math.floor(size / 2) + 99_999],
      ['bytes=4096-8191', 4096, 8191],
      [`bytes=${size - 1000}-`, size - 1000, size - 1],
      ['bytes=-512', size - 512, size - 1],
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    ];
    const etags = new Set<string>();
    for (const [range, start, end] of seeks) {
      const res = await b!.request(`/api/debats/${id}/audio?format=aac`, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
      assert.ok((await bytes(res)).equals(file.subarray(start, end + 1)), `${range}: the object's bytes`);
      etags.add(res.headers.get('etag')!);
    }
    assert.equal(etags.size, 1, 'one validator across the seeks');
    // the same validator on A: a player moving between the machines keeps its If-Range
    const onA = await a!.request(`/api/debats/${id}/audio?format=aac`, { headers: { range: 'bytes=0-0', 'if-range': [...etags][0]! } });
    assert.equal(onA.status, 206);
  });

  it('host B serves the download of A’s derived rendition, named after the title', async () => {
    const file = await objectBytes(`${id}/mp3-64k.mp3`);
    const dl = await b!.request(`/api/debats/${id}/download?format=mp3&quality=64k`);
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'audio/mpeg');
    assert.match(dl.headers.get('content-disposition') ?? '', /^attachment; /);
    const star = /filename\*=UTF-8''(.+)$/.exec(dl.headers.get('content-disposition') ?? '')?.[1];
    assert.equal(decodeURIComponent(star ?? ''), 'Séance-du-22-novembre-Deux-machines.mp3');
    assert.ok((await bytes(dl)).equals(file));
    assert.deepEqual(filesUnder(dataB).filter((f) => /\.(m4a|mp3|tmp)$/.test(f)), [], 'B never wrote audio to its disk');
  });

  it('the debate deleted through B disappears from S3, and from A', async () => {
    const res = await b!.request(`/api/debats/${id}`, { method: 'DELETE', admin: true });
    assert.equal(res.status, 204);
    // the objects are removed after the answer (debate.deleted): polled, the test timeout bounds it
    let keys = await bucketKeys();
    while (keys.length > 0) {
      await new Promise((r) => setTimeout(r, 50));
      keys = await bucketKeys();
    }
    assert.deepEqual(keys, []);
    assert.equal((await b!.request(`/api/debats/${id}/audio?format=aac`)).status, 404);
    // A may have the rendition in its few-second playable cache: the object is gone, so a 404 either way
    assert.equal((await a!.request(`/api/debats/${id}/audio?format=aac`)).status, 404);
    assert.equal((await a!.request(`/api/debats/${id}/download?format=mp3&quality=64k`)).status, 404);
  });
});
