import { Keyv } from 'keyv';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { ALL_NAMESPACES, type GenerationStore } from './cache-generations.ts';
import { CacheNamespace } from './cache-namespace.ts';
import type { Logger } from './logger.ts';

export interface CacheSettings {
  /** redis://… enables the shared L2 and cross-instance invalidation. */
  redisUrl?: string | undefined;
  /** Prefix of every Redis key and channel this cache touches. */
  prefix?: string;
  logger: Logger;
  /** Entries kept in memory per namespace (LRU). */
  l1MaxEntries?: number;
  /** A Redis read slower than this is treated as a miss, so a sick Redis never slows the API down. */
  l2TimeoutMs?: number;
  /** Without Redis: how often (at most) the generations in the database are read (`useGenerationStore`). */
  generationCheckMs?: number;
}

export interface CacheStats {
  hits: number;
  l1Hits: number;
  l2Hits: number;
  misses: number;
  sets: number;
  invalidations: number;
  errors: number;
}

export interface CacheHealth {
  mode: 'memory' | 'memory+redis';
  redis: 'disabled' | 'up' | 'down';
  namespaces: string[];
  stats: CacheStats;
  last_error?: string;
}

interface InvalidationMessage {
  ns: string;
  gen: number;
  origin: string;
}

/**
 * A namespaced two-level cache: memory (L1, per process) in front of Redis (L2, shared).
 *
 * Invalidation is by namespace generation: keys carry the namespace's generation number, and
 * `invalidate()` bumps it in Redis (INCR) and tells every instance over pub/sub to drop its L1.
 * When Redis is down the cache keeps answering from memory, the API from the database, and the
 * pending invalidations are published again when Redis comes back.
 */
export class RobianCache {
  readonly #settings: Required<Omit<CacheSettings, 'redisUrl'>> & { redisUrl?: string | undefined };
  readonly #namespaces = new Map<string, CacheNamespace>();
  readonly #origin = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  readonly stats: CacheStats = { hits: 0, l1Hits: 0, l2Hits: 0, misses: 0, sets: 0, invalidations: 0, errors: 0 };
  #client: RedisClientType | undefined;
  #subscriber: RedisClientType | undefined;
  #l2: Keyv | undefined;
  #redisReady = false;
  #lastError: string | undefined;
  readonly #pending = new Set<string>();
  #closed = false;
  /** Embedded mode: the database's generations (another process's writes) and the last ones seen. */
  #store: GenerationStore | undefined;
  readonly #seen = new Map<string, number>();
  #checkedAt = 0;
  #checking: Promise<void> | undefined;

  constructor(settings: CacheSettings) {
    this.#settings = {
      prefix: 'robian:',
      l1MaxEntries: 5000,
      l2TimeoutMs: 250,
      generationCheckMs: 1000,
      ...settings,
    };
  }

  get redisEnabled(): boolean {
    return this.#settings.redisUrl !== undefined;
  }

  get redisReady(): boolean {
    return this.#redisReady;
  }

  get origin(): string {
    return this.#origin;
  }

  /** A namespace with its own TTL (seconds; 0 disables caching in it). */
  namespace(name: string, ttlSeconds: number): CacheNamespace {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) throw new Error(`invalid cache namespace "${name}"`);
    let ns = this.#namespaces.get(name);
    if (!ns) {
      ns = new CacheNamespace(this, name, ttlSeconds, this.#settings.l1MaxEntries);
      this.#namespaces.set(name, ns);
      if (this.#redisReady) void this.#loadGeneration(ns);
    }
    return ns;
  }

  /** Drops every namespace's entries on every instance (after a restore replaced the data under them). */
  async invalidateAll(): Promise<void> {
    for (const ns of this.#namespaces.values()) await ns.invalidate();
    // embedded mode: namespaces this process never opened are dropped by the processes that did
    await this.bumpStored(ALL_NAMESPACES);
  }

  /**
   * Embedded mode (no Redis): invalidations are also counted in the database, so that a server sees
   * what another process (`robian import`, `robian db seed`, a second server on the same SQLite
   * file) changed. Read at most every `generationCheckMs`, on the way to a cached answer.
   */
  async useGenerationStore(store: GenerationStore): Promise<void> {
    if (this.redisEnabled) return; // Redis carries the invalidations (pub/sub) there
    this.#store = store;
    try {
      for (const [name, gen] of await store.read()) this.#seen.set(name, gen);
      this.#checkedAt = Date.now();
    } catch (err) {
      this.#storeFailed(err);
    }
  }

  /** Drops the namespaces whose stored generation moved since the last look (another process wrote). */
  async freshen(): Promise<void> {
    const store = this.#store;
    if (!store || Date.now() - this.#checkedAt < this.#settings.generationCheckMs) return;
    this.#checking ??= (async () => {
      try {
        const stored = await store.read();
        this.#checkedAt = Date.now();
        const all = stored.get(ALL_NAMESPACES);
        const everything = all !== undefined && all !== (this.#seen.get(ALL_NAMESPACES) ?? 0);
        for (const [name, gen] of stored) {
          if (gen === (this.#seen.get(name) ?? 0)) continue;
          this.#seen.set(name, gen);
          if (!everything) this.#namespaces.get(name)?.dropLocal();
        }
        if (everything) for (const ns of this.#namespaces.values()) ns.dropLocal();
      } catch (err) {
        this.#storeFailed(err);
      } finally {
        this.#checking = undefined;
      }
    })();
    await this.#checking;
  }

  /** Counts an invalidation in the database (embedded mode); this process's own bump is not seen as news. */
  async bumpStored(name: string): Promise<void> {
    if (!this.#store) return;
    try {
      const previous = this.#seen.get(name) ?? 0;
      const gen = await this.#store.bump(name);
      // only ours if nobody else bumped in between; otherwise the next look drops it once more
      if (gen === previous + 1) this.#seen.set(name, gen);
    } catch (err) {
      this.#storeFailed(err);
    }
  }

  #storeFailed(err: unknown): void {
    this.stats.errors++;
    this.#lastError = (err as Error).message;
    this.#checkedAt = Date.now(); // a database that is away is not asked on every request
  }

  /** Connects to Redis when configured. Never throws: a Redis that is down at start is retried in the background. */
  async connect(): Promise<void> {
    const url = this.#settings.redisUrl;
    if (!url) return;
    const log = this.#settings.logger;
    // once closed, never reconnect (node-redis would otherwise retry a handshake that was cut short)
    const reconnectStrategy = (retries: number): number | Error => (this.#closed ? new Error('cache closed') : Math.min(100 * 2 ** Math.min(retries, 5), 3000));
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy },
    }) as RedisClientType;
    const subscriber = client.duplicate() as RedisClientType;
    this.#client = client;
    this.#subscriber = subscriber;
    const onError = (err: Error) => {
      this.#lastError = err.message;
      if (this.#redisReady) log.warn({ err: err.message }, 'cache: redis connection error');
      this.#redisReady = false;
    };
    client.on('error', onError);
    subscriber.on('error', () => {});
    client.on('ready', () => {
      const wasDown = !this.#redisReady;
      this.#redisReady = true;
      if (wasDown) {
        log.info('cache: redis ready');
        void this.#resync();
      }
    });
    client.on('end', () => {
      this.#redisReady = false;
    });
    // no Keyv namespace: every key starts with REDIS_KEY_PREFIX (Keyv's default namespace wrote `keyv::robian:…`)
    this.#l2 = new Keyv({ store: new KeyvRedis(client, { throwOnConnectError: false, throwOnErrors: false }), useKeyPrefix: false, namespace: '' });
    this.#l2.on('error', (err: Error) => {
      this.stats.errors++;
      this.#lastError = err.message;
    });
    const channel = this.#channel();
    const connectAll = async () => {
      await client.connect();
      // close() may have run while Redis was away: connecting the subscriber now would leave it
      // retrying forever (and the process running)
      if (this.#closed) return;
      await subscriber.connect();
      if (this.#closed) return;
      await subscriber.subscribe(channel, (message) => this.#onMessage(message));
    };
    try {
      await Promise.race([connectAll(), new Promise((_, reject) => setTimeout(() => reject(new Error('connect timeout')), 3000))]);
    } catch (err) {
      this.#lastError = (err as Error).message;
      log.warn({ err: (err as Error).message }, 'cache: redis unreachable at start; serving from memory and retrying');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#l2 = undefined; // KeyvRedis would reconnect a closed client on its next call
    for (const ns of this.#namespaces.values()) ns.clearLocal();
    // a polite QUIT when Redis answers, bounded; otherwise (down, reconnecting, or never answering)
    // destroy the socket and stop the reconnection loop, so that a process can always exit
    const quit = async (c: RedisClientType | undefined) => {
      if (!c) return;
      try {
        if (c.isReady) {
          await Promise.race([c.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 1000).unref())]);
          return;
        }
      } catch {
        /* fall through to destroy */
      }
      try {
        c.destroy();
      } catch {
        /* already closed */
      }
    };
    await quit(this.#subscriber);
    await quit(this.#client);
    this.#redisReady = false;
  }

  health(): CacheHealth {
    return {
      mode: this.redisEnabled ? 'memory+redis' : 'memory',
      redis: this.redisEnabled ? (this.#redisReady ? 'up' : 'down') : 'disabled',
      namespaces: [...this.#namespaces.keys()],
      stats: { ...this.stats },
      ...(this.#lastError && this.redisEnabled ? { last_error: this.#lastError } : {}),
    };
  }

  // --- internals used by CacheNamespace -----------------------------------------------------

  l2Key(ns: string, gen: number, key: string): string {
    return `${this.#settings.prefix}c:${ns}:${gen}:${key}`;
  }

  async l2Get(key: string): Promise<unknown> {
    if (!this.#redisReady || !this.#l2) return undefined;
    try {
      const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), this.#settings.l2TimeoutMs).unref());
      return await Promise.race([this.#l2.get(key), timeout]);
    } catch (err) {
      this.stats.errors++;
      this.#lastError = (err as Error).message;
      return undefined;
    }
  }

  async l2Set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (!this.#redisReady || !this.#l2) return;
    try {
      await this.#l2.set(key, value, ttlSeconds * 1000);
    } catch (err) {
      this.stats.errors++;
      this.#lastError = (err as Error).message;
    }
  }

  async l2Delete(key: string): Promise<void> {
    if (!this.#redisReady || !this.#l2) return;
    try {
      await this.#l2.delete(key);
    } catch (err) {
      this.stats.errors++;
    }
  }

  async publishInvalidation(ns: CacheNamespace): Promise<void> {
    if (!this.redisEnabled) return;
    if (!this.#redisReady || !this.#client) {
      this.#pending.add(ns.name);
      return;
    }
    try {
      const gen = await this.#client.incr(this.#genKey(ns.name));
      ns.adoptGeneration(gen);
      const message: InvalidationMessage = { ns: ns.name, gen, origin: this.#origin };
      await this.#client.publish(this.#channel(), JSON.stringify(message));
    } catch (err) {
      this.stats.errors++;
      this.#lastError = (err as Error).message;
      this.#pending.add(ns.name);
    }
  }

  #channel(): string {
    return `${this.#settings.prefix}cache:invalidate`;
  }

  #genKey(ns: string): string {
    return `${this.#settings.prefix}cache:gen:${ns}`;
  }

  #onMessage(raw: string): void {
    let msg: InvalidationMessage;
    try {
      msg = JSON.parse(raw) as InvalidationMessage;
    } catch {
      return;
    }
    if (msg.origin === this.#origin) return;
    const ns = this.#namespaces.get(msg.ns);
    if (!ns) return;
    ns.clearLocal();
    ns.adoptGeneration(msg.gen);
  }

  async #loadGeneration(ns: CacheNamespace): Promise<void> {
    if (!this.#client || !this.#redisReady) return;
    try {
      const value = await this.#client.get(this.#genKey(ns.name));
      ns.adoptGeneration(value === null ? 0 : Number(value), true);
    } catch (err) {
      this.stats.errors++;
    }
  }

  /** After (re)connection: we may have missed invalidations, so memory is dropped and generations re-read. */
  async #resync(): Promise<void> {
    if (this.#closed) return;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const ns of this.#namespaces.values()) {
      ns.clearLocal();
      await this.#loadGeneration(ns);
    }
    for (const name of pending) {
      const ns = this.#namespaces.get(name);
      if (ns) await this.publishInvalidation(ns);
    }
  }
}

export { CacheNamespace };
