import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ADMIN_KEY } from '@robian/test-support';

const CHILD_HOST = fileURLToPath(new URL('./child-host.ts', import.meta.url));

/** A Robian host (child-host.ts: the test source and audio plugins) in a process of its own. */
export interface ChildHost {
  port: number;
  url: string;
  process: ChildProcess;
  /** Like TestHost.request: relative to the host, JSON bodies encoded, `admin` adds the admin key. */
  request(path: string, init?: RequestInit & { json?: unknown; admin?: boolean }): Promise<Response>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited after 15 s. */
  stop(): Promise<void>;
}

/**
 * Starts child-host.ts (or `script`, which prints `{"port": …}` or `{"url": …}` once listening) with
 * exactly `env` (and PATH, for FFmpeg): nothing of the parent's environment leaks in (DATABASE_URL of
 * a PostgreSQL run into an SQLite test, a DATA_DIR). Resolves once it listens.
 */
export async function spawnHost(env: Record<string, string>, script = CHILD_HOST): Promise<ChildHost> {
  const child = spawn(process.execPath, ['--conditions=robian-source', script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the host process exited (${String(code)}) before listening`);
  });
  const line = once(createInterface({ input: child.stdout! }), 'line').then(([l]) => l as string);
  const listening = JSON.parse(await Promise.race([line, exited])) as { port?: number; url?: string };
  exited.catch(() => {});
  const port = listening.port ?? Number(new URL(listening.url!).port);
  const url = `http://127.0.0.1:${port}`;
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  };
  return {
    port,
    url,
    process: child,
    request(path, init = {}) {
      const { json, admin, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (json !== undefined) headers.set('content-type', 'application/json');
      if (admin) headers.set('authorization', `Bearer ${ADMIN_KEY}`);
      return fetch(url + path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}
