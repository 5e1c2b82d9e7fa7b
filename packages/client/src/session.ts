/** The tokens of a listener's device account, as `POST /api/auth/device` and `/api/auth/refresh` give them. */
export interface ListenerTokens {
  access_token: string;
  refresh_token: string;
  /** Milliseconds since the epoch when the access token stops working. */
  access_expires_at: number;
  account_id: string;
  session_id: string;
}

/** Where the tokens live between runs: the device keychain in an app, a file in a script. */
export interface TokenStore {
  load(): ListenerTokens | undefined | Promise<ListenerTokens | undefined>;
  save(tokens: ListenerTokens | undefined): void | Promise<void>;
}

/** A store that forgets everything when the process ends. */
export function memoryTokenStore(initial?: ListenerTokens): TokenStore {
  let tokens = initial;
  return {
    load: () => tokens,
    save: (next) => {
      tokens = next;
    },
  };
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  account_id: string;
  session_id: string;
}

/** Raised when the session cannot be renewed (the refresh token was refused): sign in again. */
export class SessionEndedError extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(detail);
    this.name = 'SessionEndedError';
    this.status = status;
  }
}

/** Refresh this long before the access token expires, so a request never leaves with a dying token. */
const EARLY_MS = 30_000;

/**
 * A listener's session: device sign-in, the access token attached to requests, and refresh-token
 * rotation. Refresh tokens are single use on the server (a reused one ends the session), so one
 * refresh at a time is sent and every caller waiting for a token shares its result.
 */
export class ListenerSession {
  readonly #baseUrl: string;
  readonly #store: TokenStore;
  readonly #fetch: typeof fetch;
  #refreshing: Promise<ListenerTokens> | undefined;

  constructor(options: { baseUrl: string; store?: TokenStore; fetch?: typeof fetch }) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#store = options.store ?? memoryTokenStore();
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Creates the device's anonymous account (once; later calls keep the stored session). */
  async signIn(deviceName?: string): Promise<ListenerTokens> {
    const existing = await this.#store.load();
    if (existing) return existing;
    return this.#exchange('/api/auth/device', deviceName === undefined ? {} : { device_name: deviceName });
  }

  /** A valid access token, refreshed first when it is about to expire; undefined when signed out. */
  async accessToken(now = Date.now()): Promise<string | undefined> {
    const tokens = await this.#store.load();
    if (!tokens) return undefined;
    if (tokens.access_expires_at - EARLY_MS > now) return tokens.access_token;
    return (await this.refresh()).access_token;
  }

  /** Exchanges the refresh token for a new pair (the server invalidates the old one). */
  refresh(): Promise<ListenerTokens> {
    this.#refreshing ??= (async () => {
      try {
        const tokens = await this.#store.load();
        if (!tokens) throw new SessionEndedError(401, 'not signed in');
        return await this.#exchange('/api/auth/refresh', { refresh_token: tokens.refresh_token });
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Ends the session on the server and forgets the tokens. */
  async signOut(): Promise<void> {
    const tokens = await this.#store.load();
    if (!tokens) return;
    await this.#fetch(`${this.#baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    }).then((r) => r.body?.cancel());
    await this.#store.save(undefined);
  }

  async #exchange(path: string, body: unknown): Promise<ListenerTokens> {
    const res = await this.#fetch(`${this.#baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) {
      const problem = (await res.json().catch(() => ({}))) as { detail?: unknown };
      if (res.status === 401) await this.#store.save(undefined);
      throw new SessionEndedError(res.status, typeof problem.detail === 'string' ? problem.detail : `${path} answered ${res.status}`);
    }
    const pair = (await res.json()) as TokenPair;
    const tokens: ListenerTokens = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      access_expires_at: Date.now() + pair.expires_in * 1000,
      account_id: pair.account_id,
      session_id: pair.session_id,
    };
    await this.#store.save(tokens);
    return tokens;
  }
}
