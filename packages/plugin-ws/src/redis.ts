import { createClient, type RedisClientType } from '@redis/client';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '@robian/core';

/**
 * The Redis link of one instance: a publisher and a subscriber connection, shared by the
 * socket.io Redis adapter (its channels under `{prefix}socket.io#…`) and the /ws bridge
 * (`{prefix}ws:bridge`).
 *
 * The adapter calls `publish()` and `pSubscribe()` without handling their rejections; a Redis
 * outage would then end the process with an unhandled rejection. Both clients are wrapped so
 * that every promise they return has a rejection handler that counts and logs the failure.
 */
export class RedisLink {
  readonly #url: string;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #onError: () => void;
  #pub: RedisClientType | undefined;
  #sub: RedisClientType | undefined;
  #ready = false;
  #lastError: string | undefined;

  constructor(url: string, prefix: string, logger: Logger, onError: () => void) {
    this.#url = url;
    this.#prefix = prefix;
    this.#logger = logger;
    this.#onError = onError;
  }

  get ready(): boolean {
    return this.#ready && this.#sub?.isReady === true;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get bridgeChannel(): string {
    return `${this.#prefix}ws:bridge`;
  }

  get adapterKey(): string {
    return `${this.#prefix}socket.io`;
  }

  /** Connects both clients; never throws (a Redis down at start is retried in the background). */
  async connect(): Promise<void> {
    const reconnectStrategy = (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3000);
    // the publisher fails fast while Redis is away (nothing piles up in memory); the subscriber
    // keeps its SUBSCRIBE commands queued and node-redis subscribes again after a reconnection
    const pub = createClient({ url: this.#url, disableOfflineQueue: true, socket: { connectTimeout: 2000, reconnectStrategy } }) as RedisClientType;
    const sub = createClient({ url: this.#url, socket: { connectTimeout: 2000, reconnectStrategy } }) as RedisClientType;
    this.#pub = pub;
    this.#sub = sub;
    const onError = (err: Error) => {
      this.#lastError = err.message;
      if (this.#ready) this.#logger.warn({ err: err.message }, 'ws: redis connection error');
      this.#ready = false;
    };
    pub.on('error', onError);
    sub.on('error', onError);
    pub.on('ready', () => {
      if (!this.#ready) this.#logger.info('ws: redis ready');
      this.#ready = true;
    });
    pub.on('end', () => {
      this.#ready = false;
    });
    try {
      await Promise.race([
        Promise.all([pub.connect(), sub.connect()]),
        new Promise((_, reject) => setTimeout(() => reject(new Error('connect timeout')), 3000).unref()),
      ]);
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#logger.warn({ err: (err as Error).message }, 'ws: redis unreachable at start; delivering locally and retrying');
    }
  }

  /** The socket.io adapter factory (`io.adapter(…)`). */
  adapter(): ReturnType<typeof createAdapter> {
    if (!this.#pub || !this.#sub) throw new Error('redis link not connected');
    return createAdapter(this.#guard(this.#pub), this.#guard(this.#sub), { key: this.adapterKey, requestsTimeout: 3000 });
  }

  /** Receives the bridge's messages. */
  async subscribe(listener: (message: string) => void): Promise<void> {
    if (!this.#sub) throw new Error('redis link not connected');
    await this.#guard(this.#sub).subscribe(this.bridgeChannel, (message: string) => listener(message));
  }

  /** Publishes on the bridge; a failure is counted, never thrown. */
  publish(message: string): void {
    const pub = this.#pub;
    if (!pub || !pub.isReady) {
      this.#onError();
      return;
    }
    pub.publish(this.bridgeChannel, message).catch((err: unknown) => {
      this.#lastError = (err as Error).message;
      this.#onError();
    });
  }

  async close(): Promise<void> {
    this.#ready = false;
    for (const c of [this.#sub, this.#pub]) {
      if (!c) continue;
      try {
        // close() waits for queued commands, which never run while Redis is away
        if (c.isReady) await Promise.race([c.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('close timeout')), 2000).unref())]);
        else c.destroy();
      } catch {
        try {
          c.destroy();
        } catch {
          /* already gone */
        }
      }
    }
  }

  /** The client, whose returned promises get a rejection handler (see the class comment). */
  #guard(client: RedisClientType): RedisClientType {
    const note = (err: unknown) => {
      this.#lastError = (err as Error)?.message ?? String(err);
      this.#onError();
    };
    return new Proxy(client, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function' || prop === 'on' || prop === 'once' || prop === 'off' || prop === 'duplicate') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) result.catch(note);
          return result;
        };
      },
    });
  }
}
