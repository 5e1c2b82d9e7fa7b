import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';

/** A port on 127.0.0.1 that refuses connections (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('cache with a Redis that is away', () => {
  it('lets the process end after close() (no reconnection loop left behind)', async () => {
    const port = await closedPort();
    const script = `
      import { RobianCache, createLogger } from '@robian/core';
      const cache = new RobianCache({ redisUrl: 'redis://127.0.0.1:${port}', logger: createLogger({ level: 'silent' }) });
      await cache.connect();
      await cache.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--conditions=robian-source', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const code = await new Promise<number | 'hung'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 60_000); // a hang detector, not a time limit: a loaded machine takes 10–20 s to start the child
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    assert.match(out, /closed/);
    assert.equal(code, 0, 'the process ended by itself');
  });
});
