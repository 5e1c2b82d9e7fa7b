import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { PLUGIN_API_VERSION, ProblemError, createLogger, definePlugin } from '@robian/core';
import { startTestHost } from '@robian/test-support';

it('every log line written while serving a request carries its id, and a 500 quotes it', async () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const chatty = definePlugin({
    name: 'chatty',
    version: '1.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      ctx.router.route({
        method: 'get',
        path: '/chatty',
        handler: async () => {
          await new Promise((r) => setImmediate(r));
          ctx.logger.info({ step: 'inside' }, 'handling');
          return { ok: true };
        },
      });
      ctx.router.route({
        method: 'get',
        path: '/broken',
        handler: () => {
          throw new TypeError('secret internals');
        },
      });
      ctx.router.route({
        method: 'get',
        path: '/teapot',
        handler: () => {
          throw new ProblemError(418, 'teapot', 'I am a teapot', 'Short and stout.');
        },
      });
    },
  });
  const host = await startTestHost({ plugins: [chatty], logger: createLogger({ level: 'info', destination }), requestLogging: true });
  try {
    const res = await host.request('/chatty');
    const id = res.headers.get('x-request-id');
    const inside = lines.find((l) => l.step === 'inside');
    assert.equal(inside?.request_id, id);
    assert.equal(inside?.plugin, 'chatty');
    const access = lines.find((l) => l.msg === 'request' && l.url === '/chatty');
    assert.equal(access?.request_id, id);
    assert.equal(access?.status, 200);

    const broken = await host.request('/broken');
    assert.equal(broken.status, 500);
    const problem = (await broken.json()) as { request_id: string; detail: string };
    assert.equal(problem.request_id, broken.headers.get('x-request-id'));
    assert.doesNotMatch(problem.detail, /secret internals/, 'internals stay in the log');
    const logged = lines.find((l) => l.msg === 'request failed');
    assert.equal(logged?.request_id, problem.request_id);
    assert.match(JSON.stringify(logged?.err), /secret internals/);

    const teapot = await host.request('/teapot');
    assert.equal(teapot.status, 418);
    assert.deepEqual(((await teapot.json()) as { title: string }).title, 'I am a teapot');
  } finally {
    await host.close();
  }
});
