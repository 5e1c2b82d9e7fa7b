import type { MigrationObject } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import type { ZodType, z } from 'zod';
import type { RobianCache } from './cache.ts';
import type { RobianConfig } from './config.ts';
import type { Disposer, EventBus, EventHandler, EventName, RobianEvents, AnyEventHandler } from './events.ts';
import type { AuthRegistry, AuthScheme, AuthSchemeOptions, OpenApiRegistry, PluginRouter } from './http.ts';
import type { Logger } from './logger.ts';
import type { PluginMetrics } from './metrics.ts';
import type { RobianServices, ServiceRegistry } from './services.ts';
import type { DebateSource, SourceRegistry } from './source.ts';

/**
 * The version of the plugin contract. A plugin declares the one it was written for; the host
 * refuses a plugin whose `apiVersion` it does not support, with a message naming both.
 * v2 added the runtime returned by `setup` (`PluginRuntime`); v1 plugins run unchanged.
 */
export const PLUGIN_API_VERSION = 2;
export const SUPPORTED_PLUGIN_API_VERSIONS: readonly number[] = [1, 2];

export interface PluginHealth {
  status: 'ok' | 'degraded' | 'down';
  [detail: string]: unknown;
}

/** The plugin's view of its events: what it subscribes is undone when it stops. */
export interface PluginEvents {
  on<E extends EventName>(name: E, handler: EventHandler<E>): Disposer;
  onAny(handler: AnyEventHandler): Disposer;
  emit<E extends EventName>(name: E, payload: RobianEvents[E]): Promise<void>;
  /** The whole bus (read-only use: listener counts). */
  readonly bus: EventBus;
}

/** The plugin's view of the services: what it provides is withdrawn when it stops. */
export interface PluginServices {
  provide<K extends keyof RobianServices & string>(name: K, value: RobianServices[K]): Disposer;
  get<K extends keyof RobianServices & string>(name: K): RobianServices[K];
  maybe<K extends keyof RobianServices & string>(name: K): RobianServices[K] | undefined;
  has(name: string): boolean;
}

export interface PluginSources {
  register(source: DebateSource): Disposer;
  readonly registry: SourceRegistry;
}

/** Everything a plugin gets. Registrations made through it are recorded under the plugin's name. */
export interface PluginContext<TOptions = unknown> {
  readonly name: string;
  readonly options: TOptions;
  readonly config: RobianConfig;
  /**
   * Whether this process runs background work (job workers, schedulers). False in CLI maintenance
   * commands (migrate, check, import, cleanup…), which start the plugins only to use their services.
   */
  readonly workers: boolean;
  readonly logger: Logger;
  /** The ORM. Available from `start` on (setup does no I/O). */
  readonly orm: MikroORM;
  /** The entity manager of the current request (or a fresh fork outside requests). Available from `start` on. */
  readonly em: EntityManager;
  readonly cache: RobianCache;
  readonly events: PluginEvents;
  readonly services: PluginServices;
  readonly sources: PluginSources;
  /** The plugin's router, mounted by the host; `route()` validates and documents. */
  readonly router: PluginRouter;
  readonly metrics: PluginMetrics;
  readonly openapi: OpenApiRegistry;
  readonly auth: { register(name: string, scheme: AuthScheme, options?: AuthSchemeOptions): Disposer; readonly registry: AuthRegistry };
  /** A folder of the plugin's own under DATA_DIR (created on first use). */
  dataDir(): string;
  /** Runs `fn` when the plugin stops (after its `stop` hook), in reverse order of registration. */
  onStop(fn: () => void | Promise<void>): void;
}

/**
 * What `setup` may return (plugin API v2): the instance's lifecycle as closures over what setup
 * built, so that per-instance state lives in setup's scope instead of module-level maps.
 * Each hook may be declared here or in the definition (`start(ctx)`…), not in both.
 */
export interface PluginRuntime {
  /** Open connections, start workers. */
  start?(): void | Promise<void>;
  /** Drain and close. Called in reverse start order, before the `onStop` callbacks. */
  stop?(): void | Promise<void>;
  /** The plugin's part of `/health/detailed`. */
  health?(): PluginHealth | Promise<PluginHealth>;
}

/** Schema objects owned by migrations rather than by entities (see `PluginDefinition.unmanagedSchema`). */
export interface UnmanagedSchema {
  /** Tables (names or patterns) the diff neither reads nor drops. */
  tables?: (string | RegExp)[];
  /** Triggers on any table are created by migrations: the diff does not drop or alter them. */
  triggers?: boolean;
  /** Functions are created by migrations: the diff does not drop or alter them. */
  routines?: boolean;
}

export interface PluginDefinition<TSchema extends ZodType = ZodType> {
  /** Unique name, lower case, e.g. `audio` or `assemblee-nationale`. */
  name: string;
  /** The plugin's own version (semver). */
  version: string;
  /** The plugin contract version it was written for: PLUGIN_API_VERSION. */
  apiVersion: number;
  description?: string;
  /** Plugins that must be present and started before this one. */
  dependsOn?: string[];
  /** Plugins started before this one when present. */
  optionalDependsOn?: string[];
  /** The options schema, with defaults. Validated before `setup` runs. */
  options?: TSchema;
  /** Environment variables that fill options: `{ allowedHosts: 'MEDIA_ALLOWED_HOSTS' }`. */
  env?: Partial<Record<keyof z.input<TSchema> & string, string>>;
  /** MikroORM entities the plugin contributes (defineEntity schemas). */
  entities?: unknown[];
  /** Migrations for its tables, both dialects (see `sqlMigration`). Names unique, prefixed with the plugin name. */
  migrations?: MigrationObject[];
  /**
   * Database objects its migrations create outside the entity metadata (full-text indexes, virtual
   * tables, triggers, functions). The schema diff (`checkSchema`, `robian db check`) leaves them alone
   * instead of proposing to drop them.
   */
  unmanagedSchema?: UnmanagedSchema;
  /**
   * Register routes, services, listeners. No I/O. May return the instance's runtime
   * (`{ start, stop, health }`, plugin API v2) instead of declaring the hooks below.
   */
  setup?(ctx: PluginContext<z.output<TSchema>>): void | PluginRuntime | Promise<void | PluginRuntime>;
  /** Open connections, start workers (the original form; or return `start` from setup). */
  start?(ctx: PluginContext<z.output<TSchema>>): void | Promise<void>;
  /** Drain and close. Called in reverse start order. */
  stop?(ctx: PluginContext<z.output<TSchema>>): void | Promise<void>;
  /** The plugin's part of `/health/detailed`. */
  health?(ctx: PluginContext<z.output<TSchema>>): PluginHealth | Promise<PluginHealth>;
}

/** A plugin with the options it is used with (`usePlugin(audio, { … })`). */
export interface PluginUse {
  plugin: PluginDefinition;
  options?: Record<string, unknown>;
}

export type PluginInput = PluginDefinition | PluginUse;

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const SEMVER = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Declares a plugin. Checks its shape at once so mistakes surface at import, not at start. */
export function definePlugin<TSchema extends ZodType = ZodType>(definition: PluginDefinition<TSchema>): PluginDefinition<TSchema> {
  const problems: string[] = [];
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    problems.push(`name "${String(definition.name)}" must be lower-case letters, digits and dashes, starting with a letter`);
  }
  if (typeof definition.version !== 'string' || !SEMVER.test(definition.version)) {
    problems.push(`version "${String(definition.version)}" must be semver (e.g. 1.0.0)`);
  }
  if (!Number.isInteger(definition.apiVersion)) problems.push('apiVersion must be an integer (PLUGIN_API_VERSION)');
  for (const key of ['setup', 'start', 'stop', 'health'] as const) {
    if (definition[key] !== undefined && typeof definition[key] !== 'function') problems.push(`${key} must be a function`);
  }
  if (problems.length) throw new TypeError(`definePlugin(${String(definition.name)}): ${problems.join('; ')}`);
  return Object.freeze({ ...definition });
}

/** Pairs a plugin with explicit options. */
export function usePlugin<TSchema extends ZodType>(plugin: PluginDefinition<TSchema>, options: Partial<z.input<TSchema>>): PluginUse {
  return { plugin: plugin as unknown as PluginDefinition, options: options as Record<string, unknown> };
}
