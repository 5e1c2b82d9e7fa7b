import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { createClient } from '@redis/client';
import { ProblemError, type AuthRegistry, type Logger, type RobianConfig } from '@robian/core';

/**
 * Security headers for a JSON API (koa-helmet over helmet): a CSP that forbids everything
 * (the docs pages set their own), no framing, no MIME sniffing, no referrer, HSTS. Resources
 * are readable cross-origin (`Cross-Origin-Resource-Policy: cross-origin`) because the API and
 * its audio are public and meant to be used from other origins (CORS still governs scripts).
 */
export function securityHeaders(): Middleware {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
  }) as Middleware;
}

/** Which requests count against the stricter limit: expensive (extraction) and sensitive (auth) routes. */
export function isStrictRoute(method: string, path: string): boolean {
  if (method !== 'POST') return false;
  return path.startsWith('/api/auth/') || /^\/api\/(debats\/[^/]+\/extract|streaming\/[^/]+\/extract)\/?$/.test(path);
}

/** Never limited: liveness probes and metrics scrapes, CORS preflights. */
function isExempt(method: string, path: string): boolean {
  return method === 'OPTIONS' || path === '/health' || path.startsWith('/health/') || path === '/metrics';
}

interface Decision {
  scope: 'general' | 'strict' | 'ip';
  limit: number;
  res: RateLimiterRes;
  allowed: boolean;
}

/**
 * Per-client rate limiting: RATE_LIMIT_PER_MINUTE for every route, and also
 * RATE_LIMIT_STRICT_PER_MINUTE for the strict ones. A client is its account when the request
 * carries a credential that verifies (AuthRegistry.identify), its IP otherwise; the admin key is
 * not limited. With REDIS_URL the counters live in Redis (keys under REDIS_KEY_PREFIX), so the
 * limit holds across instances; while Redis is unreachable each instance falls back to memory.
 */
export class RateLimiter {
  readonly general: RateLimiterAbstract | undefined;
  readonly strict: RateLimiterAbstract | undefined;
  readonly perIp: RateLimiterAbstract | undefined;
  readonly #redis: ReturnType<typeof createClient> | undefined;
  readonly #auth: AuthRegistry;
  readonly #logger: Logger;

  constructor(config: RobianConfig, auth: AuthRegistry, logger: Logger) {
    this.#auth = auth;
    this.#logger = logger;
    const enabled = config.rateLimitPerMinute > 0 || config.rateLimitStrictPerMinute > 0 || config.rateLimitPerIpPerMinute > 0;
    if (enabled && config.redisUrl) {
      this.#redis = createClient({
        url: config.redisUrl,
        // commands fail at once while disconnected, so the memory insurance limiter answers instead
        disableOfflineQueue: true,
        socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3000) },
      });
      this.#redis.on('error', (err: unknown) => this.#logger.debug({ err }, 'rate limiter: redis error'));
    }
    const make = (name: string, points: number): RateLimiterAbstract | undefined => {
      if (points <= 0) return undefined;
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: `ratelimit:${name}` });
      if (!this.#redis) return memory;
      return new RateLimiterRedis({
        storeClient: this.#redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        points,
        duration: 60,
        keyPrefix: `${config.redisKeyPrefix}ratelimit:${name}`,
        insuranceLimiter: memory,
      });
    };
    this.general = make('general', config.rateLimitPerMinute);
    // every request of an IP, whatever account it carries: free device accounts do not multiply the limit
    this.perIp = make('ip', config.rateLimitPerIpPerMinute);
    this.strict = make('strict', config.rateLimitStrictPerMinute);
  }

  get usesRedis(): boolean {
    return this.#redis !== undefined;
  }

  async start(): Promise<void> {
    if (this.#redis && !this.#redis.isOpen) {
      const redis = this.#redis;
      // never block start-up: a Redis that is down is retried in the background
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          redis.connect(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('connect timeout')), 3000);
          }),
        ]);
      } catch (err) {
        this.#logger.warn({ err: (err as Error).message }, 'rate limiter: Redis unreachable, limiting in memory until it is back');
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    if (!redis?.isOpen) return;
    if (!redis.isReady) {
      redis.destroy(); // still trying to connect: stop the retries
      return;
    }
    try {
      await redis.close();
    } catch {
      redis.destroy();
    }
  }

  async #consume(scope: Decision['scope'], limiter: RateLimiterAbstract, key: string): Promise<Decision> {
    const limit = limiter.points;
    try {
      return { scope, limit, res: await limiter.consume(key), allowed: true };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { scope, limit, res: err, allowed: false };
      throw err;
    }
  }

  middleware(): Middleware {
    return async (ctx, next) => {
      if ((!this.general && !this.strict && !this.perIp) || isExempt(ctx.method, ctx.path)) return next();
      const who = await this.#auth.identify(ctx);
      if (who === 'admin') return next();
      const key = who ?? `ip:${ctx.ip}`;
      const decisions: Decision[] = [];
      try {
        if (this.general) decisions.push(await this.#consume('general', this.general, key));
        if (this.perIp && decisions.every((d) => d.allowed)) decisions.push(await this.#consume('ip', this.perIp, `ip:${ctx.ip}`));
        if (this.strict && isStrictRoute(ctx.method, ctx.path) && decisions.every((d) => d.allowed)) decisions.push(await this.#consume('strict', this.strict, key));
      } catch (err) {
        // the limiter must not take the API down with it: log and let the request through
        this.#logger.error({ err }, 'rate limiter failed; request let through');
        return next();
      }
      if (decisions.length === 0) return next(); // only the strict limit is on, and this route is not strict
      const blocked = decisions.find((d) => !d.allowed);
      const shown = blocked ?? decisions.reduce((a, b) => (b.res.remainingPoints < a.res.remainingPoints ? b : a));
      const reset = Math.max(1, Math.ceil(shown.res.msBeforeNext / 1000));
      const headers: Record<string, string> = {
        'RateLimit-Limit': String(shown.limit),
        'RateLimit-Remaining': String(Math.max(0, shown.res.remainingPoints)),
        'RateLimit-Reset': String(reset),
      };
      if (blocked) {
        throw new ProblemError(
          429,
          'rate-limited',
          'Too many requests',
          `At most ${blocked.limit} requests per minute${blocked.scope === 'strict' ? ' on this route' : blocked.scope === 'ip' ? ' from one address, all its accounts together' : ''}: retry in ${reset} s.`,
          { retry_after_seconds: reset, limit_scope: blocked.scope },
          { ...headers, 'Retry-After': String(reset) },
        );
      }
      ctx.set(headers);
      return next();
    };
  }
}
