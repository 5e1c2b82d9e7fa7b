import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError, ForbiddenError, UnauthorizedError, bearerToken, type AuthRegistry, type RobianConfig, type RobianContext } from '@robian/core';

const MIN_TOKEN_LENGTH = 16;
const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/**
 * Who may read `/health/detailed` and `/metrics` (they show the storage root, binary paths and
 * versions, instance ids). `OBSERVABILITY_PUBLIC` (default: false in production, true elsewhere)
 * opens them to anyone; otherwise they need `Authorization: Bearer <METRICS_TOKEN>` or the admin key.
 * `/health` stays public.
 */
export class ObservabilityAccess {
  readonly public: boolean;
  readonly #tokenDigest: Buffer | undefined;
  readonly #auth: AuthRegistry;

  constructor(config: RobianConfig, auth: AuthRegistry) {
    this.#auth = auth;
    const env = config.env;
    const raw = (env.OBSERVABILITY_PUBLIC ?? '').trim().toLowerCase();
    const issues: { variable: string; message: string }[] = [];
    if (raw && !TRUE.includes(raw) && !FALSE.includes(raw)) issues.push({ variable: 'OBSERVABILITY_PUBLIC', message: `expected true or false, got "${raw}"` });
    this.public = raw ? TRUE.includes(raw) : config.environment !== 'production';
    const token = env.METRICS_TOKEN?.trim();
    if (token && token.length < MIN_TOKEN_LENGTH) issues.push({ variable: 'METRICS_TOKEN', message: `too short (${token.length} characters): at least ${MIN_TOKEN_LENGTH}` });
    if (issues.length) throw new ConfigError(issues);
    this.#tokenDigest = token ? createHash('sha256').update(token).digest() : undefined;
  }

  /** Throws 401/403 unless the route is public or the caller sent the metrics token or the admin key. */
  check(ctx: RobianContext): void {
    if (this.public) return;
    const token = bearerToken(ctx);
    if (token === undefined) throw new UnauthorizedError('This route needs `Authorization: Bearer <METRICS_TOKEN>` (or the admin key); OBSERVABILITY_PUBLIC=true opens it.');
    if (this.#auth.isAdmin(ctx)) return;
    if (this.#tokenDigest && timingSafeEqual(createHash('sha256').update(token).digest(), this.#tokenDigest)) return;
    throw new ForbiddenError('The bearer token is neither METRICS_TOKEN nor the admin key.');
  }
}
