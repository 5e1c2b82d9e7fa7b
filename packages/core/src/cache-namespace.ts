import { CacheableMemory } from 'cacheable';
import type { RobianCache } from './cache.ts';
import { JsonBody } from './json-body.ts';

/** One namespace of the cache, e.g. `debates`, with its TTL. */
export class CacheNamespace {
  readonly name: string;
  readonly ttlSeconds: number;
  readonly #cache: RobianCache;
  readonly #l1: CacheableMemory;
  readonly #inflight = new Map<string, Promise<unknown>>();
  #generation = 0;
  /** False until the generation has been read from Redis: until then L2 is not trusted. */
  #generationKnown = false;

  constructor(cache: RobianCache, name: string, ttlSeconds: number, l1MaxEntries: number) {
    this.#cache = cache;
    this.name = name;
    this.ttlSeconds = ttlSeconds;
    this.#l1 = new CacheableMemory({ ttl: Math.max(ttlSeconds, 1) * 1000, lruSize: l1MaxEntries, useClone: false, checkInterval: 0 });
  }

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  get generation(): number {
    return this.#generation;
  }

  adoptGeneration(gen: number, authoritative = false): void {
    if (!Number.isFinite(gen)) return;
    if (gen > this.#generation || authoritative) {
      if (gen !== this.#generation) this.#l1.clear();
      this.#generation = gen;
    }
    this.#generationKnown = true;
  }

  clearLocal(): void {
    this.#l1.clear();
    this.#inflight.clear();
    for (const listener of this.#listeners) listener();
  }

  /** Another process invalidated the namespace: this instance's entries go, and computations under way are not stored. */
  dropLocal(): void {
    this.#generation++;
    this.clearLocal();
  }

  readonly #listeners = new Set<() => void>();

  /**
   * Called whenever the namespace's entries are dropped here: by `invalidate()` on this instance or
   * on another one (Redis pub/sub, or the database's generations in embedded mode). For what a
   * plugin keeps in memory of its own beside the cache. Returns the unsubscribe function.
   */
  onInvalidate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (!this.enabled) return undefined;
    await this.#cache.freshen();
    const stats = this.#cache.stats;
    const local = this.#l1.get<T>(key);
    if (local !== undefined) {
      stats.hits++;
      stats.l1Hits++;
      return local;
    }
    if (this.#generationKnown) {
      const gen = this.#generation;
      const remote = (await this.#cache.l2Get(this.#cache.l2Key(this.name, gen, key))) as T | undefined;
      if (remote !== undefined && remote !== null) {
        if (gen === this.#generation) this.#l1.set(key, remote);
        stats.hits++;
        stats.l2Hits++;
        return remote;
      }
    }
    stats.misses++;
    return undefined;
  }

  async set<T>(key: string, value: T, ttlSeconds = this.ttlSeconds): Promise<void> {
    if (!this.enabled || value === undefined) return;
    this.#cache.stats.sets++;
    this.#l1.set(key, value, ttlSeconds * 1000);
    if (this.#generationKnown) await this.#cache.l2Set(this.#cache.l2Key(this.name, this.#generation, key), value, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    this.#l1.delete(key);
    await this.#cache.l2Delete(this.#cache.l2Key(this.name, this.#generation, key));
  }

  /**
   * The cached value, or the result of `compute` (stored). Concurrent misses on one key in this
   * process share one computation.
   */
  async wrap<T>(key: string, compute: () => Promise<T>, ttlSeconds = this.ttlSeconds): Promise<T> {
    if (!this.enabled) return compute();
    const hit = await this.get<T>(key);
    if (hit !== undefined) return hit;
    const running = this.#inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const gen = this.#generation;
    const promise = (async () => {
      try {
        const value = await compute();
        // an invalidation raced with the computation: do not store what may be stale
        if (gen === this.#generation) await this.set(key, value, ttlSeconds);
        return value;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, promise);
    return promise;
  }

  /**
   * `wrap` for JSON answers: the value is kept serialized with its ETag (`JsonBody`), so a hit is
   * sent as stored bytes. `undefined` from `compute` (nothing to answer) is not stored.
   */
  async wrapJson(key: string, compute: () => Promise<unknown>, ttlSeconds = this.ttlSeconds): Promise<JsonBody | undefined> {
    // memory keeps the JsonBody itself (its bytes are encoded once); Redis its toJSON(), revived on a read
    const stored = await this.wrap<JsonBody | { json: string; etag: string } | undefined>(
      key,
      async () => {
        const value = await compute();
        return value === undefined ? undefined : JsonBody.of(value);
      },
      ttlSeconds,
    );
    if (stored === undefined || stored instanceof JsonBody) return stored;
    // from Redis: memory keeps the revived body from now on (if nothing replaced the entry meanwhile)
    const body = JsonBody.revive(stored);
    if (this.#l1.get(key) === stored) this.#l1.set(key, body, ttlSeconds * 1000);
    return body;
  }

  /** Drops every entry of the namespace, on this instance and on every instance sharing the Redis. */
  async invalidate(): Promise<void> {
    this.#cache.stats.invalidations++;
    this.clearLocal();
    if (!this.#cache.redisEnabled) {
      this.#generation++;
      await this.#cache.bumpStored(this.name);
      return;
    }
    this.#generation++; // local bump first: our own L2 reads stop at once
    await this.#cache.publishInvalidation(this);
  }
}
