import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TestMp3Server {
  /** http://127.0.0.1:port — the file is at `${url}/seance.mp3` (any query string). */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A sine MP3 (64 kbit/s mono) made by FFmpeg, served from 127.0.0.1 for extraction tests. */
export async function serveTestMp3(options: { seconds: number; frequency: number }): Promise<TestMp3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'robian-test-mp3-'));
  const file = join(dir, 'seance.mp3');
  await exec('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${options.frequency}:sample_rate=44100`, '-t', String(options.seconds), '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '64k', file]);
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/seance.mp3') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestLiveHls {
  /** The live playlist: `http://127.0.0.1:port/live.m3u8`. */
  playlistUrl: string;
  /** `127.0.0.1:port`, for a source's `mediaHosts`. */
  host: string;
  close(): Promise<void>;
}

/**
 * A live HLS stream on 127.0.0.1: FFmpeg writes a sine in AAC, in real time, as a sliding window of
 * one-second segments (no end list), like a parliament's live flux. Resolves once the first segment exists.
 */
export async function serveTestLiveHls(options: { frequency: number }): Promise<TestLiveHls> {
  const dir = mkdtempSync(join(tmpdir(), 'robian-test-live-'));
  const playlist = join(dir, 'live.m3u8');
  const ffmpeg = spawn(
    process.env.FFMPEG_BIN ?? 'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `sine=frequency=${options.frequency}:sample_rate=44100`, '-ac', '1', '-c:a', 'aac', '-b:a', '48k',
      '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+omit_endlist', '-hls_segment_filename', join(dir, 'seg%05d.ts'), playlist],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => ffmpeg.once('exit', () => resolve()));
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    if (!/^(live\.m3u8|seg\d{5}\.ts)$/.test(name) || !existsSync(join(dir, name))) return res.writeHead(404).end();
    const body = readFileSync(join(dir, name));
    res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t', 'content-length': body.length });
    res.end(body);
  });
  const close = async () => {
    if (ffmpeg.exitCode === null && ffmpeg.signalCode === null) ffmpeg.kill('SIGTERM');
    await exited;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (;;) {
    if (existsSync(playlist) && /seg\d+\.ts/.test(readFileSync(playlist, 'utf8'))) break;
    if (ffmpeg.exitCode !== null) {
      await close();
      throw new Error(`FFmpeg exited (${ffmpeg.exitCode}) before the first live segment`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { playlistUrl: `http://${host}/live.m3u8`, host, close };
}
