import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
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
