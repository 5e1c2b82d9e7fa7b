import type { PluginInput } from '@robian/core';
import { listenersPlugin } from '@robian/plugin-listeners';
import { assembleeNationalePlugin } from '@robian/plugin-assemblee-nationale';
import { audioPlugin } from '@robian/plugin-audio';
import { podcastPlugin } from '@robian/plugin-podcast';
import { searchPlugin } from '@robian/plugin-search';
import { wsPlugin } from '@robian/plugin-ws';
import { playerPlugin } from '@robian/player';

/**
 * The official plugins `robian serve` loads besides the built-in ones (system, docs, catalog),
 * the web player among them (it answers `/` to browsers only).
 * Order is only a tie-break: each plugin's dependsOn / optionalDependsOn decide the start order.
 */
export function officialPlugins(): PluginInput[] {
  return [assembleeNationalePlugin, audioPlugin, searchPlugin, listenersPlugin, wsPlugin, podcastPlugin, playerPlugin];
}
