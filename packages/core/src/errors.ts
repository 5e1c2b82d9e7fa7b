/**
 * RFC 9457 problem details. Every error that leaves Robian over HTTP has this shape;
 * `errors` names the offending fields for validation failures.
 */
export interface FieldError {
  /** Where the value came from: `body`, `query`, `path`, `header`. */
  in: 'body' | 'query' | 'path' | 'header';
  /** Dotted path of the field, e.g. `per_page` or `audio_files.0.format`. */
  field: string;
  message: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const TYPE_BASE = 'https://robian.dev/problems/';

export class ProblemError extends Error {
  readonly status: number;
  readonly problemType: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail?: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
    this.status = status;
    this.problemType = slug.startsWith('http') ? slug : TYPE_BASE + slug;
    this.title = title;
    this.detail = detail;
    this.extensions = extensions;
    this.headers = headers;
  }

  toProblem(instance?: string, requestId?: string): ProblemDetails {
    return {
      type: this.problemType,
      title: this.title,
      status: this.status,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(instance === undefined ? {} : { instance }),
      ...(requestId === undefined ? {} : { request_id: requestId }),
      ...this.extensions,
    };
  }
}

export class ValidationError extends ProblemError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[]) {
    const first = errors[0];
    const detail = first
      ? `${first.in} field "${first.field}": ${first.message}` + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : '')
      : 'The request is invalid.';
    super(422, 'validation-error', 'Invalid request', detail, { errors });
    this.errors = errors;
  }
}

export class BadRequestError extends ProblemError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(400, 'bad-request', 'Bad request', detail, extensions);
  }
}

export class NotFoundError extends ProblemError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(404, 'not-found', 'Not found', detail, extensions);
  }
}

export class ConflictError extends ProblemError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(409, 'conflict', 'Conflict', detail, extensions);
  }
}

export class UnauthorizedError extends ProblemError {
  constructor(detail = 'Authentication is required.') {
    super(401, 'unauthorized', 'Unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends ProblemError {
  constructor(detail = 'You are not allowed to do this.') {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

export class ServiceUnavailableError extends ProblemError {
  constructor(detail: string, retryAfterSeconds?: number) {
    super(503, 'service-unavailable', 'Service unavailable', detail, {}, retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {});
  }
}

/** A configuration error: names the variable (or plugin option) and what it expected. */
export class ConfigError extends Error {
  readonly issues: { variable: string; message: string }[];
  constructor(issues: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** An error in the plugin graph or lifecycle (missing dependency, cycle, duplicate name, bad apiVersion). */
export class PluginError extends Error {
  readonly plugins: string[];
  constructor(message: string, plugins: string[] = []) {
    super(message);
    this.name = 'PluginError';
    this.plugins = plugins;
  }
}
