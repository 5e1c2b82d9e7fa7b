import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigError,
  PLUGIN_API_VERSION,
  PluginError,
  createKernel,
  createLogger,
  definePlugin,
  loadConfig,
  resolvePluginOrder,
  usePlugin,
  z,
  type PluginDefinition,
} from '@robian/core';

const dataDir = mkdtempSync(join(tmpdir(), 'robian-plugins-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const config = (env: Record<string, string> = {}) =>
  loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'sqlite::memory:', ADMIN_API_KEY: 'k'.repeat(32), SECRET_KEY: 's'.repeat(32), ...env });
const logger = createLogger({ level: 'silent' });

function plugin(name: string, extra: Partial<PluginDefinition> = {}): PluginDefinition {
  return definePlugin({ name, version: '1.0.0', apiVersion: PLUGIN_API_VERSION, ...extra });
}

describe('plugin graph', () => {
  it('orders plugins after their dependencies and keeps input order otherwise', () => {
    const order = resolvePluginOrder([plugin('ws', { dependsOn: ['audio'] }), plugin('search'), plugin('audio', { optionalDependsOn: ['an', 'missing'] }), plugin('an')]);
    assert.deepEqual(order.map((p) => p.name), ['an', 'audio', 'ws', 'search']);
  });

  it('names a missing dependency', () => {
    assert.throws(() => resolvePluginOrder([plugin('search', { dependsOn: ['assemblee-nationale'] })]), (e: unknown) => {
      assert.ok(e instanceof PluginError);
      assert.match(e.message, /plugin "search" depends on "assemblee-nationale", which is not installed/);
      return true;
    });
  });

  it('names the plugins of a cycle', () => {
    assert.throws(
      () => resolvePluginOrder([plugin('a', { dependsOn: ['b'] }), plugin('b', { dependsOn: ['c'] }), plugin('c', { dependsOn: ['a'] })]),
      /circular plugin dependency: a → b → c → a/,
    );
  });

  it('rejects duplicate names', () => {
    assert.throws(() => resolvePluginOrder([plugin('a'), plugin('a')]), /plugin name "a" is registered twice/);
  });

  it('checks a definition at once', () => {
    assert.throws(() => definePlugin({ name: 'Bad Name', version: '1', apiVersion: 1 }), /name "Bad Name" must be lower-case.*version "1" must be semver/);
  });

  it('refuses a plugin written for another contract version', async () => {
    const k = createKernel({ config: config(), logger, defaultMetrics: false, plugins: [plugin('future', { apiVersion: 99 })] });
    await assert.rejects(k.start(), /plugin "future" 1.0.0 was written for plugin API v99; this Robian supports v1/);
  });
});

describe('plugin lifecycle', () => {
  it('runs setup and start in dependency order, stop in reverse, and undoes every registration', async () => {
    const calls: string[] = [];
    const make = (name: string, dependsOn: string[] = []) =>
      plugin(name, {
        dependsOn,
        setup(ctx) {
          calls.push(`setup:${name}`);
          ctx.events.on('debate.created', () => {});
          ctx.router.route({ method: 'get', path: `/${name}`, handler: () => ({ ok: true }) });
          ctx.metrics.counter({ name: `test_${name}_total`, help: 'test' });
          ctx.services.provide(`svc.${name}` as never, { name } as never);
        },
        start(ctx) {
          calls.push(`start:${name}`);
          assert.ok(ctx.orm, 'the ORM is open in start');
        },
        stop() {
          calls.push(`stop:${name}`);
        },
      });
    const k = createKernel({ config: config(), logger, defaultMetrics: false, plugins: [make('c', ['b']), make('a'), make('b', ['a'])] });
    await k.start();
    assert.deepEqual(calls, ['setup:a', 'setup:b', 'setup:c', 'start:a', 'start:b', 'start:c']);
    assert.equal(k.events.listenerCount('debate.created'), 3);
    assert.deepEqual(k.openapi.routes().map((r) => r.path).sort(), ['/a', '/b', '/c']);
    assert.deepEqual(Object.keys(k.services.list()).sort(), ['svc.a', 'svc.b', 'svc.c']);
    assert.match(await k.metrics.text(), /test_a_total/);
    await k.stop();
    assert.deepEqual(calls.slice(6), ['stop:c', 'stop:b', 'stop:a']);
    assert.equal(k.events.listenerCount(), 0);
    assert.deepEqual(k.openapi.routes(), []);
    assert.deepEqual(k.services.list(), {});
    assert.doesNotMatch(await k.metrics.text(), /test_a_total/);
    assert.equal(k.state, 'stopped');
    await k.stop(); // idempotent
  });

  it('stops what started when a later plugin fails to start', async () => {
    const calls: string[] = [];
    const k = createKernel({
      config: config(),
      logger,
      defaultMetrics: false,
      plugins: [
        plugin('good', { start: () => void calls.push('start:good'), stop: () => void calls.push('stop:good') }),
        plugin('bad', {
          dependsOn: ['good'],
          start: () => {
            throw new Error('cannot reach the moon');
          },
          stop: () => void calls.push('stop:bad'),
        }),
      ],
    });
    await assert.rejects(k.start(), /plugin "bad" failed to start: cannot reach the moon/);
    assert.deepEqual(calls, ['start:good', 'stop:good']);
    assert.deepEqual(
      k.plugins().map((p) => [p.name, p.state]),
      [
        ['good', 'stopped'],
        ['bad', 'failed'],
      ],
    );
  });

  it('validates options before setup, from code and from the environment, naming the variable', async () => {
    let seen: unknown;
    const withOptions = definePlugin({
      name: 'opts',
      version: '1.0.0',
      apiVersion: PLUGIN_API_VERSION,
      options: z.object({ hosts: z.string().regex(/^[a-z.,-]+$/, 'expected host names'), limit: z.coerce.number().int().max(10).default(3) }),
      env: { hosts: 'OPTS_HOSTS', limit: 'OPTS_LIMIT' },
      setup(ctx) {
        seen = ctx.options;
      },
    });
    const bad = createKernel({ config: config({ OPTS_HOSTS: 'a.example', OPTS_LIMIT: '50' }), logger, defaultMetrics: false, plugins: [withOptions] });
    await assert.rejects(bad.setup(), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues[0]?.variable, 'plugin "opts" option "limit" (OPTS_LIMIT)');
      return true;
    });
    assert.equal(seen, undefined, 'setup did not run');
    const good = createKernel({ config: config({ OPTS_HOSTS: 'a.example' }), logger, defaultMetrics: false, plugins: [usePlugin(withOptions, { limit: 7 })] });
    await good.setup();
    assert.deepEqual(seen, { hosts: 'a.example', limit: 7 });
  });

  it('isolates event handlers: one failing does not stop the others', async () => {
    const got: string[] = [];
    const k = createKernel({
      config: config(),
      logger,
      defaultMetrics: false,
      plugins: [
        plugin('thrower', {
          setup(ctx) {
            ctx.events.on('debate.deleted', () => {
              throw new Error('boom');
            });
          },
        }),
        plugin('listener', {
          setup(ctx) {
            ctx.events.on('debate.deleted', (p) => void got.push(`deleted:${p.id}`));
            ctx.events.onAny((name) => void got.push(`any:${name}`));
          },
        }),
      ],
    });
    await k.setup();
    await k.events.emit('debate.deleted', { id: 7 });
    assert.deepEqual(got.sort(), ['any:debate.deleted', 'deleted:7']);
    assert.equal(k.events.handlerErrors, 1);
  });

  it('refuses a second provider of one service, naming both plugins', async () => {
    const k = createKernel({
      config: config(),
      logger,
      defaultMetrics: false,
      plugins: [
        plugin('one', { setup: (ctx) => void ctx.services.provide('x' as never, 1 as never) }),
        plugin('two', { setup: (ctx) => void ctx.services.provide('x' as never, 2 as never) }),
      ],
    });
    await assert.rejects(k.setup(), /plugin "two" failed in setup: service "x" is already provided by plugin "one"/);
  });

  it('collects each plugin health and reports the worst', async () => {
    const k = createKernel({
      config: config(),
      logger,
      defaultMetrics: false,
      plugins: [plugin('fine', { health: () => ({ status: 'ok', jobs: 0 }) }), plugin('sick', { health: () => ({ status: 'degraded', reason: 'slow' }) }), plugin('broken', { health: () => Promise.reject(new Error('no')) })],
    });
    await k.start();
    try {
      const h = await k.health();
      assert.equal(h.database.status, 'ok');
      assert.equal(h.plugins.fine?.status, 'ok');
      assert.equal(h.plugins.fine?.jobs, 0);
      assert.equal(h.plugins.sick?.status, 'degraded');
      assert.equal(h.plugins.broken?.status, 'down');
      assert.equal(h.status, 'down');
    } finally {
      await k.stop();
    }
  });

  it('builds the SSRF allow-list from the registered sources', async () => {
    const k = createKernel({
      config: config(),
      logger,
      defaultMetrics: false,
      plugins: [
        plugin('src', {
          setup(ctx) {
            ctx.sources.register({ id: 'test-parliament', name: 'Test', mediaHosts: ['Media.Example.org', 'cdn.example.org'], canResolve: (u) => u.hostname === 'media.example.org', resolve: async () => ({ candidates: [] }) });
          },
        }),
      ],
    });
    await k.setup();
    assert.deepEqual(k.sources.mediaHosts(), ['media.example.org', 'cdn.example.org']);
    assert.equal(k.sources.forUrl(new URL('https://media.example.org/v/1'))?.id, 'test-parliament');
    assert.equal(k.sources.forUrl(new URL('https://elsewhere.example/v/1')), undefined);
  });
});
