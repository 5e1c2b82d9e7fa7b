import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What range-client.ts prints. */
export interface LoadResult {
  requests: number;
  errors: number;
  /** Answers of another status than expected (206, or 302 in redirect mode). */
  non206: number;
  /** Those answers by status code. */
  statuses?: Record<string, number>;
  seconds: number;
  mib_per_s: number;
  req_per_s: number;
  ttfb_p50_ms: number;
  ttfb_p99_ms: number;
}

/** Runs bench/range-client.ts in a process of its own against `url` and returns its figures. */
export function runClient(url: string, size: number, clients: number, seconds: number, chunk: number, mode: 'range' | 'redirect' | 'follow' = 'range'): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./range-client.ts', import.meta.url)), url, String(size), String(clients), String(seconds), String(chunk), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`client exited ${code}`))));
  });
}
