import { defineEntity } from '@mikro-orm/core';
import { Debate } from '@robian/core';

const p = defineEntity.properties;

/**
 * An anonymous listener account, created by a device. It owns sessions, collections, favorites
 * and resume positions; deleting it deletes all of them (foreign keys `on delete cascade`).
 */
export const ListenerAccountSchema = defineEntity({
  name: 'ListenerAccount',
  tableName: 'listener_account',
  properties: {
    id: p.string().length(36).primary(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastSeenAt: p.datetime().onCreate(() => new Date()),
  },
});
export class ListenerAccount extends ListenerAccountSchema.class {}
ListenerAccountSchema.setClass(ListenerAccount);

/** One signed-in device: a refresh-token family. Revoking it ends every token of the family. */
export const ListenerSessionSchema = defineEntity({
  name: 'ListenerSession',
  tableName: 'listener_session',
  properties: {
    id: p.string().length(36).primary(),
    account: () => p.manyToOne(ListenerAccount).deleteRule('cascade').index('listener_session_account_idx'),
    deviceName: p.string().length(100).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export class ListenerSession extends ListenerSessionSchema.class {}
ListenerSessionSchema.setClass(ListenerSession);

/** A refresh token, stored as its SHA-256 digest. Used once: `rotatedAt` is set when it is exchanged. */
export const ListenerRefreshTokenSchema = defineEntity({
  name: 'ListenerRefreshToken',
  tableName: 'listener_refresh_token',
  properties: {
    id: p.integer().primary().autoincrement(),
    session: () => p.manyToOne(ListenerSession).deleteRule('cascade').index('listener_refresh_token_session_idx'),
    tokenHash: p.string().length(64).unique('listener_refresh_token_hash_unique'),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    rotatedAt: p.datetime().nullable(),
  },
});
export class ListenerRefreshToken extends ListenerRefreshTokenSchema.class {}
ListenerRefreshTokenSchema.setClass(ListenerRefreshToken);

/** A one-time code that lets a second device join an account. `lookup` finds it; the secret part is stored hashed. */
export const ListenerLinkCodeSchema = defineEntity({
  name: 'ListenerLinkCode',
  tableName: 'listener_link_code',
  properties: {
    id: p.integer().primary().autoincrement(),
    account: () => p.manyToOne(ListenerAccount).deleteRule('cascade').index('listener_link_code_account_idx'),
    lookup: p.string().length(8).unique('listener_link_code_lookup_unique'),
    secretHash: p.string().length(64),
    attempts: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
  },
});
export class ListenerLinkCode extends ListenerLinkCodeSchema.class {}
ListenerLinkCodeSchema.setClass(ListenerLinkCode);

/** A listener's playlist of debates. */
export const ListenerCollectionSchema = defineEntity({
  name: 'ListenerCollection',
  tableName: 'listener_collection',
  properties: {
    id: p.integer().primary().autoincrement(),
    account: () => p.manyToOne(ListenerAccount).deleteRule('cascade').index('listener_collection_account_idx'),
    name: p.string().length(200),
    description: p.string().length(2000).nullable(),
    color: p.string().length(16).nullable(),
    icon: p.string().length(64).nullable(),
    sortOrder: p.integer().default(0),
    isPublic: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class ListenerCollection extends ListenerCollectionSchema.class {}
ListenerCollectionSchema.setClass(ListenerCollection);

/** A debate in a collection, at a position the owner chooses. */
export const ListenerCollectionItemSchema = defineEntity({
  name: 'ListenerCollectionItem',
  tableName: 'listener_collection_item',
  properties: {
    id: p.integer().primary().autoincrement(),
    collection: () => p.manyToOne(ListenerCollection).deleteRule('cascade').index('listener_collection_item_collection_idx'),
    debate: () => p.manyToOne(Debate).deleteRule('cascade').index('listener_collection_item_debate_idx'),
    position: p.integer().default(0),
    addedAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ name: 'listener_collection_item_unique', properties: ['collection', 'debate'] }],
});
export class ListenerCollectionItem extends ListenerCollectionItemSchema.class {}
ListenerCollectionItemSchema.setClass(ListenerCollectionItem);

/** A favorite debate, with an optional note and tags; one per account and debate. */
export const ListenerFavoriteSchema = defineEntity({
  name: 'ListenerFavorite',
  tableName: 'listener_favorite',
  properties: {
    id: p.integer().primary().autoincrement(),
    account: () => p.manyToOne(ListenerAccount).deleteRule('cascade'),
    debate: () => p.manyToOne(Debate).deleteRule('cascade').index('listener_favorite_debate_idx'),
    note: p.string().length(2000).nullable(),
    tags: p.json<string[]>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  uniques: [{ name: 'listener_favorite_account_debate_unique', properties: ['account', 'debate'] }],
});
export class ListenerFavorite extends ListenerFavoriteSchema.class {}
ListenerFavoriteSchema.setClass(ListenerFavorite);

/** Where a listener stopped in a debate. `updatedAt` is the device's clock at the write: the latest wins. */
export const ListenerProgressSchema = defineEntity({
  name: 'ListenerProgress',
  tableName: 'listener_progress',
  properties: {
    id: p.integer().primary().autoincrement(),
    account: () => p.manyToOne(ListenerAccount).deleteRule('cascade'),
    debate: () => p.manyToOne(Debate).deleteRule('cascade').index('listener_progress_debate_idx'),
    positionSeconds: p.double(),
    rendition: p.string().length(32).nullable(),
    updatedAt: p.datetime(),
    receivedAt: p.datetime(),
  },
  uniques: [{ name: 'listener_progress_account_debate_unique', properties: ['account', 'debate'] }],
  indexes: [{ name: 'listener_progress_account_updated_idx', properties: ['account', 'updatedAt'] }],
});
export class ListenerProgress extends ListenerProgressSchema.class {}
ListenerProgressSchema.setClass(ListenerProgress);

/** Typed as a plain list, as `PluginDefinition.entities` is (the inferred tuple repeated every schema's type in the `.d.ts`). */
export const listenerEntities: unknown[] = [
  ListenerAccountSchema,
  ListenerSessionSchema,
  ListenerRefreshTokenSchema,
  ListenerLinkCodeSchema,
  ListenerCollectionSchema,
  ListenerCollectionItemSchema,
  ListenerFavoriteSchema,
  ListenerProgressSchema,
];

/** Tables of the plugin, children first (the order in which account erasure deletes). */
export const LISTENER_TABLES = [
  'listener_progress',
  'listener_favorite',
  'listener_collection_item',
  'listener_collection',
  'listener_link_code',
  'listener_refresh_token',
  'listener_session',
  'listener_account',
] as const;
