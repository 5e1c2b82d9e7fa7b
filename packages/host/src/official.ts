import type { PluginInput } from '@robian/core';
import { wsPlugin } from '@robian/plugin-ws';

/**
 * The official plugins `robian serve` loads besides the built-in ones (system, docs, catalog).
 * Each plugin package adds itself here as it lands.
 */
export function officialPlugins(): PluginInput[] {
  return [wsPlugin];
}
