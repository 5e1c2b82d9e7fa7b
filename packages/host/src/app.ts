import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import cors from '@koa/cors';
import { bodyParser } from '@koa/bodyparser';
import compose from 'koa-compose';
import {
  ProblemError,
  RequestContext,
  RobianKernel,
  createLogger,
  loadConfig,
  requestScope,
  type Disposer,
  type HttpServerAccess,
  type KernelOptions,
  type Logger,
  type PluginInput,
  type RobianConfig,
  type RobianState,
} from '@robian/core';
import { catalogPlugin } from './plugins/catalog.ts';
import { docsPlugin } from './plugins/docs.ts';
import { systemPlugin } from './plugins/system.ts';
import { originalPlugin } from './plugins/original.ts';
import { transcriptsPlugin } from './plugins/transcripts.ts';
import { HOST_VERSION } from './version.ts';
import { RateLimiter, securityHeaders } from './security.ts';
import { TrustedProxies, clientAddress } from './proxy.ts';
import { redactUrl, statusTitle, toProblem } from './problems.ts';

export interface RobianOptions {
  /** Defaults to loadConfig(process.env). */
  config?: RobianConfig;
  logger?: Logger;
  /** Plugins besides the built-in system, docs and catalog plugins. */
  plugins?: PluginInput[];
  /** Leave out the built-in plugins (embedding Robian with your own catalogue). */
  builtins?: boolean;
  migrateOnStart?: KernelOptions['migrateOnStart'];
  /** Per-request log lines (default: on at LOG_LEVEL info/debug). */
  requestLogging?: boolean;
  /** Collect Node's process metrics (default true). */
  defaultMetrics?: boolean;
  /** Run plugins' background work such as extraction workers (default true). */
  workers?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Koa's and its middlewares' errors carry `status`/`expose`; ours are ProblemErrors. */
/**
 * A Robian instance: the kernel (plugins, database, cache) and the Koa application serving it.
 * `callback()` is a plain `(req, res)` handler, so any Node server can mount it.
 */
export class Robian {
  readonly kernel: RobianKernel;
  readonly app: Koa<RobianState>;
  readonly config: RobianConfig;
  readonly logger: Logger;
  /** Per-client limits (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_STRICT_PER_MINUTE), Redis-backed when REDIS_URL is set. */
  readonly rateLimiter: RateLimiter;
  readonly #servers = new Set<Server>();
  readonly #attachments = new Set<(server: Server) => void | (() => void)>();
  readonly #detachers = new Map<Server, (() => void)[]>();
  #inFlight = 0;

  constructor(options: RobianOptions = {}) {
    this.config = options.config ?? loadConfig();
    this.logger = options.logger ?? createLogger({ level: this.config.logLevel, format: this.config.logFormat });
    const kernelPlugins: PluginInput[] = [];
    // the kernel is created first so that built-in plugins can read its registries
    this.kernel = new RobianKernel({
      config: this.config,
      logger: this.logger,
      plugins: kernelPlugins,
      ...(options.migrateOnStart === undefined ? {} : { migrateOnStart: options.migrateOnStart }),
      ...(options.defaultMetrics === undefined ? {} : { defaultMetrics: options.defaultMetrics }),
      ...(options.workers === undefined ? {} : { workers: options.workers }),
    });
    if (options.builtins !== false) kernelPlugins.push(systemPlugin(this.kernel), originalPlugin(this.kernel), docsPlugin(this.kernel, HOST_VERSION), catalogPlugin, transcriptsPlugin);
    kernelPlugins.push(...(options.plugins ?? []));
    this.rateLimiter = new RateLimiter(this.config, this.kernel.auth, this.logger.child({ component: 'rate-limit' }));
    const access: HttpServerAccess = { attach: (fn) => this.#attach(fn) };
    this.kernel.services.provide('http.server', access, 'host');
    this.app = this.#buildApp(options.requestLogging ?? ['debug', 'trace', 'info'].includes(this.config.logLevel));
  }

  #attach(fn: (server: Server) => void | (() => void)): Disposer {
    this.#attachments.add(fn);
    for (const server of this.#servers) this.#runAttach(server, fn);
    return () => {
      this.#attachments.delete(fn);
    };
  }

  #runAttach(server: Server, fn: (server: Server) => void | (() => void)): void {
    const detach = fn(server);
    if (typeof detach === 'function') {
      const list = this.#detachers.get(server) ?? [];
      list.push(detach);
      this.#detachers.set(server, list);
    }
  }

  /** Lets Robian know about an HTTP server it is mounted on (done by `listen`; call it when embedding). */
  attachServer(server: Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    for (const fn of this.#attachments) this.#runAttach(server, fn);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #buildApp(requestLogging: boolean): Koa<RobianState> {
    // Koa's own proxy mode believes X-Forwarded-For from anyone: the client address is set by
    // clientAddress() below instead, from X-Forwarded-For only when the peer is a trusted proxy
    const app = new Koa<RobianState>({ proxy: false });
    const kernel = this.kernel;
    const logger = this.logger;
    const metrics = kernel.metrics;
    const duration = metrics.histogram({
      name: 'robian_http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    const inFlight = metrics.gauge({ name: 'robian_http_requests_in_flight', help: 'HTTP requests being served' });
    metrics.gauge({
      name: 'robian_cache_hits_total',
      help: 'Cache hits (memory and Redis) since start',
      collect() {
        this.set(kernel.cache.stats.hits);
      },
    });
    metrics.gauge({
      name: 'robian_cache_misses_total',
      help: 'Cache misses since start',
      collect() {
        this.set(kernel.cache.stats.misses);
      },
    });
    metrics.gauge({
      name: 'robian_cache_redis_up',
      help: '1 when the Redis L2 is reachable, 0 when down, -1 when not configured',
      collect() {
        this.set(kernel.cache.redisEnabled ? (kernel.cache.redisReady ? 1 : 0) : -1);
      },
    });

    app.on('error', () => {
      /* every error is answered and logged by the first middleware */
    });

    // 0. the client's address (TRUST_PROXY, TRUSTED_PROXIES)
    app.use(clientAddress(TrustedProxies.of(this.config)) as Koa.Middleware);

    // 1. request id, problem+json errors, access log, metrics
    app.use(async (ctx, next) => {
      const incoming = ctx.get('x-request-id');
      const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
      ctx.state.requestId = requestId;
      ctx.set('X-Request-Id', requestId);
      const start = performance.now();
      this.#inFlight++;
      inFlight.inc();
      try {
        await requestScope.run({ requestId }, next);
        if (ctx.status === 404 && ctx.body === undefined) {
          throw new ProblemError(404, 'not-found', 'Not found', `No route answers ${ctx.method} ${ctx.path}.`);
        }
        // the router's own answers (wrong method on a known path, unknown method) in the one error shape
        if ((ctx.status === 405 || ctx.status === 501) && (ctx.body === undefined || typeof ctx.body === 'string')) {
          const allow = ctx.response.get('Allow');
          throw new ProblemError(
            ctx.status,
            ctx.status === 405 ? 'method-not-allowed' : 'not-implemented',
            ctx.status === 405 ? 'Method not allowed' : 'Not implemented',
            ctx.status === 405 ? `${ctx.path} answers ${allow || 'other methods'}, not ${ctx.method}.` : `The method ${ctx.method} is not supported.`,
            {},
            allow ? { Allow: allow } : {},
          );
        }
        // other errors answered in plain text by a middleware become problems too
        if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null || typeof ctx.body === 'string') && !ctx.response.is('application/problem+json')) {
          const status = ctx.status;
          ctx.type = 'application/problem+json';
          ctx.body = { type: 'about:blank', title: statusTitle(status), status, instance: ctx.path, request_id: requestId };
          ctx.status = status;
        }
      } catch (err) {
        const problem = toProblem(err, ctx as unknown as Koa.Context, requestId);
        if (problem.unexpected) requestScope.run({ requestId }, () => logger.error({ err, method: ctx.method, url: redactUrl(ctx.url) }, 'request failed'));
        else if (problem.status >= 500) requestScope.run({ requestId }, () => logger.warn({ method: ctx.method, url: redactUrl(ctx.url), status: problem.status, reason: (err as Error).message }, 'request refused'));
        ctx.status = problem.status;
        ctx.set(problem.headers);
        ctx.type = 'application/problem+json';
        ctx.body = problem.body;
      } finally {
        this.#inFlight--;
        inFlight.dec();
        const seconds = (performance.now() - start) / 1000;
        const route = (ctx as unknown as { _matchedRoute?: string | RegExp })._matchedRoute;
        duration.observe({ method: ctx.method, route: route ? String(route) : 'unmatched', status: String(ctx.status) }, seconds);
        if (requestLogging) {
          requestScope.run({ requestId }, () => logger.info({ method: ctx.method, url: redactUrl(ctx.url), status: ctx.status, ms: Math.round(seconds * 10000) / 10 }, 'request'));
        }
      }
    });

    // 2. security headers (CSP, no framing, nosniff, no referrer, HSTS)
    app.use(securityHeaders() as Koa.Middleware);

    // 3. CORS from BACKEND_CORS_ORIGINS
    const origins = this.config.corsOrigins;
    if (origins.length > 0) {
      app.use(
        cors({
          origin: (ctx) => {
            const origin = ctx.get('origin');
            if (origins.includes('*')) return '*';
            return origins.includes(origin) ? origin : '';
          },
          credentials: !origins.includes('*'),
          exposeHeaders: ['X-Request-Id', 'Content-Range', 'Accept-Ranges', 'Content-Length', 'ETag', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
          maxAge: 600,
        }),
      );
    }

    // 4. per-client rate limits, before any body is read
    app.use(this.rateLimiter.middleware() as Koa.Middleware);

    // 5. JSON bodies only, bounded
    app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }) as Koa.Middleware);

    // 6. one MikroORM context per request
    app.use((ctx, next) => {
      if (kernel.state !== 'started') return next();
      return RequestContext.create(kernel.orm.em, next);
    });

    // 7. the routers of the started plugins, recomposed when the set changes
    let composed: Koa.Middleware | undefined;
    let composedFrom: unknown[] = [];
    app.use((ctx, next) => {
      const routers = kernel.routers();
      if (!composed || routers.length !== composedFrom.length || routers.some((r, i) => r !== composedFrom[i])) {
        composed = compose(routers.flatMap((r) => [r.koa.routes(), r.koa.allowedMethods()]) as never) as Koa.Middleware;
        composedFrom = routers;
      }
      return composed(ctx as never, next);
    });
    return app as Koa<RobianState>;
  }

  /** Starts the kernel (database, migrations, cache, plugins). */
  async start(): Promise<void> {
    await this.kernel.start();
    await this.rateLimiter.start();
  }

  /** The `(req, res)` handler, to mount Robian in any Node HTTP server. */
  callback(): ReturnType<Koa['callback']> {
    return this.app.callback();
  }

  /** Starts the kernel and listens on PORT/HOST (or the given ones). */
  async listen(port = this.config.port, host = this.config.host): Promise<Server> {
    await this.start();
    // a client gets REQUEST_TIMEOUT seconds to send its headers and whole body (then 408 and the
    // connection is closed): a partial body is not held for Node's default 300 s
    const requestTimeout = this.config.requestTimeoutSeconds * 1000;
    const server = await new Promise<Server>((resolve, reject) => {
      const s = createServer({ requestTimeout, headersTimeout: Math.min(66_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeout / 4)) }, this.app.callback());
      s.listen(port, host);
      s.once('listening', () => resolve(s));
      s.once('error', reject);
    });
    server.keepAliveTimeout = 65_000;
    this.attachServer(server);
    return server;
  }

  /**
   * Graceful stop: stop accepting, let in-flight requests finish (up to SHUTDOWN_TIMEOUT), then
   * stop the plugins and close the database and Redis.
   */
  async close(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeoutSeconds * 1000;
    await Promise.all(
      [...this.#servers].map(async (server) => {
        for (const detach of this.#detachers.get(server) ?? []) {
          try {
            detach();
          } catch (err) {
            this.logger.warn({ err }, 'detach from server failed');
          }
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // keep-alive connections become idle as their last response ends: close them as they do
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
        timer.unref();
        await closed;
        clearInterval(sweep);
        clearTimeout(timer);
      }),
    );
    this.#servers.clear();
    await this.kernel.stop();
    await this.rateLimiter.close();
  }
}

export function createRobian(options: RobianOptions = {}): Robian {
  return new Robian(options);
}
