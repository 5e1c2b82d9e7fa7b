import type { Disposer } from './events.ts';

/**
 * The services plugins offer each other. Extend it by declaration merging:
 *
 * ```ts
 * declare module '@robian/core' {
 *   interface RobianServices { 'audio.storage': AudioStorage }
 * }
 * ```
 */
export interface RobianServices {
  /** Provided by the host: lets a plugin attach to the HTTP server (WebSocket upgrades, socket.io). */
  'http.server': HttpServerAccess;
  /**
   * Optional, provided by plugin-listeners: the caller's resume position in a debate, added by
   * `GET /api/debats/{id}` to its (shared, cached) view. `undefined` when the request carries no
   * listener token (the field is then left out); `null` when the listener has no position yet.
   */
  'listeners.position': ListenerPositionLookup;
  /** Optional, provided by plugin-listeners: a collection and its debates in order, whoever owns it (callers check access). */
  'listeners.collection': (id: number) => Promise<{ id: number; name: string; description: string | null; isPublic: boolean; accountId: string; debateIds: number[] } | undefined>;
  /** Optional, provided by plugin-search: the ids of the debates a full-text query matches, best first. */
  'search.debates': (q: string, options: { limit: number; hasAudio?: boolean }) => Promise<number[]>;
  /**
   * Optional, provided by plugin-audio: a URL of one version of a rendition's file that is the same at
   * every call and never serves other bytes (podcast enclosures), signed for `ttlSeconds` from the file's creation.
   */
  'audio.enclosureUrl': (debateId: number, file: { id: number; format: string; quality: string; createdAt: Date }, ttlSeconds: number) => string;
  /** Optional, provided by a speech recognition plugin: turns a rendition into segments (transcriber.ts). */
  transcriber: import('./transcriber.ts').Transcriber;
}

export interface ListenerPosition {
  position_seconds: number;
  rendition: string | null;
  updated_at: string;
}

export type ListenerPositionLookup = (ctx: import('koa').Context, debateId: number) => Promise<ListenerPosition | null | undefined>;

/** Access to the host's HTTP server(s): `attach` runs for the current server and any later one. */
export interface HttpServerAccess {
  attach(fn: (server: import('node:http').Server) => void | (() => void)): Disposer;
}

type ServiceName = keyof RobianServices & string;

/** A typed registry through which plugins meet without importing each other. */
export class ServiceRegistry {
  readonly #services = new Map<string, { owner: string; value: unknown }>();

  provide<K extends ServiceName>(name: K, value: RobianServices[K], owner = 'core'): Disposer {
    const existing = this.#services.get(name);
    if (existing) {
      throw new Error(`service "${name}" is already provided by plugin "${existing.owner}" (plugin "${owner}" tried again)`);
    }
    const entry = { owner, value };
    this.#services.set(name, entry);
    return () => {
      if (this.#services.get(name) === entry) this.#services.delete(name);
    };
  }

  /** The service, or an error naming it and who could provide it. */
  get<K extends ServiceName>(name: K): RobianServices[K] {
    const entry = this.#services.get(name);
    if (!entry) throw new Error(`service "${name}" is not available: is the plugin that provides it installed and started?`);
    return entry.value as RobianServices[K];
  }

  maybe<K extends ServiceName>(name: K): RobianServices[K] | undefined {
    return this.#services.get(name)?.value as RobianServices[K] | undefined;
  }

  has(name: string): boolean {
    return this.#services.has(name);
  }

  /** name → providing plugin */
  list(): Record<string, string> {
    return Object.fromEntries([...this.#services].map(([k, v]) => [k, v.owner]));
  }
}
