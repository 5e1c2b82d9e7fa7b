import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PLUGIN_API_VERSION, SUPPORTED_PLUGIN_API_VERSIONS, createKernel, createLogger, definePlugin, loadConfig, type PluginDefinition } from '@robian/core';

const dataDir = mkdtempSync(join(tmpdir(), 'robian-runtime-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const config = () => loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'sqlite::memory:', ADMIN_API_KEY: 'k'.repeat(32), SECRET_KEY: 's'.repeat(32) });
const logger = createLogger({ level: 'silent' });
const kernel = (...plugins: PluginDefinition[]) => createKernel({ config: config(), logger, defaultMetrics: false, plugins });

/** A plugin in the v2 form: everything per instance lives in setup's closure. */
function counter(name: string, calls: string[], apiVersion = PLUGIN_API_VERSION): PluginDefinition {
  return definePlugin({
    name,
    version: '1.0.0',
    apiVersion,
    setup(ctx) {
      let started = 0;
      let open = false;
      ctx.router.route({ method: 'get', path: `/${name}`, handler: () => ({ started }) });
      ctx.onStop(() => void calls.push(`onStop:${name}:${open}`));
      return {
        async start() {
          assert.ok(ctx.orm, 'the ORM is open in the runtime start');
          started += 1;
          open = true;
          calls.push(`start:${name}`);
        },
        stop() {
          open = false;
          calls.push(`stop:${name}`);
        },
        health: () => ({ status: open ? 'ok' : 'down', started }),
      };
    },
  });
}

describe('the runtime returned by setup (plugin API v2)', () => {
  it('is the contract version, and v1 stays supported', () => {
    assert.equal(PLUGIN_API_VERSION, 2);
    assert.deepEqual([...SUPPORTED_PLUGIN_API_VERSIONS], [1, 2]);
  });

  it('runs start, health and stop as closures over each instance, without shared state', async () => {
    const calls: string[] = [];
    const plugin = counter('counter', calls);
    const a = kernel(plugin);
    const b = kernel(plugin); // the same definition in two kernels: two independent instances
    await a.start();
    await b.start();
    try {
      assert.deepEqual(calls, ['start:counter', 'start:counter']);
      const ha = await a.health();
      assert.equal(ha.plugins.counter?.status, 'ok');
      assert.equal(ha.plugins.counter?.started, 1);
      await b.stop();
      assert.deepEqual(calls.slice(2), ['stop:counter', 'onStop:counter:false'], 'stop runs before the onStop callbacks');
      assert.equal((await a.health()).plugins.counter?.started, 1, 'stopping one instance leaves the other alone');
      assert.equal((await a.health()).plugins.counter?.status, 'ok');
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('keeps the original form working next to it (v1 plugins, hooks in the definition)', async () => {
    const calls: string[] = [];
    const old = definePlugin({
      name: 'old',
      version: '1.0.0',
      apiVersion: 1,
      setup: () => void calls.push('setup:old'),
      start: (ctx) => void calls.push(`start:${ctx.name}`),
      stop: (ctx) => void calls.push(`stop:${ctx.name}`),
      health: () => ({ status: 'degraded', why: 'old' }),
    });
    const k = kernel(old, counter('fresh', calls));
    await k.start();
    const h = await k.health();
    assert.equal(h.plugins.old?.status, 'degraded');
    assert.equal(h.plugins.fresh?.status, 'ok');
    await k.stop();
    assert.deepEqual(calls, ['setup:old', 'start:old', 'start:fresh', 'stop:fresh', 'onStop:fresh:false', 'stop:old']);
  });

  it('lets a plugin mix the forms, one place per hook', async () => {
    const calls: string[] = [];
    const k = kernel(
      definePlugin({
        name: 'mixed',
        version: '1.0.0',
        apiVersion: PLUGIN_API_VERSION,
        setup: () => ({ start: () => void calls.push('runtime start') }),
        stop: () => void calls.push('definition stop'),
      }),
    );
    await k.start();
    await k.stop();
    assert.deepEqual(calls, ['runtime start', 'definition stop']);
  });

  it('refuses a runtime from a plugin that declares API v1 (an older Robian would never call it)', async () => {
    const k = kernel(counter('legacy', [], 1));
    await assert.rejects(k.start(), /plugin "legacy" failed in setup: setup returned a runtime, which plugin API v1 does not have; declare apiVersion: PLUGIN_API_VERSION/);
    assert.equal(k.plugins()[0]?.state, 'failed');
  });

  it('refuses a hook declared twice, a key that is not a hook, and a hook that is not a function', async () => {
    const twice = kernel(definePlugin({ name: 'twice', version: '1.0.0', apiVersion: 2, setup: () => ({ start() {} }), start() {} }));
    await assert.rejects(twice.start(), /start is declared both in the definition and in the runtime setup returned/);
    const typo = kernel(definePlugin({ name: 'typo', version: '1.0.0', apiVersion: 2, setup: () => ({ strat() {} }) as never }));
    await assert.rejects(typo.start(), /"strat" is not a runtime hook \(start, stop, health\)/);
    const notFn = kernel(definePlugin({ name: 'notfn', version: '1.0.0', apiVersion: 2, setup: () => ({ health: 'ok' }) as never }));
    await assert.rejects(notFn.start(), /health must be a function/);
    const scalar = kernel(definePlugin({ name: 'scalar', version: '1.0.0', apiVersion: 2, setup: () => 42 as never }));
    await assert.rejects(scalar.start(), /setup returned a number; it returns nothing or its runtime \{ start, stop, health \}/);
  });

  it('stops what started, through the runtime, when a later plugin fails to start', async () => {
    const calls: string[] = [];
    const k = kernel(
      counter('first', calls),
      definePlugin({
        name: 'second',
        version: '1.0.0',
        apiVersion: 2,
        dependsOn: ['first'],
        setup: () => ({
          start() {
            throw new Error('no moon');
          },
          stop: () => void calls.push('stop:second'),
        }),
      }),
    );
    await assert.rejects(k.start(), /plugin "second" failed to start: no moon/);
    assert.deepEqual(calls, ['start:first', 'stop:first', 'onStop:first:false']);
  });
});
