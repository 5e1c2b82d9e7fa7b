import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ProblemError } from '@robian/core';

export interface FetcherSettings {
  /** host:port values that may be fetched (exact, lower case). */
  allowedHosts: () => Set<string>;
  maxConcurrent: number;
  /** Requests in flight at once to one host (default: maxConcurrent). */
  maxPerHost?: number;
  maxRetries: number;
  retryBaseMs: number;
  maxRetryAfterSeconds: number;
  userAgent: string;
  /** Waits (overridable in tests); resolves early when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A failure to fetch from the parliament's hosts: a 502 for API callers, a clear line for the CLI. */
export class FetchError extends ProblemError {
  readonly url: string;
  readonly httpStatus: number | undefined;
  constructor(url: string, message: string, httpStatus?: number) {
    super(502, 'upstream-fetch-failed', 'Bad gateway', `${message} (${url})`, { upstream_url: url, ...(httpStatus ? { upstream_status: httpStatus } : {}) });
    this.name = 'FetchError';
    this.url = url;
    this.httpStatus = httpStatus;
  }
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * True when the platform is throttling us (429 or 503 after the retries, or a `Retry-After` longer
 * than accepted): the caller stops its run there and leaves the rest to the next one, instead of
 * carrying on against a host that asked to be left alone, or storing a half-read sitting.
 */
export function isThrottled(err: unknown): err is FetchError {
  return err instanceof FetchError && (err.httpStatus === 429 || err.httpStatus === 503);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Validators of a conditional GET (from the previous answer), and what the server said. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** Decodes a body as UTF-8 (BOM dropped), or as Latin-1 when it is not valid UTF-8 (the AN's SRT files). */
export function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Polite HTTP for the parliament's hosts: only allowed hosts (redirects included), bounded
 * concurrency, retries with exponential backoff and jitter on 429/5xx/network errors, `Retry-After`
 * honoured (up to a ceiling), a timeout per attempt and a size cap on bodies.
 */
export class PoliteFetcher {
  readonly #settings: FetcherSettings;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /** Per host: requests in flight, the waiting ones, and no request before `notBefore` (backoff, Retry-After). */
  readonly #hosts = new Map<string, { active: number; waiting: (() => void)[]; notBefore: number }>();
  /** Requests sent (attempts), for tests and metrics. */
  attempts = 0;
  /** Waits before a retry (429, 5xx, network errors). */
  backoffs = 0;

  constructor(settings: FetcherSettings) {
    this.#settings = settings;
  }

  checkAllowed(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchError(url.href, `refusing a ${url.protocol} URL`);
    if (url.username || url.password) throw new FetchError(url.href, 'refusing a URL with credentials');
    if (!this.#settings.allowedHosts().has(url.host.toLowerCase())) {
      throw new FetchError(url.href, `host ${url.host} is not one of the plugin's hosts (${[...this.#settings.allowedHosts()].join(', ')})`);
    }
  }

  #host(host: string) {
    let h = this.#hosts.get(host);
    if (!h) {
      h = { active: 0, waiting: [], notBefore: 0 };
      this.#hosts.set(host, h);
    }
    return h;
  }

  /**
   * Takes a slot of the host (`maxPerHost`), then one of the `maxConcurrent` slots, after the host's
   * backoff if one runs; the returned function gives both back (once).
   */
  async #acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    const h = this.#host(host);
    if (h.active < (this.#settings.maxPerHost ?? this.#settings.maxConcurrent)) h.active++;
    else await new Promise<void>((resolve) => h.waiting.push(resolve)); // the host slot is handed over
    const wait = h.notBefore - Date.now();
    if (wait > 0) {
      try {
        await (this.#settings.sleep ?? defaultSleep)(wait, signal);
      } catch (err) {
        this.#releaseHost(h);
        throw err;
      }
    }
    if (this.#active < this.#settings.maxConcurrent) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve)); // the slot is handed over
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
      this.#releaseHost(h);
    };
  }

  #releaseHost(h: { active: number; waiting: (() => void)[] }): void {
    const next = h.waiting.shift();
    if (next) next();
    else h.active--;
  }

  /** Holds every request to `host` until `ms` from now (a 429 or 503 slows the whole host, not one request). */
  #slowDown(host: string, ms: number): void {
    const h = this.#host(host);
    h.notBefore = Math.max(h.notBefore, Date.now() + ms);
  }

  /** Requests in flight (for tests). */
  get active(): number {
    return this.#active;
  }

  /** GETs a URL and gives the response (body unread) once it is a 2xx; redirects only to allowed hosts. */
  async #get(url: URL, timeoutMs: number, signal: AbortSignal | undefined, accept: string, validators?: Validators): Promise<{ response: Response; url: URL; release: () => void }> {
    const sleep = this.#settings.sleep ?? defaultSleep;
    let attempt = 0;
    for (;;) {
      this.checkAllowed(url);
      let delayMs: number | undefined;
      let failure: FetchError;
      // one slot per attempt, held until the caller has read the body
      const release = await this.#acquire(url.host.toLowerCase(), signal);
      try {
        const attemptSignal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]);
        let current = url;
        let response: Response;
        let hops = 0;
        for (;;) {
          this.attempts++;
          const headers: Record<string, string> = { 'user-agent': this.#settings.userAgent, accept };
          if (validators?.etag) headers['if-none-match'] = validators.etag;
          if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
          response = await fetch(current, { redirect: 'manual', signal: attemptSignal, headers });
          if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
            await response.body?.cancel();
            if (++hops > 5) throw new FetchError(url.href, 'too many redirects');
            current = new URL(response.headers.get('location')!, current);
            this.checkAllowed(current);
            continue;
          }
          break;
        }
        if (response.ok || (response.status === 304 && validators)) {
          return { response, url: current, release };
        }
        await response.body?.cancel();
        failure = new FetchError(current.href, `HTTP ${response.status}`, response.status);
        if (!RETRYABLE.has(response.status)) throw failure;
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        if (retryAfter !== undefined) {
          if (retryAfter > this.#settings.maxRetryAfterSeconds) {
            throw new FetchError(current.href, `HTTP ${response.status} with Retry-After ${retryAfter}s (longer than the ${this.#settings.maxRetryAfterSeconds}s accepted)`, response.status);
          }
          delayMs = retryAfter * 1000;
        }
      } catch (err) {
        release();
        if (err instanceof FetchError) {
          if (err.httpStatus === undefined || !RETRYABLE.has(err.httpStatus) || /Retry-After/.test(err.message)) throw err;
          failure = err;
        } else if (signal?.aborted) {
          throw signal.reason ?? err;
        } else {
          const e = err as Error & { cause?: { code?: string; message?: string } };
          const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message;
          failure = new FetchError(url.href, `request failed: ${reason}`);
        }
      }
      release();
      if (attempt >= this.#settings.maxRetries) throw failure;
      const backoff = this.#settings.retryBaseMs * 2 ** attempt;
      const wait = delayMs ?? Math.round(backoff / 2 + Math.random() * (backoff / 2));
      attempt++;
      if (failure.httpStatus === 429 || failure.httpStatus === 503) this.#slowDown(url.host.toLowerCase(), wait);
      this.backoffs++;
      await sleep(wait, signal);
    }
  }

  /** The body of a page as text, refused beyond `maxBytes`. */
  async text(input: string | URL, options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal; accept?: string; latin1Fallback?: boolean }): Promise<{ text: string; url: string }> {
    const { response, url, release } = await this.#get(new URL(input), options.timeoutMs, options.signal, options.accept ?? 'text/html,application/xml;q=0.9,*/*;q=0.8');
    try {
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > options.maxBytes) {
        await response.body?.cancel();
        throw new FetchError(url.href, `body of ${declared} bytes is larger than the ${options.maxBytes} accepted`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > options.maxBytes) throw new FetchError(url.href, `body larger than the ${options.maxBytes} bytes accepted`);
        chunks.push(Buffer.from(chunk));
      }
      const body = Buffer.concat(chunks);
      return { text: options.latin1Fallback ? decodeText(body) : body.toString('utf8').replace(/^\uFEFF/, ''), url: url.href };
    } finally {
      release();
    }
  }

  /** Downloads to `target` (through a temporary name, renamed when complete). */
  async download(
    input: string | URL,
    target: string,
    options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal; onBytes?: (n: number, total?: number) => void; validators?: Validators },
  ): Promise<{ bytes: number; url: string; notModified?: boolean; validators: Validators }> {
    const { response, url, release } = await this.#get(new URL(input), options.timeoutMs, options.signal, '*/*', options.validators);
    const partial = `${target}.partial`;
    const validators: Validators = {
      ...(response.headers.get('etag') ? { etag: response.headers.get('etag')! } : {}),
      ...(response.headers.get('last-modified') ? { lastModified: response.headers.get('last-modified')! } : {}),
    };
    if (response.status === 304) {
      await response.body?.cancel();
      release();
      return { bytes: 0, url: url.href, notModified: true, validators: { ...options.validators, ...validators } };
    }
    try {
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > options.maxBytes) {
        await response.body?.cancel();
        throw new FetchError(url.href, `download of ${declared} bytes is larger than the ${options.maxBytes} accepted`);
      }
      let size = 0;
      const total = Number.isFinite(declared) ? declared : undefined;
      const counter = async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          size += chunk.byteLength;
          if (size > options.maxBytes) throw new FetchError(url.href, `download larger than the ${options.maxBytes} bytes accepted`);
          options.onBytes?.(size, total);
          yield chunk;
        }
      };
      await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), counter, createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, target);
      return { bytes: size, url: url.href, validators };
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    } finally {
      release();
    }
  }
}
