import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HostAllowList, LocalAudioStorage, ffmpegStaticPath, whichSync, contentDisposition, normaliseQuality, rankCandidates, safeFileName, serveFile, signedUrl, storageKey, verify } from '../src/index.ts';

describe('renditions and storage keys', () => {
  it('normalises qualities and refuses the rest', () => {
    assert.equal(normaliseQuality('mp3', '128'), '128k');
    assert.equal(normaliseQuality('mp3', '128K'), '128k');
    assert.equal(normaliseQuality('mp3', '192kbps'), '192k');
    assert.equal(normaliseQuality('mp3', '100k'), undefined);
    assert.equal(normaliseQuality('aac', 'source'), 'source');
    assert.equal(normaliseQuality('wav', '../x'), undefined);
  });

  it('builds keys from ids and renditions only, and the storage refuses anything else', () => {
    assert.equal(storageKey(42, { format: 'mp3', quality: '64k' }), '42/mp3-64k.mp3');
    assert.throws(() => storageKey(0, { format: 'mp3', quality: '64k' }));
    assert.throws(() => storageKey(1, { format: 'mp3', quality: '../../etc' }));
    const root = mkdtempSync(join(tmpdir(), 'robian-storage-'));
    try {
      const s = new LocalAudioStorage(root);
      for (const bad of ['../x', '1/../../etc/passwd', '/etc/passwd', '1/mp3-64k.mp3/../../x', 'a/mp3-64k.mp3']) assert.throws(() => s.path(bad), /invalid storage key/);
      assert.equal(s.path('1/mp3-64k.mp3'), join(root, '1', 'mp3-64k.mp3'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads a range through a descriptor kept open, and notices a replaced file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'robian-storage-'));
    try {
      const s = new LocalAudioStorage(root);
      const key = '7/wav-pcm.wav';
      const write = async (text: string) => {
        const tmp = await s.tempPath(key);
        writeFileSync(tmp, text);
        return s.put(key, tmp);
      };
      const read = async (r: Parameters<typeof s.open>[1], expected?: Parameters<typeof s.open>[2]) => {
        const chunks: Buffer[] = [];
        for await (const c of await s.open(key, r, expected)) chunks.push(c as Buffer);
        return Buffer.concat(chunks).toString();
      };
      const v1 = await write('0123456789');
      assert.equal(await read({ start: 2, end: 4 }, v1), '234');
      assert.equal(await read({ start: 9, end: 9 }, v1), '9');
      await new Promise((r) => setTimeout(r, 15));
      const v2 = await write('abcdefghijkl');
      assert.equal(await read({ start: 0, end: 2 }, v2), 'abc');
      await assert.rejects(read({ start: 0, end: 2 }, v1), /changed since it was looked up/);
      assert.equal(await s.delete(key), true);
      await assert.rejects(read({ start: 0, end: 1 }), /ENOENT/);
      s.closeIdle();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('serving ranges without streams', () => {
  /** Descriptors of this process open on `path` (Linux). */
  const openOn = (path: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false;
      }
    }).length;

  it('answers ranges across read chunks with the bytes of the file, and releases the descriptor when a client goes away', async () => {
    const root = mkdtempSync(join(tmpdir(), 'robian-serve-'));
    const storage = new LocalAudioStorage(root);
    storage.fdIdleMs = 0;
    const key = '9/mp3-128k.mp3';
    const bytes = randomBytes(1024 * 1024 + 12_345); // four 256 KiB reads and a bit
    const tmp = await storage.tempPath(key);
    writeFileSync(tmp, bytes);
    const file = await storage.put(key, tmp);
    // serveFile reads only these fields of Koa's context
    const server = http.createServer((req, res) => {
      const ctx = { res, method: req.method, get: (h: string) => String(req.headers[h.toLowerCase()] ?? ''), status: 200, respond: true };
      serveFile(ctx as never, { storage, file, contentType: 'audio/mpeg' }).catch(() => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const path = storage.path(key);
    try {
      const whole = await fetch(url);
      assert.equal(whole.status, 200);
      assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));
      for (const [a, b] of [[0, 0], [262_143, 262_144], [100, 700_000], [bytes.length - 5, bytes.length - 1]] as const) {
        const r = await fetch(url, { headers: { range: `bytes=${a}-${b}` } });
        assert.equal(r.status, 206);
        assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${bytes.length}`);
        assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(a, b + 1)), `bytes=${a}-${b}`);
      }
      // a client that reads the first bytes of the whole file, then goes away while the file is open
      await new Promise<void>((resolve, reject) => {
        const req = http.get(url, (res) => {
          res.once('data', () => {
            assert.equal(openOn(path), 1);
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      });
      // the response notices, stops reading and gives the descriptor back (closed at once: fdIdleMs 0)
      let fds = openOn(path);
      for (let i = 0; i < 50 && fds > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        fds = openOn(path);
      }
      assert.equal(fds, 0, 'the descriptor of the file is closed');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      storage.closeIdle();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('allow-list', () => {
  it('matches exact names and *.domain, case-insensitively, ignoring ports', () => {
    const list = new HostAllowList(['videos.assemblee-nationale.fr', '*.example.org', ' 127.0.0.1:8080 ', 'media.example.net:*', '[::1]:9000']);
    assert.ok(list.allows(new URL('https://VIDEOS.assemblee-nationale.fr/x')));
    assert.ok(list.allows(new URL('http://videos.assemblee-nationale.fr:80/x')));
    assert.ok(list.allows(new URL('http://127.0.0.1:8080/a.m3u8')));
    // ports count (issue #11): a bare name allows the default ports only
    assert.ok(!list.allows(new URL('https://videos.assemblee-nationale.fr:8771/x')));
    assert.ok(!list.allows(new URL('http://127.0.0.1:8081/a.m3u8')));
    assert.ok(!list.allows(new URL('http://127.0.0.1/a.m3u8')));
    assert.ok(!list.allows(new URL('http://cdn.example.org:6379/')));
    assert.ok(list.allows(new URL('http://media.example.net:6379/')));
    assert.ok(list.allows(new URL('http://[::1]:9000/')));
    assert.ok(!list.allows(new URL('http://[::1]:9001/')));
    assert.ok(!list.allows(new URL('file:///etc/passwd')));
    assert.ok(list.allowsOrigin('videos.assemblee-nationale.fr', 443));
    assert.ok(!list.allowsOrigin('videos.assemblee-nationale.fr', 22));
    assert.ok(list.allows(new URL('https://cdn.example.org/a')));
    assert.ok(list.allows(new URL('https://example.org/a')));
    assert.ok(!list.allows(new URL('https://example.org.evil.net/a')));
    assert.ok(!list.allows(new URL('https://evilexample.org/a')));
    assert.ok(!list.allows(new URL('http://localhost/a')));
    assert.ok(!list.allows(new URL('http://169.254.169.254/latest/meta-data')));
  });
});

describe('candidates', () => {
  it('puts a copyable mp3 first for its bitrate, and AAC sources first otherwise', () => {
    const mp3 = { url: 'https://a/x.mp3', kind: 'mp3' as const, audioCodec: 'mp3', audioBitrate: 64 };
    const mp4 = { url: 'https://a/x.mp4', kind: 'mp4' as const, audioCodec: 'aac' };
    const hls = { url: 'https://a/x.m3u8', kind: 'hls' as const, audioCodec: 'aac' };
    assert.deepEqual(rankCandidates([mp4, hls, mp3], { format: 'mp3', quality: '64k' }).map((c) => c.kind), ['mp3', 'hls', 'mp4']);
    assert.deepEqual(rankCandidates([mp3, mp4, hls], { format: 'mp3', quality: '128k' }).map((c) => c.kind), ['hls', 'mp4', 'mp3']);
    assert.deepEqual(rankCandidates([mp3, mp4, hls], { format: 'aac', quality: 'source' }).map((c) => c.kind), ['hls', 'mp4', 'mp3']);
  });
});

describe('file names and signatures', () => {
  it('keeps accents in filename* and gives an ASCII fallback without quotes or slashes', () => {
    const name = safeFileName('Séance n°3 : « Budget » / État "2026"', 12, 'mp3');
    assert.equal(name, 'Séance-n-3-Budget-État-2026.mp3');
    const cd = contentDisposition('attachment', name);
    assert.equal(cd, `attachment; filename="Seance-n-3-Budget-Etat-2026.mp3"; filename*=UTF-8''S%C3%A9ance-n-3-Budget-%C3%89tat-2026.mp3`);
    assert.equal(safeFileName('///', 5, 'wav'), 'debat-5.wav');
    assert.equal(safeFileName('../../etc/passwd', 5, 'wav'), 'etc-passwd.wav');
  });

  it('verifies signatures over path, rendition and expiry', () => {
    const url = new URL(signedUrl('k'.repeat(32), '/api/debats/1/audio', 'mp3', '64k', 60, 1_000_000_000_000), 'http://x');
    const parts = { path: '/api/debats/1/audio', format: 'mp3', quality: '64k', expires: url.searchParams.get('expires')!, signature: url.searchParams.get('signature')! };
    assert.deepEqual(verify('k'.repeat(32), parts, 1_000_000_000_000), { ok: true });
    assert.equal(verify('k'.repeat(32), parts, 1_000_000_000_000 + 61_000).ok, false);
    assert.equal(verify('other-secret', parts, 1_000_000_000_000).ok, false);
    assert.equal(verify('k'.repeat(32), { ...parts, quality: '320k' }, 1_000_000_000_000).ok, false);
    assert.equal(verify('k'.repeat(32), { ...parts, path: '/api/debats/2/audio' }, 1_000_000_000_000).ok, false);
    assert.equal(verify('k'.repeat(32), { ...parts, signature: undefined }, 1_000_000_000_000).ok, false);
  });
});

describe('binaries', () => {
  it('uses an application-installed ffmpeg-static only when its binary exists', () => {
    const app = mkdtempSync(join(tmpdir(), 'robian-app-'));
    try {
      writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
      assert.equal(ffmpegStaticPath(app), undefined, 'not installed');
      const pkg = join(app, 'node_modules', 'ffmpeg-static');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), '{"name":"ffmpeg-static","main":"index.js"}');
      writeFileSync(join(pkg, 'index.js'), `module.exports = ${JSON.stringify(join(pkg, 'ffmpeg'))};`);
      assert.equal(ffmpegStaticPath(app), undefined, 'installed offline: no binary was downloaded');
      symlinkSync(whichSync('ffmpeg')!, join(pkg, 'ffmpeg'));
      assert.equal(ffmpegStaticPath(app), join(pkg, 'ffmpeg'));
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
