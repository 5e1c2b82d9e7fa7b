import { randomUUID } from 'node:crypto';
import {
  ProblemError,
  UnauthorizedError,
  bearerToken,
  type EntityManager,
  type PluginContext,
  type Principal,
  type RobianContext,
} from '@robian/core';
import type { Context } from 'koa';
import {
  ListenerAccountSchema,
  ListenerCollectionSchema,
  ListenerFavoriteSchema,
  ListenerLinkCodeSchema,
  ListenerProgressSchema,
  ListenerRefreshTokenSchema,
  ListenerSessionSchema,
  LISTENER_TABLES,
  type ListenerSession,
} from './entities.ts';
import type { ListenersOptions } from './options.ts';
import { AccessTokens, newLinkCode, newRefreshToken, parseLinkCode, sameDigest, sha256 } from './tokens.ts';
import {
  deviceBody,
  linkCodeView,
  logoutBody,
  meView,
  redeemBody,
  refreshBody,
  tokenPairView,
} from './wire.ts';

export interface ListenerPrincipal extends Principal {
  kind: 'user';
  id: string;
  sessionId: string;
}

const iso = (d: Date | string | number) => new Date(d).toISOString();

/** The account of the request (routes with `auth: 'user'` have one). */
export function listenerOf(koa: RobianContext): ListenerPrincipal {
  const p = koa.state.principal;
  if (!p || p.kind !== 'user') throw new UnauthorizedError('This route needs a listener access token (POST /api/auth/device).');
  return p as ListenerPrincipal;
}

const invalidGrant = (detail: string) => new ProblemError(401, 'invalid-grant', 'Invalid grant', detail, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

/**
 * Device accounts: anonymous accounts created by a device, short-lived JWT access tokens,
 * rotated refresh tokens (one family per device session), one-time link codes and erasure.
 */
export class Accounts {
  readonly ctx: PluginContext<ListenersOptions>;
  readonly tokens: AccessTokens;

  constructor(ctx: PluginContext<ListenersOptions>) {
    this.ctx = ctx;
    this.tokens = new AccessTokens(ctx.config.secretKey, ctx.options.accessTokenTtlSeconds);
  }

  get em(): EntityManager {
    return this.ctx.em;
  }

  /** The `user` auth scheme: a valid access token whose session is alive. */
  async authenticate(koa: Context): Promise<ListenerPrincipal | undefined> {
    const token = bearerToken(koa);
    if (token === undefined) return undefined;
    if (this.ctx.auth.registry.isAdmin(koa)) throw new UnauthorizedError('The admin key is not a listener token: use an access token from POST /api/auth/device.');
    let claims;
    try {
      claims = await this.tokens.verify(token);
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new ProblemError(
        401,
        expired ? 'token-expired' : 'invalid-token',
        'Unauthorized',
        expired ? 'The access token has expired: get a new one with POST /api/auth/refresh.' : 'The access token is not valid.',
        {},
        { 'WWW-Authenticate': `Bearer error="invalid_token"${expired ? ', error_description="expired"' : ''}` },
      );
    }
    const session = await this.em.findOne(ListenerSessionSchema, { id: claims.sessionId }, { fields: ['id', 'revokedAt', 'account'] as never });
    if (!session || session.revokedAt || (session.account as unknown as { id: string }).id !== claims.accountId) {
      throw new ProblemError(401, 'session-ended', 'Unauthorized', 'This session has ended (logged out, revoked or account deleted).', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    return { kind: 'user', id: claims.accountId, sessionId: claims.sessionId };
  }

  /** The account id of a verifying token, without the database (rate-limit key). */
  async identify(koa: Context): Promise<string | undefined> {
    const token = bearerToken(koa);
    if (token === undefined) return undefined;
    return (await this.tokens.verify(token)).accountId;
  }

  async #issue(em: EntityManager, accountId: string, sessionId: string) {
    const refresh = newRefreshToken();
    const ttl = this.ctx.options.refreshTokenTtlDays * 86400;
    em.create(ListenerRefreshTokenSchema, {
      session: sessionId,
      tokenHash: sha256(refresh),
      expiresAt: new Date(Date.now() + ttl * 1000),
    } as never);
    await em.flush();
    return {
      access_token: await this.tokens.sign({ accountId, sessionId }),
      token_type: 'Bearer' as const,
      expires_in: this.tokens.ttlSeconds,
      refresh_token: refresh,
      refresh_token_expires_in: ttl,
      account_id: accountId,
      session_id: sessionId,
    };
  }

  async #newSession(em: EntityManager, accountId: string, deviceName: string | undefined) {
    const sessionId = randomUUID();
    em.create(ListenerSessionSchema, { id: sessionId, account: accountId, deviceName: deviceName ?? null } as never);
    return this.#issue(em, accountId, sessionId);
  }

  register(): void {
    const { router } = this.ctx;
    const tags = ['listeners: accounts'];

    router.route({
      method: 'post',
      path: '/api/auth/device',
      operationId: 'registerDevice',
      summary: 'Create an anonymous listener account for this device',
      description: 'Returns a short-lived access token (JWT) and a refresh token. Keep the refresh token in the device keychain.',
      tags,
      body: deviceBody,
      status: 201,
      responses: { 201: { description: 'The new account and its tokens', schema: tokenPairView } },
      handler: async (_koa, { body }) => {
        const em = this.em;
        const accountId = randomUUID();
        em.create(ListenerAccountSchema, { id: accountId } as never);
        return this.#newSession(em, accountId, body.device_name);
      },
    });

    router.route({
      method: 'post',
      path: '/api/auth/refresh',
      operationId: 'refreshTokens',
      summary: 'Exchange a refresh token for a new pair (the old one stops working)',
      description:
        'Refresh tokens are single-use. Presenting one that was already exchanged ends the whole session (every token of its family), since it means the token was copied.',
      tags,
      body: refreshBody,
      responses: { 200: { description: 'A new pair', schema: tokenPairView }, 401: { description: 'Unknown, expired, reused or revoked refresh token' } },
      handler: async (_koa, { body }) => {
        const em = this.em;
        const row = await em.findOne(ListenerRefreshTokenSchema, { tokenHash: sha256(body.refresh_token) }, { populate: ['session'] as never });
        if (!row) throw invalidGrant('Unknown refresh token.');
        const session = row.session as unknown as ListenerSession;
        const now = new Date();
        if (session.revokedAt) throw invalidGrant('This session has ended.');
        const accountId = (session.account as unknown as { id: string }).id;
        if (row.rotatedAt) {
          await this.#revokeSession(em, session.id, now);
          this.ctx.logger.warn({ session: session.id }, 'refresh token reused: session revoked');
          throw invalidGrant('This refresh token was already used: the session is revoked. Sign in again.');
        }
        if (new Date(row.expiresAt) <= now) throw invalidGrant('The refresh token has expired.');
        // exactly one exchange wins, even when two arrive at once
        const won = await em.nativeUpdate(ListenerRefreshTokenSchema, { id: row.id, rotatedAt: null } as never, { rotatedAt: now } as never);
        if (won !== 1) {
          await this.#revokeSession(em, session.id, now);
          throw invalidGrant('This refresh token was already used: the session is revoked. Sign in again.');
        }
        await em.nativeDelete(ListenerRefreshTokenSchema, { session: session.id, expiresAt: { $lt: now } } as never);
        await em.nativeUpdate(ListenerSessionSchema, { id: session.id } as never, { lastUsedAt: now } as never);
        await em.nativeUpdate(ListenerAccountSchema, { id: accountId } as never, { lastSeenAt: now } as never);
        em.clear();
        return this.#issue(em, accountId, session.id);
      },
    });

    router.route({
      method: 'post',
      path: '/api/auth/logout',
      operationId: 'logout',
      summary: 'End this session (or every session of the account)',
      description: 'Authenticate with the access token, or send the refresh token of the session to end (when the access token has expired).',
      tags,
      auth: 'user?',
      body: logoutBody,
      status: 204,
      responses: { 204: { description: 'Ended' }, 401: { description: 'Neither a valid access token nor a refresh token' } },
      handler: async (koa, { body }) => {
        const em = this.em;
        const now = new Date();
        let accountId: string | undefined;
        let sessionId: string | undefined;
        const principal = koa.state.principal as ListenerPrincipal | undefined;
        if (principal) {
          accountId = principal.id;
          sessionId = principal.sessionId;
        } else if (body.refresh_token) {
          const row = await em.findOne(ListenerRefreshTokenSchema, { tokenHash: sha256(body.refresh_token) }, { populate: ['session'] as never });
          const session = row?.session as unknown as ListenerSession | undefined;
          if (!row || !session || session.revokedAt || row.rotatedAt || new Date(row.expiresAt) <= now) throw invalidGrant('Unknown, used or expired refresh token.');
          sessionId = session.id;
          accountId = (session.account as unknown as { id: string }).id;
        } else {
          throw new UnauthorizedError('Send the access token, or the refresh token of the session to end.');
        }
        if (body.all_devices) {
          await em.nativeUpdate(ListenerSessionSchema, { account: accountId, revokedAt: null } as never, { revokedAt: now } as never);
          await em.nativeDelete(ListenerLinkCodeSchema, { account: accountId } as never);
        } else await this.#revokeSession(em, sessionId, now);
        koa.status = 204;
        return undefined;
      },
    });

    router.route({
      method: 'post',
      path: '/api/auth/link',
      operationId: 'createLinkCode',
      summary: 'Get a one-time code that lets another device join this account',
      description: 'The code expires after a few minutes, works once, and is burned after a few wrong tries.',
      tags,
      auth: 'user',
      status: 201,
      responses: { 201: { description: 'The code', schema: linkCodeView } },
      handler: async (koa) => {
        const me = listenerOf(koa);
        const em = this.em;
        const now = new Date();
        await em.nativeDelete(ListenerLinkCodeSchema, { $or: [{ account: me.id }, { expiresAt: { $lt: now } }] } as never);
        const ttl = this.ctx.options.linkCodeTtlSeconds;
        const expiresAt = new Date(now.getTime() + ttl * 1000);
        for (let attempt = 0; ; attempt++) {
          const code = newLinkCode();
          try {
            await em.insert(ListenerLinkCodeSchema, { account: me.id, lookup: code.lookup, secretHash: sha256(code.secret), attempts: 0, createdAt: now, expiresAt } as never);
            return { code: code.display, expires_at: expiresAt.toISOString(), expires_in: ttl, max_attempts: this.ctx.options.linkCodeMaxAttempts };
          } catch (err) {
            if (attempt >= 5 || !isUniqueViolation(err)) throw err;
          }
        }
      },
    });

    router.route({
      method: 'post',
      path: '/api/auth/link/redeem',
      operationId: 'redeemLinkCode',
      summary: 'Join an account with a code shown on another device',
      tags,
      body: redeemBody,
      status: 201,
      responses: { 201: { description: 'Tokens for the same account', schema: tokenPairView }, 400: { description: 'Wrong, used or expired code' } },
      handler: async (_koa, { body }) => {
        const wrong = () => new ProblemError(400, 'invalid-link-code', 'Invalid code', 'This code is wrong, expired or already used.');
        const parsed = parseLinkCode(body.code);
        if (!parsed) throw wrong();
        const em = this.em;
        const now = new Date();
        const row = await em.findOne(ListenerLinkCodeSchema, { lookup: parsed.lookup });
        if (!row) throw wrong();
        if (new Date(row.expiresAt) <= now || row.attempts >= this.ctx.options.linkCodeMaxAttempts) {
          await em.nativeDelete(ListenerLinkCodeSchema, { id: row.id } as never);
          throw wrong();
        }
        if (!sameDigest(row.secretHash, sha256(parsed.secret))) {
          // count the failure atomically; the code is burned at the limit
          await em.getConnection().execute('update listener_link_code set attempts = attempts + 1 where id = ?', [row.id], 'run');
          if (row.attempts + 1 >= this.ctx.options.linkCodeMaxAttempts) await em.nativeDelete(ListenerLinkCodeSchema, { id: row.id } as never);
          throw wrong();
        }
        // one-time: only the request that deletes the row gets the tokens
        const deleted = await em.nativeDelete(ListenerLinkCodeSchema, { id: row.id } as never);
        if (deleted !== 1) throw wrong();
        const accountId = (row.account as unknown as { id: string }).id;
        em.clear();
        return this.#newSession(em, accountId, body.device_name);
      },
    });

    router.route({
      method: 'get',
      path: '/api/me',
      operationId: 'getMe',
      summary: 'The listener account: its sessions and what it owns',
      tags,
      auth: 'user',
      responses: { 200: { description: 'The account', schema: meView } },
      handler: async (koa) => {
        const me = listenerOf(koa);
        const em = this.em;
        const account = await em.findOne(ListenerAccountSchema, { id: me.id });
        if (!account) throw new UnauthorizedError('This account no longer exists.');
        const sessions = await em.find(ListenerSessionSchema, { account: me.id, revokedAt: null } as never, { orderBy: { createdAt: 'asc' } as never });
        const [collections, favorites, progress] = await Promise.all([
          em.count(ListenerCollectionSchema, { account: me.id } as never),
          em.count(ListenerFavoriteSchema, { account: me.id } as never),
          em.count(ListenerProgressSchema, { account: me.id } as never),
        ]);
        return {
          id: account.id,
          created_at: iso(account.createdAt),
          sessions: sessions.map((s) => ({
            id: s.id,
            device_name: s.deviceName ?? null,
            created_at: iso(s.createdAt),
            last_used_at: iso(s.lastUsedAt),
            current: s.id === me.sessionId,
          })),
          collections_count: collections,
          favorites_count: favorites,
          progress_count: progress,
        };
      },
    });

    router.route({
      method: 'delete',
      path: '/api/me',
      operationId: 'deleteMe',
      summary: 'Erase the account and everything it owns (collections, favorites, positions, sessions)',
      tags,
      auth: 'user',
      status: 204,
      responses: { 204: { description: 'Erased' } },
      handler: async (koa) => {
        const me = listenerOf(koa);
        await this.erase(me.id);
        koa.status = 204;
        return undefined;
      },
    });
  }

  async #revokeSession(em: EntityManager, sessionId: string, now: Date): Promise<void> {
    await em.nativeUpdate(ListenerSessionSchema, { id: sessionId, revokedAt: null } as never, { revokedAt: now } as never);
    await em.nativeDelete(ListenerRefreshTokenSchema, { session: sessionId } as never);
  }

  /**
   * Deletes an account and every row it owns, children first, in one transaction. The foreign
   * keys cascade too; the explicit deletes keep erasure complete even where they would not.
   */
  async erase(accountId: string): Promise<void> {
    const em = this.em;
    await em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const trx = tx.getTransactionContext();
      const sessionIds = `select id from listener_session where account_id = ?`;
      const collectionIds = `select id from listener_collection where account_id = ?`;
      const statements: Record<(typeof LISTENER_TABLES)[number], string> = {
        listener_progress: 'delete from listener_progress where account_id = ?',
        listener_favorite: 'delete from listener_favorite where account_id = ?',
        listener_collection_item: `delete from listener_collection_item where collection_id in (${collectionIds})`,
        listener_collection: 'delete from listener_collection where account_id = ?',
        listener_link_code: 'delete from listener_link_code where account_id = ?',
        listener_refresh_token: `delete from listener_refresh_token where session_id in (${sessionIds})`,
        listener_session: 'delete from listener_session where account_id = ?',
        listener_account: 'delete from listener_account where id = ?',
      };
      for (const table of LISTENER_TABLES) await conn.execute(statements[table], [accountId], 'run', trx);
    });
    em.clear();
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return e?.name === 'UniqueConstraintViolationException' || e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}
