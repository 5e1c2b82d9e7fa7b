export { Robian, createRobian, type RobianOptions } from './app.ts';
export { catalogPlugin } from './plugins/catalog.ts';
export { systemPlugin } from './plugins/system.ts';
export { docsPlugin } from './plugins/docs.ts';
export { transcriptsPlugin, TranscriptRoutes } from './plugins/transcripts.ts';
export { officialPlugins } from './official.ts';
export { seedDemo } from './seed.ts';
export { HOST_VERSION } from './version.ts';
