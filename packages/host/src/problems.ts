import type Koa from 'koa';
import { ProblemError } from '@robian/core';

/** Seconds a client is told to wait when the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Network failures and the PostgreSQL states that mean "the server is not there right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const UNAVAILABLE_MESSAGE = /Connection terminated|connection (is )?(closed|lost)|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

/** True when an error (or one it wraps) says the database cannot be reached: a 503 with Retry-After, not a 500. */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e = err as { name?: string; code?: unknown; sqlState?: unknown; message?: unknown; cause?: unknown; previous?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if (e.name === 'ConnectionException') return true;
    const code = typeof e.code === 'string' ? e.code : typeof e.sqlState === 'string' ? e.sqlState : '';
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
    e = (e.cause ?? e.previous) as typeof e;
  }
  return false;
}

/** zlib's errors when a body announced as gzip/deflate/br is not. */
const isBadEncoding = (e: { code?: unknown }) => typeof e.code === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR_FORMAT_PADDING_1)/.test(e.code);

export interface AnsweredProblem {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** Our own failure, logged as an error with its stack; the other 5xx (501, 503) are not bugs. */
  unexpected: boolean;
}

/** Any error thrown by a route or a middleware as the problem+json answer it gets. */
export function toProblem(err: unknown, ctx: Koa.Context, requestId: string): AnsweredProblem {
  if (err instanceof ProblemError) return { status: err.status, body: err.toProblem(ctx.path, requestId) as unknown as Record<string, unknown>, headers: err.headers, unexpected: false };
  const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string; code?: unknown };
  if (isBadEncoding(e)) {
    const detail = `The body is not valid ${ctx.get('content-encoding') || 'compressed data'} as its Content-Encoding says.`;
    return { status: 400, body: { type: 'https://robian.dev/problems/bad-request', title: 'Bad request', status: 400, detail, instance: ctx.path, request_id: requestId }, headers: {}, unexpected: false };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      body: {
        type: 'https://robian.dev/problems/service-unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: `The database cannot be reached right now; retry in ${DATABASE_RETRY_AFTER_SECONDS} s.`,
        instance: ctx.path,
        request_id: requestId,
      },
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
      unexpected: false,
    };
  }
  const status = e.status ?? e.statusCode;
  if (status && status >= 400 && status < 500) {
    const detail =
      e.type === 'entity.parse.failed' || (err instanceof SyntaxError && status === 400)
        ? 'The body is not valid JSON.'
        : e.type === 'entity.too.large'
          ? 'The body is too large.'
          : e.type === 'request.aborted'
            ? 'The request was aborted before its body was complete.'
            : e.expose && e.message
              ? e.message
              : undefined;
    return {
      status,
      body: { type: 'about:blank', title: statusTitle(status), status, ...(detail ? { detail } : {}), instance: ctx.path, request_id: requestId },
      headers: {},
      unexpected: false,
    };
  }
  return {
    status: 500,
    body: {
      type: 'https://robian.dev/problems/internal-error',
      title: 'Internal server error',
      status: 500,
      detail: `Something went wrong on our side. Quote request id ${requestId} when reporting it.`,
      instance: ctx.path,
      request_id: requestId,
    },
    headers: {},
    unexpected: true,
  };
}

export function statusTitle(status: number): string {
  return (
    { 400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 408: 'Request timeout', 413: 'Payload too large', 415: 'Unsupported media type', 429: 'Too many requests' }[status] ??
    'Client error'
  );
}

/** Query parameters whose values are credentials: written `[redacted]` in logs. */
const SECRET_PARAMS = /([?&](?:signature|token|access_token|refresh_token|code)=)[^&#]*/gi;

/** A request URL fit for a log line: the signature of a signed audio URL (and any token) redacted. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}
