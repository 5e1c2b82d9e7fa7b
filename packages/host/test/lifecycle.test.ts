import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { createTestEnvironment, startTestHost } from '@robian/test-support';
import { cli, runCli } from './cli.ts';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new connections, then stops the plugins', async () => {
    const events: string[] = [];
    const slow = definePlugin({
      name: 'slow',
      version: '1.0.0',
      apiVersion: PLUGIN_API_VERSION,
      setup(ctx) {
        ctx.router.route({
          method: 'get',
          path: '/slow',
          handler: async () => {
            events.push('request:start');
            await sleep(400);
            events.push('request:end');
            return { done: true };
          },
        });
      },
      stop() {
        events.push('plugin:stop');
      },
    });
    const host = await startTestHost({ plugins: [slow] });
    const pending = host.request('/slow');
    while (!events.includes('request:start')) await sleep(5);
    const closing = host.close();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { done: true });
    await closing;
    assert.deepEqual(events, ['request:start', 'request:end', 'plugin:stop']);
    await assert.rejects(fetch(host.url + '/health'), 'no new connections after close');
  });
});

describe('robian CLI', () => {
  it('db migrate, seed (idempotent), check, and reset', async () => {
    const env = await createTestEnvironment('sqlite');
    try {
      const migrate = await runCli(['db', 'migrate'], env.env);
      assert.equal(migrate.code, 0, migrate.stderr);
      assert.match(migrate.stdout, /database is up to date \(\d+ migrations applied\)/);
      const seed1 = await runCli(['db', 'seed'], env.env);
      assert.equal(seed1.code, 0, seed1.stderr);
      assert.match(seed1.stdout, /seeded 4 commissions, 6 deputies, 10 debates \(demo AN open-data records, imported through assemblee\.import: 20 created, 0 updated, 0 unchanged\)/);
      const seed2 = await runCli(['db', 'seed'], env.env);
      assert.equal(seed2.code, 0, seed2.stderr);
      assert.match(seed2.stdout, /seeded 4 commissions, 6 deputies, 10 debates \(.*: 0 created, 0 updated, 20 unchanged\)/);
      const host = await startTestHost({ environment: env });
      const list = (await (await host.request('/api/debats/?per_page=100')).json()) as { total: number };
      await host.close();
      assert.equal(list.total, 10, 'seeding twice did not duplicate');
      const check = await runCli(['db', 'check'], env.env);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /pending: none/);
      assert.match(check.stdout, /schema matches the entities/);
      const reset = await runCli(['db', 'reset', '--yes'], env.env);
      assert.equal(reset.code, 0, reset.stderr);
      const after = await startTestHost({ environment: env });
      assert.equal(((await (await after.request('/api/debats/')).json()) as { total: number }).total, 0);
      await after.close();
    } finally {
      await env.cleanup();
    }
  });

  it('db reset refuses to run in production', async () => {
    const env = await createTestEnvironment('sqlite');
    try {
      const res = await runCli(['db', 'reset', '--yes'], { ...env.env, ENVIRONMENT: 'production' });
      assert.equal(res.code, 1);
      assert.match(res.stderr, /refuses to run with ENVIRONMENT=production/);
    } finally {
      await env.cleanup();
    }
  });

  it('refuses to start on a bad configuration, naming the variable', async () => {
    const res = await runCli(['serve'], { PORT: 'eighty', DATA_DIR: '/tmp/robian-never-created' });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /PORT: expected an integer between 0 and 65535, got "eighty"/);
  });

  it('serve answers on the configured port and exits 0 on SIGTERM', async () => {
    const env = await createTestEnvironment('sqlite');
    try {
      const child = spawn(process.execPath, ['--conditions=robian-source', cli, 'serve'], {
        env: { PATH: process.env.PATH ?? '', ...env.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest(url + '/health', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      assert.equal(status, 200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
      assert.match(out, /shutting down/);
    } finally {
      await env.cleanup();
    }
  });
});
