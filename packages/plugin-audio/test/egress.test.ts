import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SourceRegistry } from '@robian/core';
import { Extractor, HostAllowList, LocalAudioStorage, MASTER, MediaEgressProxy, findBinaries, type Binaries } from '../src/index.ts';
import { hlsFixture, startMediaServer, type MediaServer } from './helpers.ts';

/**
 * Issue #11 item 1: every request FFmpeg, ffprobe and yt-dlp make goes through Robian's egress
 * proxy, which checks host AND port, so a redirect or an HLS segment cannot leave the allow-list.
 * "inside" is the allowed origin (127.0.0.1:<port A>); "outside" serves the same media on another
 * port (the internal service an attacker wants), and must never be hit.
 */
describe('media egress: redirects, HLS segments and ports stay inside the allow-list', () => {
  let dir: string;
  let outside: MediaServer;
  let inside: Server;
  let insideUrl: string;
  const insideHits: string[] = [];
  let proxy: MediaEgressProxy;
  let extractor: Extractor;
  let storageRoot: string;
  let binaries: Binaries;

  before(async () => {
    dir = await hlsFixture();
    outside = await startMediaServer(dir);
    inside = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      insideHits.push(path);
      const port = (inside.address() as AddressInfo).port;
      if (path === '/redirect-port/master.m3u8') return void res.writeHead(302, { location: `${outside.url}/media/master.m3u8` }).end();
      if (path === '/redirect-host/master.m3u8') return void res.writeHead(302, { location: `http://localhost:${port}/media/master.m3u8` }).end();
      if (path === '/redirect-page.html') return void res.writeHead(302, { location: `${outside.url}/page.html` }).end();
      if (path === '/offsite/index.m3u8') {
        // a media playlist on the allowed origin whose segments are on the other one
        const local = readFileSync(join(dir, 'v0', 'index.m3u8'), 'utf8');
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        return void res.end(local.replace(/^(seg\d+\.ts)$/gm, `${outside.url}/media/v0/$1`));
      }
      const m = /^\/media\/(master\.m3u8|v0\/index\.m3u8|v0\/seg\d+\.ts)$/.exec(path);
      if (!m) return void res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(join(dir, m[1]!)));
    });
    await new Promise<void>((resolve) => inside.listen(0, '127.0.0.1', resolve));
    insideUrl = `http://127.0.0.1:${(inside.address() as AddressInfo).port}`;
    const allowList = () => new HostAllowList([new URL(insideUrl).host]);
    proxy = new MediaEgressProxy(allowList);
    await proxy.start();
    binaries = await findBinaries({ ...(process.env.FFMPEG_PATH ? { ffmpegPath: process.env.FFMPEG_PATH } : {}) });
    storageRoot = mkdtempSync(join(tmpdir(), 'robian-egress-'));
    extractor = new Extractor({ binaries, storage: new LocalAudioStorage(storageRoot), sources: new SourceRegistry(), allowList, threads: 1, egress: () => proxy.url });
  });
  after(async () => {
    await proxy?.stop();
    await outside?.close();
    inside?.closeAllConnections();
    await new Promise<void>((resolve) => (inside ? inside.close(() => resolve()) : resolve()));
    rmSync(storageRoot, { recursive: true, force: true });
  });

  const run = (debateId: number, url: string) =>
    extractor.extract({ debateId, videoUrl: url, rendition: MASTER, signal: new AbortController().signal, onProgress: () => {}, onRendition: async () => {} });

  it('extracts from the allowed origin through the proxy (playlist and segments)', async () => {
    const r = await run(1, `${insideUrl}/media/master.m3u8`);
    assert.ok(r.file.size > 1000);
    assert.ok(insideHits.some((p) => p.endsWith('.ts')), 'segments were fetched through the proxy');
    assert.equal(outside.hits.length, 0);
  });

  it('refuses a 302 to another port of the same host: FFmpeg never reaches it', async () => {
    await assert.rejects(run(2, `${insideUrl}/redirect-port/master.m3u8`), (err: Error & { permanent?: boolean }) => {
      assert.match(err.message, /403|not allowed|egress/i);
      return true;
    });
    assert.deepEqual(outside.hits, []);
    assert.ok(proxy.refused.some((r) => r.target === new URL(outside.url).host));
  });

  it('refuses a 302 to another host name on the allowed port', async () => {
    const port = new URL(insideUrl).port;
    const before = insideHits.length;
    await assert.rejects(run(3, `${insideUrl}/redirect-host/master.m3u8`));
    assert.ok(proxy.refused.some((r) => r.target === `localhost:${port}`));
    assert.deepEqual(insideHits.slice(before).filter((p) => p !== '/redirect-host/master.m3u8'), [], 'the redirect target was not fetched');
  });

  it('refuses HLS segments listed on a disallowed origin', async () => {
    await assert.rejects(run(4, `${insideUrl}/offsite/index.m3u8`));
    assert.deepEqual(outside.hits.filter((p) => p.endsWith('.ts')), []);
  });

  it('yt-dlp: a page that redirects off the allow-list is not fetched', async () => {
    assert.ok(binaries.ytdlp.path, 'yt-dlp is installed (the test run checks it up front)');
    await assert.rejects(run(5, `${insideUrl}/redirect-page.html`));
    assert.deepEqual(outside.hits, []);
  });

  it('CONNECT (https) is checked on host and port', async () => {
    const tunnel = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(Number(new URL(proxy.url!).port), '127.0.0.1');
        let data = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          data += d;
          if (data.startsWith('HTTP/1.1 200') && data.includes('\r\n\r\n') && !data.includes('HTTP/1.1 404')) s.write('GET /nothing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
        });
        s.on('end', () => resolve(data));
        s.on('error', reject);
        s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
      });
    assert.match(await tunnel(new URL(outside.url).host), /^HTTP\/1\.1 403/);
    assert.match(await tunnel('169.254.169.254:80'), /^HTTP\/1\.1 403/);
    const ok = await tunnel(new URL(insideUrl).host);
    assert.match(ok, /^HTTP\/1\.1 200 Connection Established/);
    assert.match(ok, /HTTP\/1\.1 404/); // the request inside the tunnel reached the allowed server
    assert.deepEqual(outside.hits, []);
  });
});
