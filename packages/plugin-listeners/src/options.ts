import { option, z } from '@robian/core';

const int = (min: number, max: number, fallback: number) => option.int(fallback, min, max);

/** The plugin's options and the environment variables that fill them (see docs/listeners.md). */
export const listenersOptions = z.object({
  /** Lifetime of an access token, in seconds (LISTENER_ACCESS_TOKEN_TTL, default 15 minutes). */
  accessTokenTtlSeconds: int(1, 86_400, 900),
  /** Lifetime of a refresh token, in days (LISTENER_REFRESH_TOKEN_TTL_DAYS, default 90). Each exchange starts a new one. */
  refreshTokenTtlDays: int(1, 3650, 90),
  /** Lifetime of a link code, in seconds (LISTENER_LINK_CODE_TTL, default 5 minutes). */
  linkCodeTtlSeconds: int(10, 3600, 300),
  /** Wrong tries after which a link code is burned (LISTENER_LINK_CODE_MAX_ATTEMPTS, default 5). */
  linkCodeMaxAttempts: int(1, 100, 5),
  /** Collections per account (LISTENER_MAX_COLLECTIONS, default 200). */
  maxCollections: int(1, 100_000, 200),
  /** Debates per collection (LISTENER_MAX_COLLECTION_ITEMS, default 2000). */
  maxCollectionItems: int(1, 100_000, 2000),
  /** Favorites per account (LISTENER_MAX_FAVORITES, default 10000). */
  maxFavorites: int(1, 1_000_000, 10_000),
});

export type ListenersOptions = z.output<typeof listenersOptions>;

export const listenersEnv = {
  accessTokenTtlSeconds: 'LISTENER_ACCESS_TOKEN_TTL',
  refreshTokenTtlDays: 'LISTENER_REFRESH_TOKEN_TTL_DAYS',
  linkCodeTtlSeconds: 'LISTENER_LINK_CODE_TTL',
  linkCodeMaxAttempts: 'LISTENER_LINK_CODE_MAX_ATTEMPTS',
  maxCollections: 'LISTENER_MAX_COLLECTIONS',
  maxCollectionItems: 'LISTENER_MAX_COLLECTION_ITEMS',
  maxFavorites: 'LISTENER_MAX_FAVORITES',
} as const;
