import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './generated/openapi.ts';
import { ListenerSession } from './session.ts';

export type RobianPaths = paths;
export type RobianApi = Client<paths>;

export interface RobianClientOptions {
  /** Where the host answers, e.g. `https://robian.example.org` (or `…/robian` when embedded under a prefix). */
  baseUrl: string;
  /** A listener session: its access token goes on every request that carries no other credential. */
  session?: ListenerSession;
  /** The admin API key, for the write routes (never ship it in an app). */
  adminKey?: string;
  fetch?: typeof fetch;
}

export interface RobianClient {
  /** The typed HTTP API: `api.GET('/api/debats/{id}', { params: { path: { id } } })`. */
  readonly api: RobianApi;
  readonly baseUrl: string;
  readonly session: ListenerSession | undefined;
}

const SAFE_TO_REPEAT = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * The client of a Robian host. With a session, requests carry the listener's access token (renewed
 * before it expires); a 401 on a request without a body (GET, HEAD, DELETE) is retried once after
 * a refresh, which covers a token revoked or expired early on the server.
 */
export function createRobianClient(options: RobianClientOptions): RobianClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const api = createFetchClient<paths>({ baseUrl, fetch: doFetch });
  const { session, adminKey } = options;
  if (adminKey || session) {
    const auth: Middleware = {
      async onRequest({ request }) {
        if (request.headers.has('authorization')) return request;
        const token = adminKey ?? (await session!.accessToken());
        if (token) request.headers.set('authorization', `Bearer ${token}`);
        return request;
      },
      async onResponse({ request, response }) {
        if (response.status !== 401 || adminKey || !session || !SAFE_TO_REPEAT.has(request.method)) return response;
        const renewed = await session.refresh().catch(() => undefined);
        if (!renewed) return response;
        const again = new Request(request);
        again.headers.set('authorization', `Bearer ${renewed.access_token}`);
        return doFetch(again);
      },
    };
    api.use(auth);
  }
  return { api, baseUrl, session };
}
