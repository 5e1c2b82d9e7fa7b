import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RouterContext } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z, type ZodType } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { ForbiddenError, ProblemError, UnauthorizedError, ValidationError, type FieldError } from './errors.ts';
import type { Disposer } from './events.ts';
import { controlCharacterErrors } from './input.ts';
import { JsonBody, ifNoneMatch } from './json-body.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';

/** Who may call a route: anyone, the admin key, or a scheme another plugin registered (e.g. `user`). */
export type RouteAuth = 'none' | 'admin' | (string & {});

export interface Principal {
  kind: 'admin' | 'user' | (string & {});
  id: string;
  [key: string]: unknown;
}

export interface RobianState {
  requestId: string;
  principal?: Principal;
  /** A route handler's plugin, set by the route helper (for logs and metrics). */
  plugin?: string;
  [key: string]: unknown;
}

export type RobianContext = RouterContext<RobianState> & Context;

/**
 * What a handler returns when the route does not answer this request after all, so that the next
 * middleware does (another plugin's route on the same path): `GET /` answers JSON, and leaves a
 * browser's request to the web player.
 */
export const PASS: unique symbol = Symbol('robian.route.pass');

export interface ResponseSpec {
  description: string;
  schema?: ZodType;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
  headers?: Record<string, { description: string; schema?: ZodType }>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteDefinition<P extends ZodType = ZodType, Q extends ZodType = ZodType, B extends ZodType = ZodType> {
  method: HttpMethod;
  /** OpenAPI-style path: `/api/debats/{id}`. */
  path: string;
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  auth?: RouteAuth;
  params?: P;
  query?: Q;
  body?: B;
  /** Status of a successful answer when the handler returns a value (default 200). */
  status?: number;
  responses?: Record<number, ResponseSpec>;
  /** Also answer HEAD for a GET route (default true; Koa's router does it for every GET). */
  deprecated?: boolean;
  /**
   * Returns the response body (sent as JSON with `status`; a `JsonBody` is sent as its bytes with
   * its ETag, and a matching `If-None-Match` gets a 304), or `undefined` when it has set `ctx.body`
   * itself (streams, files, redirects).
   */
  handler: (ctx: RobianContext, input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>) => unknown;
}

/** Turns zod issues into field errors that name where the bad value was. */
export function fieldErrors(where: FieldError['in'], error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    in: where,
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

function parseOrThrow<T extends ZodType>(schema: T | undefined, value: unknown, where: FieldError['in']): z.output<T> | undefined {
  if (!schema) return undefined;
  // one place for every route: no control character (NUL first of all) gets past validation
  const control = controlCharacterErrors(where, value);
  if (control.length) throw new ValidationError(control);
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(fieldErrors(where, result.error));
  return result.data as z.output<T>;
}

export type AuthScheme = (ctx: RobianContext) => Promise<Principal | undefined> | Principal | undefined;

export interface AuthSchemeOptions {
  /**
   * Names the caller of a request cheaply (no database), before routing: a stable id when the
   * request carries a credential of this scheme that verifies, else undefined. Cross-cutting
   * middlewares (the host's rate limiter) key on it.
   */
  identify?: (ctx: Context) => Promise<string | undefined> | string | undefined;
}

/** Named authentication schemes; `admin` is built in, plugins add more (e.g. `user`). */
export class AuthRegistry {
  readonly #schemes = new Map<string, AuthScheme>();
  readonly #identifiers = new Map<string, NonNullable<AuthSchemeOptions['identify']>>();
  readonly #adminKeyDigest: Buffer;

  constructor(adminApiKey: string) {
    this.#adminKeyDigest = createHash('sha256').update(adminApiKey).digest();
  }

  register(name: string, scheme: AuthScheme, options: AuthSchemeOptions = {}): Disposer {
    if (name === 'admin' || name === 'none') throw new Error(`auth scheme "${name}" is reserved`);
    if (this.#schemes.has(name)) throw new Error(`auth scheme "${name}" is already registered`);
    this.#schemes.set(name, scheme);
    if (options.identify) this.#identifiers.set(name, options.identify);
    return () => {
      if (this.#schemes.get(name) === scheme) {
        this.#schemes.delete(name);
        this.#identifiers.delete(name);
      }
    };
  }

  /**
   * Who is calling, without touching the database: `admin` for the admin key, `<scheme>:<id>`
   * when a scheme's `identify` recognises the credential, undefined otherwise (anonymous, or a
   * credential that does not verify). An identifier that throws counts as not recognising.
   */
  async identify(ctx: Context): Promise<string | undefined> {
    if (bearerToken(ctx) === undefined) return undefined;
    if (this.isAdmin(ctx)) return 'admin';
    for (const [name, identify] of this.#identifiers) {
      try {
        const id = await identify(ctx);
        if (id) return `${name}:${id}`;
      } catch {
        /* not this scheme's credential */
      }
    }
    return undefined;
  }

  /** True when the request carries the admin key (constant-time comparison). */
  isAdmin(ctx: Context): boolean {
    const token = bearerToken(ctx);
    if (token === undefined) return false;
    const digest = createHash('sha256').update(token).digest();
    return timingSafeEqual(digest, this.#adminKeyDigest);
  }

  /** Resolves the principal for a route's auth setting, or throws 401/403. */
  async authenticate(ctx: RobianContext, auth: RouteAuth): Promise<void> {
    if (auth === 'none') return;
    if (auth === 'admin') {
      if (bearerToken(ctx) === undefined) throw new UnauthorizedError('This route needs `Authorization: Bearer <ADMIN_API_KEY>`.');
      if (!this.isAdmin(ctx)) throw new ForbiddenError('The bearer token is not the admin key.');
      ctx.state.principal = { kind: 'admin', id: 'admin' };
      return;
    }
    const optional = auth.endsWith('?');
    const name = optional ? auth.slice(0, -1) : auth;
    const scheme = this.#schemes.get(name);
    if (!scheme) {
      if (optional) return;
      throw new ProblemError(501, 'auth-scheme-missing', 'Not implemented', `No plugin provides the "${name}" authentication scheme.`);
    }
    const principal = await scheme(ctx);
    if (principal) ctx.state.principal = principal;
    else if (!optional) throw new UnauthorizedError();
  }
}

export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

const toKoaPath = (path: string) => path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');

/**
 * The OpenAPI document, built from the zod schemas of the registered routes: the schemas that
 * validate requests are the ones documented.
 */
export class OpenApiRegistry {
  readonly #operations = new Map<string, { owner: string; path: string; method: HttpMethod; operation: ZodOpenApiOperationObject }>();
  #cached: ReturnType<typeof createDocument> | undefined;
  info: { title: string; version: string; description?: string } = { title: 'Robian API', version: '0.0.0' };
  servers: { url: string }[] = [];

  add(owner: string, path: string, method: HttpMethod, operation: ZodOpenApiOperationObject): Disposer {
    const key = `${method.toUpperCase()} ${path}`;
    const existing = this.#operations.get(key);
    if (existing) throw new Error(`route ${key} is already registered by plugin "${existing.owner}"`);
    this.#operations.set(key, { owner, path, method, operation });
    this.#cached = undefined;
    return () => {
      this.#operations.delete(key);
      this.#cached = undefined;
    };
  }

  routes(): { method: string; path: string; owner: string }[] {
    return [...this.#operations.values()].map((o) => ({ method: o.method.toUpperCase(), path: o.path, owner: o.owner }));
  }

  document(): ReturnType<typeof createDocument> {
    if (this.#cached) return this.#cached;
    const paths: ZodOpenApiPathsObject = {};
    const sorted = [...this.#operations.values()].sort((a, b) => a.path.localeCompare(b.path));
    for (const { path, method, operation } of sorted) {
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[method] = operation;
    }
    this.#cached = createDocument({
      openapi: '3.1.0',
      info: this.info,
      servers: this.servers,
      paths,
      components: {
        securitySchemes: {
          adminKey: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY' },
          userToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A listener access token' },
        },
      },
    });
    return this.#cached;
  }
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ in: z.enum(['body', 'query', 'path', 'header']), field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});

/**
 * A plugin's router. Every route it adds is recorded under the plugin's name (documentation
 * included) and removed when the plugin stops.
 */
export class PluginRouter {
  readonly owner: string;
  readonly koa: Router<RobianState>;
  readonly #openapi: OpenApiRegistry;
  readonly #auth: AuthRegistry;
  readonly #disposers: Disposer[] = [];

  constructor(owner: string, openapi: OpenApiRegistry, auth: AuthRegistry) {
    this.owner = owner;
    this.koa = new Router<RobianState>();
    this.#openapi = openapi;
    this.#auth = auth;
  }

  /** A validated, documented route. */
  route<P extends ZodType = ZodType, Q extends ZodType = ZodType, B extends ZodType = ZodType>(def: RouteDefinition<P, Q, B>): void {
    const auth = def.auth ?? 'none';
    const status = def.status ?? 200;
    const responses: Record<string, unknown> = {};
    for (const [code, spec] of Object.entries(def.responses ?? {})) {
      responses[code] = {
        description: spec.description,
        ...(spec.headers
          ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([k, v]) => [k, { description: v.description, schema: v.schema ?? z.string() }])) }
          : {}),
        ...(spec.schema || spec.contentType
          ? { content: { [spec.contentType ?? 'application/json']: { schema: spec.schema ?? z.string() } } }
          : {}),
      };
    }
    if (def.params || def.query || def.body) responses['422'] ??= problemResponse('A parameter or field is invalid (the problem names it)');
    if (def.body) responses['400'] ??= problemResponse('The body is not valid JSON');
    if (auth !== 'none' && !auth.endsWith('?')) {
      responses['401'] ??= problemResponse('Authentication is missing');
      responses['403'] ??= problemResponse('Authentication is not allowed here');
    }
    const operation: ZodOpenApiOperationObject = {
      ...(def.operationId ? { operationId: def.operationId } : {}),
      ...(def.summary ? { summary: def.summary } : {}),
      ...(def.description ? { description: def.description } : {}),
      tags: def.tags ?? [this.owner],
      ...(def.deprecated ? { deprecated: true } : {}),
      ...(auth === 'admin' ? { security: [{ adminKey: [] }] } : auth !== 'none' ? { security: [{ userToken: [] }] } : {}),
      requestParams: {
        ...(def.params ? { path: def.params as never } : {}),
        ...(def.query ? { query: def.query as never } : {}),
      },
      ...(def.body ? { requestBody: { content: { 'application/json': { schema: def.body } } } } : {}),
      responses: responses as ZodOpenApiOperationObject['responses'],
    };
    this.#disposers.push(this.#openapi.add(this.owner, def.path, def.method, operation));

    const owner = this.owner;
    const authRegistry = this.#auth;
    const middleware: Middleware<RobianState> = async (koaCtx, next) => {
      const ctx = koaCtx as unknown as RobianContext;
      ctx.state.plugin = owner;
      await authRegistry.authenticate(ctx, auth);
      const params = parseOrThrow(def.params, ctx.params, 'path');
      const query = parseOrThrow(def.query, ctx.query, 'query');
      let body: unknown;
      if (def.body) {
        const hasBody = Boolean(ctx.request.length) || ctx.get('transfer-encoding') !== '';
        if (hasBody && !ctx.is('application/json') && !ctx.is('+json')) {
          throw new ProblemError(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body as application/json.');
        }
        body = parseOrThrow(def.body, (ctx.request as { body?: unknown }).body ?? {}, 'body');
      }
      const result = await def.handler(ctx, { params, query, body } as RouteInput<z.output<P>, z.output<Q>, z.output<B>>);
      if (result === PASS) return next();
      if (result instanceof JsonBody) {
        ctx.set('ETag', result.etag);
        if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ifNoneMatch(ctx.get('if-none-match'), result.etag)) {
          ctx.status = 304;
          ctx.body = null;
        } else {
          ctx.status = status;
          ctx.type = 'application/json; charset=utf-8';
          ctx.body = result.bytes;
        }
      } else if (result !== undefined) {
        ctx.status = status;
        ctx.body = result;
      } else if (ctx.body === undefined && ctx.status === 404) {
        ctx.status = 204;
      }
    };
    const koaPath = toKoaPath(def.path);
    // `/api/debats/` and `/api/debats` both answer (documented once, with the slash)
    const paths = koaPath.length > 1 && koaPath.endsWith('/') ? [koaPath, koaPath.slice(0, -1)] : [koaPath];
    this.koa.register(paths, [def.method === 'head' ? 'HEAD' : def.method.toUpperCase()], middleware as never);
  }

  /** Routes this plugin answers that are not JSON operations (documented by hand if at all). */
  get raw(): Router<RobianState> {
    return this.koa;
  }

  dispose(): void {
    while (this.#disposers.length) this.#disposers.pop()?.();
  }
}
