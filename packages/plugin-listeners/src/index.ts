import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { Accounts } from './accounts.ts';
import { listenerEntities } from './entities.ts';
import { Library } from './library.ts';
import { listenerMigrations } from './migrations.ts';
import { listenersEnv, listenersOptions } from './options.ts';
import { registerListenerMetrics } from './metrics.ts';

export const LISTENERS_PLUGIN = 'listeners';

/**
 * Listeners' own space: anonymous device accounts (JWT access tokens, rotated refresh tokens,
 * link codes), collections, favorites and resume positions. Registers the `user` auth scheme.
 */
export const listenersPlugin = definePlugin({
  name: LISTENERS_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Device accounts, collections, favorites and resume positions of listeners',
  options: listenersOptions,
  env: listenersEnv,
  entities: listenerEntities,
  migrations: listenerMigrations,
  setup(ctx) {
    const accounts = new Accounts(ctx);
    const library = new Library(ctx, accounts);
    ctx.auth.register('user', (koa) => accounts.authenticate(koa), { identify: (koa) => accounts.identify(koa) });
    accounts.register();
    library.register();
    ctx.services.provide('listeners.position', (koa, debateId) => library.position(koa as never, debateId));
    ctx.services.provide('listeners.collection', (id) => library.collectionForFeed(id));
    ctx.events.on('debate.deleted', ({ id }) => library.forgetDebate(id));
    registerListenerMetrics(ctx);
  },
});

export default listenersPlugin;
export { Accounts, type ListenerPrincipal } from './accounts.ts';
export { Library } from './library.ts';
export { pruneListeners, type PruneReport } from './prune.ts';
export * from './entities.ts';
export { listenerMigrations, listeners0001Initial } from './migrations.ts';
export { listenersOptions, listenersEnv, type ListenersOptions } from './options.ts';
export { AccessTokens, accessTokenKey, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, ACCESS_TOKEN_TYPE, REFRESH_TOKEN_PREFIX, parseLinkCode } from './tokens.ts';
