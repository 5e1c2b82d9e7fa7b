import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RequestContext, type MikroORM, type MigrationObject } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import { RobianCache } from './cache.ts';
import { DatabaseGenerations } from './cache-generations.ts';
import { loadConfig, type RobianConfig } from './config.ts';
import { openOrm, migrate } from './db.ts';
import { coreEntities } from './entities.ts';
import { ConfigError, PluginError } from './errors.ts';
import { EventBus, type Disposer } from './events.ts';
import { AuthRegistry, OpenApiRegistry, PluginRouter } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics, PluginMetrics } from './metrics.ts';
import { coreMigrations } from './migrations/index.ts';
import { pluginHooks, type PluginHooks } from './runtime.ts';
import {
  SUPPORTED_PLUGIN_API_VERSIONS,
  type PluginContext,
  type PluginDefinition,
  type PluginHealth,
  type PluginInput,
  type UnmanagedSchema,
} from './plugin.ts';
import { ServiceRegistry } from './services.ts';
import { SourceRegistry } from './source.ts';

export type KernelState = 'created' | 'set-up' | 'starting' | 'started' | 'stopping' | 'stopped' | 'failed';
export type PluginState = 'registered' | 'set-up' | 'started' | 'stopped' | 'failed';

export interface KernelOptions {
  /** Defaults to `loadConfig(process.env)`. */
  config?: RobianConfig;
  logger?: Logger;
  plugins?: PluginInput[];
  /** Apply pending migrations at start (default true). */
  migrateOnStart?: boolean;
  /** Collect Node's default process metrics (default true). */
  defaultMetrics?: boolean;
  /** Run plugins' background work (default true; CLI maintenance commands pass false). */
  workers?: boolean;
}

interface LoadedPlugin {
  definition: PluginDefinition;
  options: unknown;
  state: PluginState;
  context: PluginContext;
  router: PluginRouter;
  metrics: PluginMetrics;
  disposers: Disposer[];
  stopHooks: (() => void | Promise<void>)[];
  /** start/stop/health, from the definition or from the runtime setup returned. */
  hooks: PluginHooks;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  version?: string;
  environment: string;
  uptime_seconds: number;
  database: { status: 'ok' | 'down'; dialect: string; latency_ms?: number; error?: string };
  cache: ReturnType<RobianCache['health']> & { status: 'ok' | 'degraded' };
  plugins: Record<string, PluginHealth & { version: string; state: PluginState }>;
  process: { pid: number; node: string; rss_bytes: number; heap_used_bytes: number; event_loop_lag_ms?: number };
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

/** Orders plugins so that each comes after what it depends on; input order breaks ties. */
export function resolvePluginOrder(plugins: PluginDefinition[]): PluginDefinition[] {
  const byName = new Map<string, PluginDefinition>();
  for (const p of plugins) {
    if (byName.has(p.name)) throw new PluginError(`plugin name "${p.name}" is registered twice`, [p.name]);
    byName.set(p.name, p);
  }
  for (const p of plugins) {
    for (const dep of p.dependsOn ?? []) {
      if (!byName.has(dep)) {
        throw new PluginError(`plugin "${p.name}" depends on "${dep}", which is not installed (installed: ${[...byName.keys()].join(', ') || 'none'})`, [p.name, dep]);
      }
    }
  }
  const ordered: PluginDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: PluginDefinition, trail: string[]) => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(p.name)), p.name];
      throw new PluginError(`circular plugin dependency: ${cycle.join(' → ')}`, cycle);
    }
    state.set(p.name, 'visiting');
    const deps = [...(p.dependsOn ?? []), ...(p.optionalDependsOn ?? []).filter((d) => byName.has(d))];
    for (const dep of deps) visit(byName.get(dep)!, [...trail, p.name]);
    state.set(p.name, 'done');
    ordered.push(p);
  };
  for (const p of plugins) visit(p, []);
  return ordered;
}

function pluginOptions(definition: PluginDefinition, explicit: Record<string, unknown> | undefined, env: RobianConfig['env']): unknown {
  if (!definition.options) return explicit ?? {};
  const fromEnv: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(definition.env ?? {})) {
    const value = variable ? env[variable as string] : undefined;
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const input = { ...fromEnv, ...(explicit ?? {}) };
  const result = definition.options.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        const variable = (definition.env as Record<string, string> | undefined)?.[key];
        return {
          variable: `plugin "${definition.name}" option "${issue.path.join('.') || '(root)'}"${variable && key in fromEnv && !(explicit && key in explicit) ? ` (${variable})` : ''}`,
          message: issue.message,
        };
      }),
    );
  }
  return result.data;
}

/**
 * The plugin host: validates the plugin graph and options, runs setup → start in dependency
 * order and stop in reverse, owns the ORM, the cache, the bus and the registries, and undoes
 * every registration of a plugin when it stops.
 */
export class RobianKernel {
  readonly config: RobianConfig;
  readonly logger: Logger;
  readonly events: EventBus;
  readonly services = new ServiceRegistry();
  readonly sources = new SourceRegistry();
  readonly openapi = new OpenApiRegistry();
  readonly auth: AuthRegistry;
  readonly metrics: Metrics;
  readonly cache: RobianCache;
  readonly startedAt = Date.now();
  #state: KernelState = 'created';
  #orm: MikroORM | undefined;
  readonly #inputs: PluginInput[];
  readonly #plugins: LoadedPlugin[] = [];
  readonly #migrateOnStart: boolean;
  readonly #workers: boolean;
  #stopping: Promise<void> | undefined;

  constructor(options: KernelOptions = {}) {
    this.config = options.config ?? loadConfig();
    this.logger = options.logger ?? createLogger({ level: this.config.logLevel, format: this.config.logFormat });
    this.events = new EventBus(this.logger);
    this.auth = new AuthRegistry(this.config.adminApiKey);
    this.metrics = new Metrics(options.defaultMetrics ?? true);
    this.cache = new RobianCache({ redisUrl: this.config.redisUrl, prefix: this.config.redisKeyPrefix, logger: this.logger.child({ component: 'cache' }) });
    this.#inputs = options.plugins ?? [];
    this.#migrateOnStart = options.migrateOnStart ?? true;
    this.#workers = options.workers ?? true;
  }

  get state(): KernelState {
    return this.#state;
  }

  get orm(): MikroORM {
    if (!this.#orm) throw new Error('the database is not open yet: use ctx.orm / ctx.em from start() on, not in setup()');
    return this.#orm;
  }

  /** The entity manager of the current request, or a fresh fork outside one. */
  em(): EntityManager {
    return (RequestContext.getEntityManager(this.orm.em.name) ?? this.orm.em.fork()) as EntityManager;
  }

  /** Plugins in start order. */
  plugins(): { name: string; version: string; state: PluginState; error?: string }[] {
    return this.#plugins.map((p) => ({ name: p.definition.name, version: p.definition.version, state: p.state, ...(p.error ? { error: p.error } : {}) }));
  }

  /** The routers of started (or set-up) plugins, in start order. */
  routers(): PluginRouter[] {
    return this.#plugins.filter((p) => p.state === 'set-up' || p.state === 'started').map((p) => p.router);
  }

  /** Entities of the core and every plugin. */
  entities(): unknown[] {
    return [...coreEntities, ...this.#plugins.flatMap((p) => p.definition.entities ?? [])];
  }

  /** What the plugins' migrations own outside the entity metadata (merged). */
  unmanagedSchema(): Required<UnmanagedSchema> {
    const all = this.#plugins.map((p) => p.definition.unmanagedSchema ?? {});
    return {
      tables: all.flatMap((u) => u.tables ?? []),
      triggers: all.some((u) => u.triggers === true),
      routines: all.some((u) => u.routines === true),
    };
  }

  migrations(): MigrationObject[] {
    const all = [...coreMigrations, ...this.#plugins.flatMap((p) => p.definition.migrations ?? [])];
    const seen = new Set<string>();
    for (const m of all) {
      if (seen.has(m.name)) throw new PluginError(`migration name "${m.name}" is used twice: prefix migration names with the plugin name`);
      seen.add(m.name);
    }
    return all;
  }

  /** Validates the plugin graph and options and runs every `setup`. No I/O. */
  async setup(): Promise<void> {
    if (this.#state !== 'created') return;
    const definitions = this.#inputs.map((input) => ('plugin' in input ? input.plugin : input));
    const explicit = new Map(this.#inputs.map((input) => ('plugin' in input ? [input.plugin.name, input.options] : [input.name, undefined])));
    for (const d of definitions) {
      if (!SUPPORTED_PLUGIN_API_VERSIONS.includes(d.apiVersion)) {
        throw new PluginError(
          `plugin "${d.name}" ${d.version} was written for plugin API v${d.apiVersion}; this Robian supports v${SUPPORTED_PLUGIN_API_VERSIONS.join(', v')}`,
          [d.name],
        );
      }
    }
    const ordered = resolvePluginOrder(definitions);
    const optionErrors: ConfigError['issues'] = [];
    const resolved = new Map<string, unknown>();
    for (const d of ordered) {
      try {
        resolved.set(d.name, pluginOptions(d, explicit.get(d.name), this.config.env));
      } catch (err) {
        if (err instanceof ConfigError) optionErrors.push(...err.issues);
        else throw err;
      }
    }
    if (optionErrors.length) throw new ConfigError(optionErrors);
    for (const d of ordered) this.#plugins.push(this.#load(d, resolved.get(d.name)));
    for (const p of this.#plugins) {
      try {
        p.hooks = pluginHooks(p.definition, p.context, await p.definition.setup?.(p.context));
        p.state = 'set-up';
      } catch (err) {
        p.state = 'failed';
        p.error = (err as Error).message;
        this.#state = 'failed';
        await this.#unwind();
        throw new PluginError(`plugin "${p.definition.name}" failed in setup: ${(err as Error).message}`, [p.definition.name]);
      }
    }
    this.#state = 'set-up';
  }

  /** Opens the database (and migrates), the cache, then starts the plugins in dependency order. */
  async start(): Promise<void> {
    if (this.#state === 'started' || this.#state === 'starting') return;
    if (this.#state === 'created') await this.setup();
    if (this.#state !== 'set-up') throw new Error(`cannot start a kernel in state "${this.#state}"`);
    this.#state = 'starting';
    try {
      this.#orm = await openOrm({ config: this.config, logger: this.logger, entities: this.entities(), migrations: this.migrations(), unmanaged: this.unmanagedSchema() });
      if (this.#migrateOnStart) {
        const applied = await migrate(this.#orm);
        if (applied.length) this.logger.info({ migrations: applied }, 'database migrated');
      }
      await this.cache.connect();
      // without Redis, the database tells this process what the others invalidated
      await this.cache.useGenerationStore(new DatabaseGenerations(this.#orm));
    } catch (err) {
      this.#state = 'failed';
      await this.#unwind();
      throw err;
    }
    for (const p of this.#plugins) {
      try {
        await p.hooks.start?.();
        p.state = 'started';
        this.logger.debug({ plugin: p.definition.name }, 'plugin started');
      } catch (err) {
        p.state = 'failed';
        p.error = (err as Error).message;
        this.#state = 'failed';
        this.logger.error({ err, plugin: p.definition.name }, 'plugin failed to start');
        await this.#unwind();
        throw new PluginError(`plugin "${p.definition.name}" failed to start: ${(err as Error).message}`, [p.definition.name]);
      }
    }
    this.#state = 'started';
    void this.events.emit('system.status', { status: 'ready' });
  }

  /** Stops plugins in reverse order, undoes their registrations, closes the cache and the database. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    this.#stopping = this.#unwind().then(() => {
      this.#state = 'stopped';
    });
    return this.#stopping;
  }

  async #unwind(): Promise<void> {
    const timeoutMs = this.config.shutdownTimeoutSeconds * 1000;
    for (const p of [...this.#plugins].reverse()) {
      if (p.state === 'started' && p.hooks.stop) {
        try {
          await withTimeout(Promise.resolve(p.hooks.stop()), timeoutMs, `plugin "${p.definition.name}" stop`);
        } catch (err) {
          this.logger.error({ err, plugin: p.definition.name }, 'plugin failed to stop cleanly');
        }
      }
      for (const hook of p.stopHooks.splice(0).reverse()) {
        try {
          await withTimeout(Promise.resolve(hook()), timeoutMs, `plugin "${p.definition.name}" onStop`);
        } catch (err) {
          this.logger.error({ err, plugin: p.definition.name }, 'plugin stop hook failed');
        }
      }
      this.#dispose(p);
      if (p.state !== 'failed') p.state = 'stopped';
    }
    await this.cache.close();
    if (this.#orm) {
      await this.#orm.close(true);
      this.#orm = undefined;
    }
  }

  #dispose(p: LoadedPlugin): void {
    for (const d of p.disposers.splice(0).reverse()) {
      try {
        d();
      } catch (err) {
        this.logger.warn({ err, plugin: p.definition.name }, 'disposer failed');
      }
    }
    p.router.dispose();
    p.metrics.dispose();
  }

  #load(definition: PluginDefinition, options: unknown): LoadedPlugin {
    const name = definition.name;
    const disposers: Disposer[] = [];
    const track = (d: Disposer): Disposer => {
      disposers.push(d);
      return d;
    };
    const router = new PluginRouter(name, this.openapi, this.auth);
    const metrics = new PluginMetrics(this.metrics);
    const stopHooks: (() => void | Promise<void>)[] = [];
    const logger = this.logger.child({ plugin: name });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const kernel = this;
    const context: PluginContext = {
      name,
      options,
      config: this.config,
      workers: this.#workers,
      logger,
      get orm() {
        return kernel.orm;
      },
      get em() {
        return kernel.em();
      },
      cache: this.cache,
      events: {
        on: (event, handler) => track(this.events.on(event, handler, name)),
        onAny: (handler) => track(this.events.onAny(handler, name)),
        emit: (event, payload) => this.events.emit(event, payload, name),
        bus: this.events,
      },
      services: {
        provide: (key, value) => track(this.services.provide(key, value, name)),
        get: (key) => this.services.get(key),
        maybe: (key) => this.services.maybe(key),
        has: (key) => this.services.has(key),
      },
      sources: {
        register: (source) => track(this.sources.register(source, name)),
        registry: this.sources,
      },
      router,
      metrics,
      openapi: this.openapi,
      auth: { register: (scheme, fn, opts) => track(this.auth.register(scheme, fn, opts)), registry: this.auth },
      dataDir: () => {
        const dir = join(this.config.dataDir, 'plugins', name);
        mkdirSync(dir, { recursive: true });
        return dir;
      },
      onStop: (fn) => {
        stopHooks.push(fn);
      },
    };
    return { definition, options, state: 'registered', context, router, metrics, disposers, stopHooks, hooks: {} };
  }

  /** `/health/detailed`: database, cache, each plugin, the process. */
  async health(): Promise<HealthReport> {
    const database: HealthReport['database'] = { status: 'down', dialect: this.config.database.kind };
    if (this.#orm) {
      const t0 = performance.now();
      try {
        await withTimeout((this.#orm.em as unknown as EntityManager).getConnection().execute('select 1'), 2000, 'database ping');
        database.status = 'ok';
        database.latency_ms = Math.round((performance.now() - t0) * 100) / 100;
      } catch (err) {
        database.error = (err as Error).message;
      }
    } else database.error = 'not open';
    const cacheHealth = this.cache.health();
    const cache = { ...cacheHealth, status: (cacheHealth.redis === 'down' ? 'degraded' : 'ok') as 'ok' | 'degraded' };
    const plugins: HealthReport['plugins'] = {};
    await Promise.all(
      this.#plugins.map(async (p) => {
        let h: PluginHealth = { status: p.state === 'started' ? 'ok' : 'down' };
        if (p.state === 'started' && p.hooks.health) {
          try {
            h = await withTimeout(Promise.resolve(p.hooks.health()), 2000, `plugin "${p.definition.name}" health`);
          } catch (err) {
            h = { status: 'down', error: (err as Error).message };
          }
        }
        plugins[p.definition.name] = { ...h, version: p.definition.version, state: p.state };
      }),
    );
    const mem = process.memoryUsage();
    const pluginStatuses = Object.values(plugins).map((p) => p.status);
    const status: HealthReport['status'] =
      database.status === 'down' || pluginStatuses.includes('down')
        ? 'down'
        : cache.status === 'degraded' || pluginStatuses.includes('degraded')
          ? 'degraded'
          : 'ok';
    return {
      status,
      environment: this.config.environment,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      database,
      cache,
      plugins,
      process: { pid: process.pid, node: process.version, rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
    };
  }
}

export function createKernel(options: KernelOptions = {}): RobianKernel {
  return new RobianKernel(options);
}
