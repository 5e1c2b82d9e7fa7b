import { PLUGIN_API_VERSION, definePlugin, type PluginContext } from '@robian/core';
import type { Context, Next } from 'koa';
import { WebFiles, type WebFile } from './files.ts';

export const PLAYER_PLUGIN = 'player';

/**
 * The page's own Content-Security-Policy (the host's default forbids everything, for JSON):
 * scripts, styles, fonts and the manifest from the host only, audio from the host (and blob: for
 * the live relay's MSE player), the API and socket.io on the same origin; deputies' photos may be
 * on the parliament's site, so images are the one thing allowed from https.
 */
export const PLAYER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The service worker's own policy: a worker is governed by the CSP of its script's response, and the
 * host's default (`default-src 'none'`) would forbid the fetches that cache the shell, so it could
 * never install. It fetches and caches same-origin files, nothing else.
 */
export const WORKER_CSP = "default-src 'none'; connect-src 'self'";

/** Top-level files the page names directly (everything else is under /assets/). */
const TOP_FILES = ['/manifest.webmanifest', '/sw.js', '/icon.svg', '/icon-maskable.svg'];

/**
 * Serves the web player: `GET /` to browsers (a request whose Accept prefers HTML to JSON; JSON
 * clients fall through to the API's own answer at `/`), its content-hashed assets, manifest and
 * service worker. Nothing is fetched from elsewhere: the bundle is built into this package.
 */
export class PlayerSite {
  readonly files: WebFiles;
  readonly #ctx: PluginContext;

  constructor(ctx: PluginContext, root?: string) {
    this.#ctx = ctx;
    this.files = new WebFiles(root);
  }

  register(): void {
    if (!this.files.built) {
      this.#ctx.logger.warn({ root: this.files.root }, 'web player not built (pnpm --filter @robian/player build): / answers JSON only');
      return;
    }
    const r = this.#ctx.router.raw;
    r.get('/', (koa: Context, next: Next) => {
      if (koa.accepts('json', 'html') !== 'html') return next();
      koa.vary('Accept');
      koa.set('Content-Security-Policy', PLAYER_CSP);
      this.#send(koa, this.files.get('/index.html')!);
      return undefined;
    });
    r.get('/assets/:file', (koa: Context, next: Next) => {
      const file = this.files.get(`/assets/${koa.params.file ?? ''}`);
      if (!file) return next();
      this.#send(koa, file);
      return undefined;
    });
    for (const path of TOP_FILES) {
      const file = this.files.get(path);
      if (!file) continue;
      r.get(path, (koa: Context) => {
        // the service worker may control the whole origin's pages
        if (path === '/sw.js') {
          koa.set('Service-Worker-Allowed', '/');
          koa.set('Content-Security-Policy', WORKER_CSP);
        }
        this.#send(koa, file);
      });
    }
  }

  #send(koa: Context, file: WebFile): void {
    koa.set('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    koa.set('ETag', file.etag);
    koa.vary('Accept-Encoding');
    if (koa.get('if-none-match') === file.etag) {
      koa.status = 304;
      return;
    }
    koa.type = file.type;
    if (file.gzip && koa.acceptsEncodings('gzip', 'identity') === 'gzip') {
      koa.set('Content-Encoding', 'gzip');
      koa.body = file.gzip;
    } else koa.body = file.body;
  }
}

export interface PlayerOptions {
  /** A folder with another build of the player (default: the one inside this package). */
  root?: string;
}

/** The web player as a plugin; `robian serve` loads it among the official plugins. */
export function createPlayerPlugin(options: PlayerOptions = {}) {
  return definePlugin({
    name: PLAYER_PLUGIN,
    version: '0.1.0',
    apiVersion: PLUGIN_API_VERSION,
    description: 'The web player at / (browse, search, listen), built with Vite and served from the host',
    setup(ctx) {
      new PlayerSite(ctx, options.root).register();
    },
  });
}

export const playerPlugin = createPlayerPlugin();
