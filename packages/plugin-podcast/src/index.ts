import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { Feeds } from './feeds.ts';
import { FeedKeys, PodcastFeedKeySchema, podcast0001 } from './keys.ts';
import { podcastEnv, podcastOptions } from './options.ts';

export const PODCAST_PLUGIN = 'podcast';

/**
 * Podcast feeds of the catalogue: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, for every
 * committee, deputy, saved search and collection, and an OPML of the committees. `setup` wires the
 * feeds and the private collections' feed keys; both own their routes.
 */
export const podcastPlugin = definePlugin({
  name: PODCAST_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Podcast feeds of committees, deputies, searches and collections',
  dependsOn: ['catalog'],
  optionalDependsOn: ['audio', 'search', 'listeners'],
  options: podcastOptions,
  env: podcastEnv,
  entities: [PodcastFeedKeySchema],
  migrations: [podcast0001],
  setup(ctx) {
    const keys = new FeedKeys(ctx);
    keys.register();
    new Feeds(ctx, keys).register();
  },
});

export default podcastPlugin;
export { renderFeed, renderOpml } from './rss.ts';
export { defaultArtwork } from './artwork.ts';
export { podcastOptions, podcastEnv, type PodcastOptions } from './options.ts';
