// A parliament plugin written outside Robian: the Sénat's video platform as a DebateSource, with an
// entity and migration of its own, a route, and an import command (cli.ts).
import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { SenatStreamSchema } from './entities.ts';
import { senat0001 } from './migrations.ts';
import { senatEnv, senatOptions } from './options.ts';
import { SenatSource } from './source.ts';
import { SenatStreams } from './streams.ts';

export const senatPlugin = definePlugin({
  name: 'senat',
  version: '1.0.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'The Sénat as a debate source: live flux imported as debates, media resolved from data.nvs',
  dependsOn: ['catalog'],
  options: senatOptions,
  env: senatEnv,
  entities: [SenatStreamSchema],
  migrations: [senat0001],
  setup(ctx) {
    ctx.sources.register(new SenatSource(ctx));
    new SenatStreams(ctx).register();
  },
});

export { SenatSource, SENAT_SOURCE } from './source.ts';
export { parseLives, parseNvs } from './records.ts';
