import { PluginError } from './errors.ts';
import type { PluginContext, PluginDefinition, PluginHealth } from './plugin.ts';

/** The lifecycle hooks the kernel calls for one loaded plugin, whichever form declared them. */
export interface PluginHooks {
  start?: () => void | Promise<void>;
  stop?: () => void | Promise<void>;
  health?: () => PluginHealth | Promise<PluginHealth>;
}

const HOOKS = ['start', 'stop', 'health'] as const;

/** The first contract version in which `setup` may return the plugin's runtime. */
export const RUNTIME_FROM_SETUP_API_VERSION = 2;

/**
 * Resolves a plugin's hooks from what its `setup` returned (the runtime form, API v2) and from its
 * definition (the original form, `start(ctx)`…). A hook declared in both places is refused rather
 * than guessed, and so is a key that is not a hook (a typo would otherwise never run).
 */
export function pluginHooks(definition: PluginDefinition, context: PluginContext, returned: unknown): PluginHooks {
  const name = definition.name;
  const hooks: PluginHooks = {};
  if (definition.start) hooks.start = () => definition.start!(context);
  if (definition.stop) hooks.stop = () => definition.stop!(context);
  if (definition.health) hooks.health = () => definition.health!(context);
  if (returned === undefined || returned === null) return hooks;
  if (typeof returned !== 'object') throw new PluginError(`setup returned a ${typeof returned}; it returns nothing or its runtime { start, stop, health }`, [name]);
  if (definition.apiVersion < RUNTIME_FROM_SETUP_API_VERSION) {
    throw new PluginError(
      `setup returned a runtime, which plugin API v${definition.apiVersion} does not have; declare apiVersion: PLUGIN_API_VERSION (v${RUNTIME_FROM_SETUP_API_VERSION} or later)`,
      [name],
    );
  }
  const runtime = returned as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(runtime)) {
    if (!(HOOKS as readonly string[]).includes(key)) problems.push(`"${key}" is not a runtime hook (start, stop, health)`);
  }
  for (const key of HOOKS) {
    const fn = runtime[key];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') problems.push(`${key} must be a function`);
    else if (definition[key]) problems.push(`${key} is declared both in the definition and in the runtime setup returned`);
    else hooks[key] = (fn as () => never).bind(runtime);
  }
  if (problems.length) throw new PluginError(`the runtime setup returned is not valid: ${problems.join('; ')}`, [name]);
  return hooks;
}
