import type { PluginInput } from '@robian/core';
import { listenersPlugin } from '@robian/plugin-listeners';
import { assembleeNationalePlugin } from '@robian/plugin-assemblee-nationale';
import { audioPlugin } from '@robian/plugin-audio';
import { searchPlugin } from '@robian/plugin-search';

/**
 * The official plugins `robian serve` loads besides the built-in ones (system, docs, catalog).
 * Each plugin package adds itself here as it lands.
 */
export function officialPlugins(): PluginInput[] {
  return [assembleeNationalePlugin, audioPlugin, searchPlugin, listenersPlugin];
}
