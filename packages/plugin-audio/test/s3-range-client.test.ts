import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { S3AudioStorage, type S3StorageConfig, type StoredFile } from '../src/index.ts';
import { parseHead } from '../src/http-head.ts';
import { S3RangeClient } from '../src/s3-range-client.ts';
import { S3_KEY, startS3Server, uniquePrefix, type S3Server } from './s3-server.ts';
import { startTcpRelay, type TcpRelay } from './tcp-relay.ts';

async function bytesOf(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Turns of the event loop until `done` holds (sockets closing), at most `turns`. */
async function settle(done: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('parseHead: the status line and header fields of an HTTP/1.x answer', () => {
  it('reads the status, the fields (names in lower case, repeated ones joined) and the body framing', () => {
    const head = parseHead('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nETag: "abc"\r\nContent-Length: 10\r\nX-Amz-Meta-A: 1\r\nx-amz-meta-a: 2');
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-range'], 'bytes 0-9/100');
    assert.equal(head.headers.etag, '"abc"');
    assert.equal(head.headers['x-amz-meta-a'], '1, 2');
    assert.equal(head.contentLength, 10);
    assert.equal(head.keepAlive, true);
  });

  it('keeps the socket only for a body framed by Content-Length on a persistent connection', () => {
    assert.equal(parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close').keepAlive, false);
    assert.equal(parseHead('HTTP/1.0 200 OK\r\nContent-Length: 5').keepAlive, false);
    assert.equal(parseHead('HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive').keepAlive, true);
    const chunked = parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5');
    assert.equal(chunked.contentLength, undefined);
    assert.equal(chunked.keepAlive, false);
    assert.equal(parseHead('HTTP/1.1 304 Not Modified\r\nContent-Length: 5').contentLength, 0);
  });

  it('refuses what is not a well-formed head', () => {
    assert.throws(() => parseHead('ICY 200 OK'), /status line/);
    assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6'), /Content-Length/);
    assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nContent-Length: -1'), /Content-Length/);
    assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded'), /header field/);
  });
});

describe('S3RangeClient: the proxy’s GETs of S3 objects on keep-alive sockets (real s3rver behind a TCP relay)', () => {
  let s3: S3Server;
  let relay: TcpRelay;
  let work: string;
  const storages: S3AudioStorage[] = [];
  const prefix = uniquePrefix('range-client');
  const key = '21/mp3-128k.mp3';
  const body = randomBytes(300 * 1024 + 7);
  let stored: StoredFile;
  /** A storage reading through the relay (its uploads and HEADs go straight to s3rver: `direct`). */
  const make = (over: Partial<S3StorageConfig> = {}) => {
    const s = new S3AudioStorage({ bucket: s3.bucket, endpoint: relay.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, prefix, tempDir: join(work, 'tmp'), ...over });
    storages.push(s);
    return s;
  };

  before(async () => {
    s3 = await startS3Server();
    relay = await startTcpRelay(s3.port);
    work = mkdtempSync(join(tmpdir(), 'robian-range-client-'));
    const direct = new S3AudioStorage({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, prefix, tempDir: join(work, 'tmp') });
    storages.push(direct);
    const path = await direct.tempPath(key);
    writeFileSync(path, body);
    stored = await direct.put(key, path);
  });
  beforeEach(() => relay.reset());
  after(async () => {
    for (const s of storages) s.close();
    await relay?.close();
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('parses a real answer: status, headers, and the body in one buffer of exactly Content-Length bytes', async () => {
    const s = make();
    const res = await s.ranges!.get(await s.url(key), { range: 'bytes=1000-70999' });
    assert.equal(res.head.status, 206);
    assert.equal(res.head.headers['content-range'], `bytes 1000-70999/${body.length}`);
    assert.equal(res.head.headers.etag, stored.etag);
    assert.equal(res.head.contentLength, 70_000);
    const got = await res.collect();
    assert.ok(got.equals(body.subarray(1000, 71_000)));
    // the same through the storage's load: one buffer, the bytes asked for
    const loaded = await s.load(key, { start: 5, end: 200_004 }, stored);
    assert.equal(loaded.length, 1);
    assert.ok(loaded[0]!.equals(body.subarray(5, 200_005)));
    // and streamed (open): the whole object, then a range
    assert.ok((await bytesOf(await s.open(key, undefined, stored))).equals(body));
    assert.ok((await bytesOf(await s.open(key, { start: 299_000, end: 300_099 }, stored))).equals(body.subarray(299_000, 300_100)));
    assert.ok(s.ranges!.stats.requests >= 4, 'the reads went through the range client');
  });

  it('serves several requests on the same socket (keep-alive), and no more sockets than its bound', async () => {
    const s = make();
    for (let i = 0; i < 5; i++) {
      const at = i * 50_000;
      assert.ok(Buffer.concat(await s.load(key, { start: at, end: at + 9_999 }, stored)).equals(body.subarray(at, at + 10_000)));
    }
    assert.equal(relay.requests, 5);
    assert.equal(relay.connections, 1, 'one connection carried the five GETs');
    assert.equal(s.ranges!.stats.connections, 1);

    relay.reset();
    const bounded = make({ maxSockets: 2 });
    const reads = Array.from({ length: 8 }, (_, i) => bounded.load(key, { start: i * 1000, end: i * 1000 + 65_535 }, stored));
    const answers = await Promise.all(reads);
    answers.forEach((a, i) => assert.ok(Buffer.concat(a).equals(body.subarray(i * 1000, i * 1000 + 65_536))));
    assert.equal(relay.requests, 8);
    assert.equal(relay.connections, 2, 'eight concurrent GETs on the two sockets of the bound');
  });

  it('sends a GET again on a fresh socket when the server closes a kept-alive one as the request arrives', async () => {
    const s = make();
    const url = await s.url(key);
    assert.ok((await (await s.ranges!.get(url, { range: 'bytes=0-99' })).collect()).equals(body.subarray(0, 100)));
    // the server closes the idle socket between requests: the client notices and opens another
    relay.closeAll();
    await settle(() => s.ranges!.sockets === 0);
    assert.ok((await (await s.ranges!.get(url, { range: 'bytes=100-199' })).collect()).equals(body.subarray(100, 200)));
    assert.equal(relay.connections, 2);
    // the server closes it as the next request arrives (unanswered): sent once more, on a new socket
    relay.dropLaterRequests = true;
    const res = await s.ranges!.get(url, { range: 'bytes=200-299' });
    assert.ok((await res.collect()).equals(body.subarray(200, 300)));
    assert.equal(s.ranges!.stats.retries, 1);
    assert.equal(relay.connections, 3);
  });

  it('fails a body cut short (never a short success), by load and by open', async () => {
    const s = make();
    relay.truncateAfter = 2000; // the head (~400 bytes) and part of the body
    const res = await s.ranges!.get(await s.url(key), { range: 'bytes=0-99999' });
    assert.equal(res.head.contentLength, 100_000);
    await assert.rejects(res.collect(), /closed after \d+ of 100000 bytes/);
    await assert.rejects(s.load(key, { start: 0, end: 99_999 }, stored), /closed after \d+ of 100000 bytes/);
    await assert.rejects(bytesOf(await s.open(key, { start: 0, end: 99_999 }, stored)), /closed after \d+ of 100000 bytes/);
    relay.truncateAfter = undefined;
    assert.ok(Buffer.concat(await s.load(key, { start: 0, end: 99_999 }, stored)).equals(body.subarray(0, 100_000)));
  });

  it('maps 404 to ENOENT without another request, and a 403 to the SDK’s reading (and its error)', async () => {
    const s = make();
    await assert.rejects(s.load('99/mp3-128k.mp3', { start: 0, end: 9 }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /no such object/.test(e.message));
    assert.equal(relay.requests, 1, 'the 404 was the range client’s, not a second read');
    assert.equal(s.ranges!.stats.requests, 1);
    // its body was read and the socket kept
    assert.ok(Buffer.concat(await s.load(key, { start: 0, end: 9 }, stored)).equals(body.subarray(0, 10)));
    assert.equal(relay.connections, 1);

    relay.reset();
    const stranger = make({ credentials: { accessKeyId: 'UNKNOWN', secretAccessKey: 'UNKNOWN' } });
    await assert.rejects(stranger.load(key, { start: 0, end: 9 }, stored), (e: Error) => e.name === 'InvalidAccessKeyId');
    assert.ok(stranger.ranges!.stats.requests >= 1, 'the presigned GET was tried first');
    assert.ok(relay.requests >= 2, 'then the SDK');
  });

  it('closes its sockets with the storage', async () => {
    // the other tests' storages first (the one that uploaded does not go through the relay)
    for (const other of storages.slice(1)) other.close();
    await settle(() => relay.open === 0);
    assert.equal(relay.open, 0);
    const s = make();
    await Promise.all([0, 1, 2].map((i) => s.load(key, { start: i, end: i + 9 }, stored)));
    assert.ok(s.ranges!.sockets >= 1);
    assert.equal(relay.open, s.ranges!.sockets);
    s.close();
    await settle(() => relay.open === 0);
    assert.equal(s.ranges!.sockets, 0);
    assert.equal(relay.open, 0);
    await assert.rejects(s.ranges!.get(await s.url(key)), /closed/);
  });
});

describe('S3RangeClient against a server answering what S3 should not', () => {
  /** A server answering every request with `answer` (written in pieces of `piece` bytes). */
  async function rawServer(answer: string, piece = Infinity) {
    const seen: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('data', async (d) => {
        seen.push(d.toString('latin1'));
        const bytes = Buffer.from(answer, 'latin1');
        for (let at = 0; at < bytes.length; at += piece) {
          socket.write(bytes.subarray(at, at + piece));
          if (piece !== Infinity) await new Promise((r) => setImmediate(r));
        }
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    return { port, origin: `http://127.0.0.1:${port}`, seen, close: () =>
        new Promise<void>((r) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => r());
        }),
    };
  }
  const clients: S3RangeClient[] = [];
  after(() => clients.forEach((c) => c.close()));

  it('gives up on a server that accepts and never answers (twice: the GET is sent once more), not on a slow reader of a body', async () => {
    const silent = await rawServer('');
    const client = new S3RangeClient({ origin: silent.origin, maxSockets: 2, answerTimeoutMs: 100 });
    clients.push(client);
    await assert.rejects(client.get(`${silent.origin}/b/k`), /no answer from 127\.0\.0\.1:\d+ within 100 ms/);
    assert.equal(silent.seen.length, 2, 'the request and its one retry on a fresh socket');
    client.close();
    await silent.close();
    // the answer's head came: the body waits for its reader as long as it takes
    const body = randomBytes(256 * 1024);
    const slow = await rawServer(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n${body.toString('latin1')}`);
    const reader = new S3RangeClient({ origin: slow.origin, maxSockets: 1, answerTimeoutMs: 100 });
    clients.push(reader);
    const stream = (await reader.get(`${slow.origin}/b/k`)).stream();
    await new Promise((r) => setTimeout(r, 400));
    assert.ok((await bytesOf(stream)).equals(body));
    reader.close();
    await slow.close();
  });

  it('reads a head and a body that arrive in many small pieces', async () => {
    const srv = await rawServer('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-11/12\r\nContent-Length: 12\r\n\r\nhello, world', 3);
    const client = new S3RangeClient({ origin: srv.origin, maxSockets: 1 });
    clients.push(client);
    const res = await client.get(`${srv.origin}/b/k?X-Amz-Signature=x`, { range: 'bytes=0-11', 'if-match': '"e"' });
    assert.equal(res.head.status, 206);
    assert.equal((await res.collect()).toString(), 'hello, world');
    assert.match(srv.seen[0]!, /^GET \/b\/k\?X-Amz-Signature=x HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nrange: bytes=0-11\r\nif-match: "e"\r\n\r\n$/);
    client.close();
    await srv.close();
  });

  it('maps 412, 5xx and a redirect (not followed) as before, and refuses an unframed body', async () => {
    const answers: [string, RegExp | ((e: NodeJS.ErrnoException) => boolean)][] = [
      ['HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n', (e) => e.code === 'ENOENT' && /replaced/.test(e.message)],
      ['HTTP/1.1 503 Slow Down\r\nContent-Length: 4\r\n\r\nslow', /GET answered 503/],
      ['HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere.example/x\r\nContent-Length: 0\r\n\r\n', /GET answered 301/],
    ];
    for (const [answer, expected] of answers) {
      const srv = await rawServer(answer);
      const s = new S3AudioStorage({ bucket: 'b', endpoint: srv.origin, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, tempDir: join(tmpdir(), 'robian-range-raw') });
      await assert.rejects(s.load('1/mp3-128k.mp3', { start: 0, end: 9 }), expected as never);
      assert.equal(srv.seen.length, 1, 'one GET, to the configured endpoint only');
      s.close();
      await srv.close();
    }
    const chunked = await rawServer('HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    const client = new S3RangeClient({ origin: chunked.origin, maxSockets: 1 });
    clients.push(client);
    const res = await client.get(`${chunked.origin}/b/k`);
    assert.equal(res.head.contentLength, undefined);
    await assert.rejects(res.collect(), /not framed by Content-Length/);
    await assert.rejects(client.get('http://elsewhere.example/b/k'), /not this client's origin/);
    client.close();
    await chunked.close();
    // an interim answer or a head that is not HTTP: an error, not a hang nor a retry
    for (const [answer, expected] of [['HTTP/1.1 100 Continue\r\n\r\n', /interim answer 100/], ['SSH-2.0-OpenSSH\r\n\r\n', /status line/]] as const) {
      const srv = await rawServer(answer);
      const c = new S3RangeClient({ origin: srv.origin, maxSockets: 1 });
      clients.push(c);
      await assert.rejects(c.get(`${srv.origin}/b/k`), expected);
      assert.equal(c.stats.retries, 0);
      c.close();
      await srv.close();
    }
  });
});
