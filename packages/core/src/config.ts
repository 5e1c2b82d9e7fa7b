import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const TRUE_WORDS = ['1', 'true', 'yes', 'on'] as const;
const FALSE_WORDS = ['0', 'false', 'no', 'off'] as const;
const bool = (fallback: boolean) =>
  oneOf([...TRUE_WORDS, ...FALSE_WORDS], fallback ? 'true' : 'false', 'a boolean (true/false, 1/0, yes/no)').transform((v) =>
    (TRUE_WORDS as readonly string[]).includes(v),
  );

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^-?\d+$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `expected an integer between ${min} and ${max}, got "${v}"` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer between ${min} and ${max}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });

const str = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim()));

const optionalStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function oneOf<T extends string>(values: readonly T[], fallback: T, expected = `one of ${values.join(', ')}`) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if ((values as readonly string[]).includes(v)) return v as T;
      ctx.addIssue({ code: 'custom', message: `expected ${expected}, got "${v}"` });
      return z.NEVER;
    });
}

/** Comma-separated list, or a JSON array as the original API accepted. */
const list = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return [] as string[];
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed.map((x) => x.trim());
      } catch {
        /* fall through to the issue below */
      }
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of strings or a comma-separated list' });
      return z.NEVER;
    }
    return t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  });

export const ENVIRONMENTS = ['development', 'production', 'test'] as const;
export const AUDIO_FORMATS = ['mp3', 'aac', 'opus', 'wav'] as const;

/** Every environment variable Robian's core reads. Plugins read their own through their options. */
export const envSchema = z.object({
  ENVIRONMENT: oneOf(ENVIRONMENTS, 'development'),
  HOST: str('0.0.0.0'),
  PORT: int(8000, 0, 65535),
  DEBUG: bool(false),
  DATA_DIR: str('./data'),
  DATABASE_URL: optionalStr,
  DB_POOL_SIZE: int(10, 1, 1000),
  DB_ECHO: bool(false),
  REDIS_URL: optionalStr,
  REDIS_KEY_PREFIX: str('robian:'),
  CACHE_TTL_DEBATES: int(300, 0, 86400 * 30),
  CACHE_TTL_STREAMING: int(3600, 0, 86400 * 30),
  CACHE_TTL_SEARCH: int(1800, 0, 86400 * 30),
  MAX_CONCURRENT_EXTRACTIONS: int(3, 1, 64),
  EXTRACTION_TIMEOUT: int(1800, 1, 86400),
  AUDIO_FORMAT: oneOf(AUDIO_FORMATS, 'mp3'),
  AUDIO_BITRATE: str('128k'),
  FFMPEG_THREADS: int(0, 0, 64),
  SECRET_KEY: optionalStr,
  ADMIN_API_KEY: optionalStr,
  RATE_LIMIT_PER_MINUTE: int(120, 0, 1_000_000),
  RATE_LIMIT_STRICT_PER_MINUTE: int(20, 0, 1_000_000),
  RATE_LIMIT_PER_IP_PER_MINUTE: z.string().trim().regex(/^\d{1,7}$/, 'expected a number of requests per minute (0 turns it off)').optional(),
  TRUST_PROXY: bool(false),
  TRUSTED_PROXIES: list,
  BACKEND_CORS_ORIGINS: list,
  PROMETHEUS_METRICS: bool(true),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
  LOG_FORMAT: z.string().trim().toLowerCase().optional(),
  SHUTDOWN_TIMEOUT: int(10, 1, 600),
  REQUEST_TIMEOUT: int(30, 1, 3600),
});

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string; url: string }
  | { kind: 'postgresql'; url: string; dbName: string };

export interface RobianConfig {
  environment: (typeof ENVIRONMENTS)[number];
  host: string;
  port: number;
  debug: boolean;
  dataDir: string;
  database: DatabaseConfig;
  dbPoolSize: number;
  dbEcho: boolean;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  cacheTtl: { debates: number; streaming: number; search: number };
  maxConcurrentExtractions: number;
  extractionTimeoutSeconds: number;
  audioFormat: (typeof AUDIO_FORMATS)[number];
  audioBitrate: string;
  ffmpegThreads: number;
  secretKey: string;
  adminApiKey: string;
  /** Requests per minute per client (IP, or account when authenticated); 0 turns the limiter off. */
  rateLimitPerMinute: number;
  /** The stricter limit of the expensive and sensitive routes (extraction, auth); 0 turns it off. */
  rateLimitStrictPerMinute: number;
  /** Requests per minute from one IP, all its accounts and anonymous requests together (default 2 × rateLimitPerMinute); 0 turns it off. */
  rateLimitPerIpPerMinute: number;
  /** Take the client IP from X-Forwarded-For, when the peer is one of `trustedProxies` (client IP for the rate limiter). */
  trustProxy: boolean;
  /** Addresses and CIDR ranges whose X-Forwarded-For is believed (TRUSTED_PROXIES; loopback and private ranges by default). */
  trustedProxies: string[];
  corsOrigins: string[];
  prometheusMetrics: boolean;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  shutdownTimeoutSeconds: number;
  /** Seconds a client has to send a whole request, headers and body (then 408). */
  requestTimeoutSeconds: number;
  /** The raw environment the config was read from, for plugins' own variables. */
  env: Readonly<Record<string, string | undefined>>;
}

const MIN_SECRET_LENGTH = 32;

/** The proxies believed when TRUST_PROXY=true and TRUSTED_PROXIES is empty: loopback and private networks (a proxy on the host, in a container network or a LAN). */
export const DEFAULT_TRUSTED_PROXIES = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'] as const;

/** `203.0.113.7`, `2001:db8::1`, `10.0.0.0/8`, `fd00::/8`. */
export function isAddressOrRange(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseConfig | { error: string } {
  if (url === undefined) {
    const path = join(dataDir, 'robian.db');
    return { kind: 'sqlite', path, url: `sqlite:${path}` };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { error: 'expected a valid postgresql://user@host:port/database URL' };
    }
    const dbName = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    if (!dbName) return { error: 'the postgresql:// URL must name a database, e.g. postgresql://user@127.0.0.1:5432/robian' };
    return { kind: 'postgresql', url, dbName };
  }
  const m = /^sqlite:(?:\/\/)?(.+)$/i.exec(url);
  if (m?.[1]) {
    const path = m[1] === ':memory:' ? ':memory:' : resolve(m[1]);
    return { kind: 'sqlite', path, url: `sqlite:${path}` };
  }
  return { error: `expected postgresql://… or sqlite:<path>, got "${url.replace(/\/\/[^@]*@/, '//***@')}"` };
}

/** Development secrets are generated once and kept under DATA_DIR so that tokens survive restarts. */
function developmentSecret(dataDir: string, name: 'SECRET_KEY' | 'ADMIN_API_KEY'): string {
  const file = join(dataDir, 'secrets.json');
  let stored: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      stored = {};
    }
  }
  const existing = stored[name];
  if (existing && existing.length >= MIN_SECRET_LENGTH) return existing;
  const generated = randomBytes(32).toString('base64url');
  stored[name] = generated;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file); // atomic: a crash never leaves a half-written secrets file
  return generated;
}

/**
 * Reads and validates the configuration from an environment (process.env by default).
 * Throws a ConfigError naming every bad variable and what it expected.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): RobianConfig {
  const result = envSchema.safeParse(env);
  const issues: { variable: string; message: string }[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      issues.push({ variable: String(issue.path[0] ?? '?'), message: issue.message });
    }
    throw new ConfigError(issues);
  }
  const e = result.data;
  const dataDir = resolve(e.DATA_DIR);
  const database = parseDatabaseUrl(e.DATABASE_URL, dataDir);
  if ('error' in database) issues.push({ variable: 'DATABASE_URL', message: database.error });
  if (e.REDIS_URL !== undefined && !/^rediss?:\/\//i.test(e.REDIS_URL)) {
    issues.push({ variable: 'REDIS_URL', message: 'expected a redis://host:port URL' });
  }
  // pretty for a person at a terminal in development, JSON lines everywhere else
  const logFormat = e.LOG_FORMAT === undefined || e.LOG_FORMAT === '' ? (e.ENVIRONMENT === 'development' && process.stdout.isTTY ? 'pretty' : 'json') : e.LOG_FORMAT;
  if (logFormat !== 'json' && logFormat !== 'pretty') issues.push({ variable: 'LOG_FORMAT', message: `expected one of json, pretty, got "${logFormat}"` });
  if (!/^\d{2,3}k$/.test(e.AUDIO_BITRATE)) {
    issues.push({ variable: 'AUDIO_BITRATE', message: `expected a bitrate such as 64k or 128k, got "${e.AUDIO_BITRATE}"` });
  }
  for (const origin of e.BACKEND_CORS_ORIGINS) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      issues.push({ variable: 'BACKEND_CORS_ORIGINS', message: `expected origins such as https://app.example.org (no path), got "${origin}"` });
    }
  }
  for (const entry of e.TRUSTED_PROXIES) {
    if (!isAddressOrRange(entry)) issues.push({ variable: 'TRUSTED_PROXIES', message: `expected IP addresses or CIDR ranges such as 10.0.0.0/8, got "${entry}"` });
  }
  const production = e.ENVIRONMENT === 'production';
  const secret = (name: 'SECRET_KEY' | 'ADMIN_API_KEY'): string => {
    const value = e[name];
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH) return value;
    if (production) {
      issues.push({
        variable: name,
        message:
          value === undefined
            ? `required in production: a random string of at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`
            : `too short (${value.length} characters): at least ${MIN_SECRET_LENGTH} are required in production`,
      });
      return '';
    }
    if (value !== undefined && value.length > 0) return value; // short secrets are tolerated outside production
    return developmentSecret(dataDir, name);
  };
  const secretKey = secret('SECRET_KEY');
  const adminApiKey = secret('ADMIN_API_KEY');
  if (issues.length > 0) throw new ConfigError(issues);

  return {
    environment: e.ENVIRONMENT,
    host: e.HOST,
    port: e.PORT,
    debug: e.DEBUG,
    dataDir,
    database: database as DatabaseConfig,
    dbPoolSize: e.DB_POOL_SIZE,
    dbEcho: e.DB_ECHO,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    cacheTtl: { debates: e.CACHE_TTL_DEBATES, streaming: e.CACHE_TTL_STREAMING, search: e.CACHE_TTL_SEARCH },
    maxConcurrentExtractions: e.MAX_CONCURRENT_EXTRACTIONS,
    extractionTimeoutSeconds: e.EXTRACTION_TIMEOUT,
    audioFormat: e.AUDIO_FORMAT,
    audioBitrate: e.AUDIO_BITRATE,
    ffmpegThreads: e.FFMPEG_THREADS,
    secretKey,
    adminApiKey,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    rateLimitStrictPerMinute: e.RATE_LIMIT_STRICT_PER_MINUTE,
    rateLimitPerIpPerMinute: e.RATE_LIMIT_PER_IP_PER_MINUTE === undefined || e.RATE_LIMIT_PER_IP_PER_MINUTE === '' ? 2 * e.RATE_LIMIT_PER_MINUTE : Number(e.RATE_LIMIT_PER_IP_PER_MINUTE),
    trustProxy: e.TRUST_PROXY,
    trustedProxies: e.TRUSTED_PROXIES.length ? e.TRUSTED_PROXIES : [...DEFAULT_TRUSTED_PROXIES],
    corsOrigins: e.BACKEND_CORS_ORIGINS,
    prometheusMetrics: e.PROMETHEUS_METRICS,
    logLevel: e.LOG_LEVEL,
    logFormat: logFormat as 'json' | 'pretty',
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT,
    requestTimeoutSeconds: e.REQUEST_TIMEOUT,
    env: { ...env },
  };
}
