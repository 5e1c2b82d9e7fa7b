export { PLAYER_CSP, PLAYER_PLUGIN, WORKER_CSP, PlayerSite, createPlayerPlugin, playerPlugin, type PlayerOptions } from './plugin.ts';
export { WEB_ROOT, WebFiles, type WebFile } from './files.ts';
export { playerPlugin as default } from './plugin.ts';
