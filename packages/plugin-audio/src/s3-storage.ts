import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat as statFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { FORMATS, MIME_TYPES, type AudioFormat } from './renditions.ts';
import { slice } from './s3-bodies.ts';
import { S3RangeClient } from './s3-range-client.ts';
import { nodeHttpAnswer, rangeClientAnswer, type SignedAnswer } from './s3-signed-get.ts';
import { abortStaleUploads } from './s3-stale-uploads.ts';
import { LocalAudioStorage, assertKey, type AudioStorage, type StaleUploadReport, type StoredFile, type UrlOptions } from './storage.ts';

export interface S3StorageConfig {
  bucket: string;
  /** An S3-compatible server; unset for AWS S3 (`https://s3.<region>.amazonaws.com`). */
  endpoint?: string | undefined;
  region: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`. Default: on with an endpoint, off for AWS. */
  forcePathStyle?: boolean | undefined;
  /** Static credentials; without them, the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
  /** Prepended to every key; empty or ending in `/`. */
  prefix?: string | undefined;
  /** Local folder for the files FFmpeg writes before their upload (DATA_DIR/tmp/audio). */
  tempDir: string;
  partSizeBytes?: number;
  queueSize?: number;
  maxSockets?: number;
  presignTtlSeconds?: number;
  /** Redirect mode: `<publicBaseUrl>/<prefix><key>` for inline plays (a CDN or a public bucket). */
  publicBaseUrl?: string | undefined;
  /** Tests: resolves host names (virtual-host addressing on 127.0.0.1). */
  lookup?: http.AgentOptions['lookup'];
}

const MIN_PART = 5 * 1024 * 1024;

/** Life of the presigned URLs the proxy reads objects with (renewed at half: well inside any credentials' life). */
const READ_URL_TTL = 900;

/** What a GET of an object answered, by either path of `open`. */
interface ObjectRead {
  body: Readable;
  contentRange: string | undefined;
  contentLength: number | undefined;
  etag?: string;
}

/** An S3 error that means "no such object" (HeadObject answers a bare 404, GetObject NoSuchKey). */
const isMissing = (err: unknown) =>
  err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404);

const gone = (key: string, why: string) => Object.assign(new Error(`${key}: ${why}`), { code: 'ENOENT' });

function contentTypeOf(key: string): string {
  const m = /\/([a-z0-9]+)-/.exec(key);
  const format = m?.[1] as AudioFormat | undefined;
  return format && FORMATS.includes(format) ? MIME_TYPES[format] : 'application/octet-stream';
}

/** A server without an operation answers 501 NotImplemented (s3rver: ListMultipartUploads). */

/** RFC 3986 encoding, as SigV4 canonicalises it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Renditions as objects of an S3-compatible bucket (`<prefix><debate>/<rendition>.<ext>`).
 * FFmpeg still writes a local temp file (an MP4 with `+faststart` needs a seekable output); `put`
 * streams it up as a multipart upload (at most `partSize × queueSize` bytes in memory), and the
 * object exists only once the upload completed: S3 never shows a half-written object. Validators:
 * size, LastModified and the object's ETag, checked on every read so that a replaced object fails
 * (ENOENT) instead of mixing two versions' bytes.
 */
export class S3AudioStorage implements AudioStorage {
  readonly kind = 's3';
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  readonly temp: LocalAudioStorage;
  readonly config: S3StorageConfig;
  readonly origins: string[];
  readonly #presigner: S3RequestPresigner;
  readonly #base: URL;
  readonly #pathStyle: boolean;
  readonly #agent: http.Agent;
  /** The proxy's GETs of objects on an http: endpoint (https: ones go through node:https, decisions § S3, 11). */
  readonly ranges: S3RangeClient | undefined;
  /** Presigned URLs handed out while they still have at least half their life (redirect mode). */
  readonly #urls = new Map<string, { url: string; renewAt: number }>();

  constructor(config: S3StorageConfig) {
    this.config = config;
    this.bucket = config.bucket;
    this.prefix = config.prefix ?? '';
    this.temp = new LocalAudioStorage(config.tempDir);
    this.#base = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
    // a bucket name with dots does not fit a TLS wildcard certificate: path-style then
    this.#pathStyle = config.forcePathStyle ?? (config.endpoint !== undefined || this.bucket.includes('.'));
    const port = this.#base.port || (this.#base.protocol === 'https:' ? '443' : '80');
    this.origins = [`${this.#pathStyle ? '' : `${this.bucket}.`}${this.#base.hostname}:${port}`];
    const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: config.maxSockets ?? 1024, ...(config.lookup ? { lookup: config.lookup } : {}) };
    this.#agent = this.#base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.ranges =
      this.#base.protocol === 'http:'
        ? new S3RangeClient({ origin: `http://${this.origins[0]}`, maxSockets: config.maxSockets ?? 1024, lookup: config.lookup })
        : undefined;
    const clientConfig: S3ClientConfig = {
      region: config.region,
      forcePathStyle: this.#pathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      // S3-compatible servers reject (or store) the CRC32 trailers SDK ≥ 3.729 adds by default
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: this.#agent as http.Agent, httpsAgent: this.#agent as https.Agent, connectionTimeout: 10_000 },
      maxAttempts: 3,
    };
    this.client = new S3Client(clientConfig);
    this.#presigner = new S3RequestPresigner({ ...this.client.config });
  }

  objectKey(key: string): string {
    assertKey(key);
    return `${this.prefix}${key}`;
  }

  /** Where the object is, for messages and logs (no credentials). */
  describe(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  tempPath(key: string): Promise<string> {
    return this.temp.tempPath(key);
  }

  /** Uploads a complete file under `key`, then removes the local file (a move, like the local storage's rename). */
  async put(key: string, fromPath: string): Promise<StoredFile> {
    // hashed here, from the local file still in the page cache, rather than read back from S3 (audio_file.checksum)
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(fromPath, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    const stored = await this.upload(key, fromPath, { sha256 });
    await rm(fromPath, { force: true });
    return { ...stored, sha256 };
  }

  /**
   * Uploads a file under `key` (multipart, streamed: at most partSize × queueSize in memory) and
   * leaves it in place. `sha256` is kept as object metadata (`x-amz-meta-sha256`, see `checksum`).
   */
  async upload(key: string, fromPath: string, o: { sha256?: string } = {}): Promise<StoredFile> {
    const objectKey = this.objectKey(key);
    const local = await statFile(fromPath);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: objectKey,
        Body: createReadStream(fromPath, { highWaterMark: 1024 * 1024 }),
        ContentType: contentTypeOf(key),
        // renditions never change under a key without a new upload: CDNs may keep them
        CacheControl: 'public, max-age=604800, immutable',
        ...(o.sha256 ? { Metadata: { sha256: o.sha256 } } : {}),
      },
      partSize: Math.max(MIN_PART, this.config.partSizeBytes ?? 8 * 1024 * 1024),
      queueSize: this.config.queueSize ?? 4,
      // a failed upload is aborted: its parts are removed, no object appears
      leavePartsOnError: false,
    });
    await upload.done();
    const stored = await this.stat(key);
    if (!stored || stored.size !== local.size) {
      throw new Error(`${this.describe(key)}: uploaded ${local.size} bytes, the server holds ${stored?.size ?? 'nothing'}`);
    }
    return stored;
  }

  /**
   * The bytes of an object from `range.start`. Read with a plain GET of a presigned URL of the
   * object (kept while it has half its life, as the redirect mode does): the SDK's command stack
   * cost ~1 ms of CPU per range, as much as the bytes (docs/performance.md § Audio on S3). A 403 (an
   * URL signed with credentials rotated since), a failed connection or an answer S3RangeClient cannot
   * frame goes through the SDK instead, with its retries.
   */
  async open(key: string, range?: { start: number; end: number }, expected?: StoredFile): Promise<Readable> {
    const read = (await this.#readSigned(key, range, expected)) ?? (await this.#readSdk(key, range, expected));
    const { body } = read;
    // servers that ignore If-Match (some S3-compatible ones) are checked here: never two versions' bytes
    const total = read.contentRange ? Number(/\/(\d+)$/.exec(read.contentRange)?.[1]) : read.contentLength;
    if (expected && ((expected.etag && read.etag && read.etag !== expected.etag) || total !== expected.size)) {
      body.destroy();
      throw gone(key, 'replaced since it was looked up');
    }
    if (!range || read.contentRange === `bytes ${range.start}-${range.end}/${total}`) return body;
    // a server that ignored the range (200, whole object) or answered a wider one (s3rver with `bytes=0-0`)
    const m = read.contentRange ? /^bytes (\d+)-(\d+)\//.exec(read.contentRange) : undefined;
    const [from, to] = m ? [Number(m[1]), Number(m[2])] : [0, Number(total) - 1];
    if (from <= range.start && to >= range.end) return slice(body, range.start - from, range.end - range.start + 1);
    body.destroy();
    throw new Error(`${this.describe(key)}: asked for bytes ${range.start}-${range.end}, the server answered ${read.contentRange}`);
  }

  /**
   * A range for the proxy route (`serveFile` uses it for answers up to `loadMaxBytes`): one GET of the
   * presigned URL with the range and `If-Match`, its body collected, which the route writes corked
   * with the headers: one socket write, no stream (docs/performance.md § Audio on S3). On an http:
   * endpoint the GET goes through S3RangeClient (keep-alive sockets, the body read into one buffer);
   * on https: through node:https. An answer that is not exactly the bytes asked for (a server that
   * ignored the range, a 403, a failed connection) is read again through `open`.
   */
  async load(key: string, range: { start: number; end: number }, expected?: StoredFile): Promise<Buffer[]> {
    const res = await this.#getSigned(key, range, expected);
    if (res && res.status === 206) {
      const contentRange = res.contentRange;
      const total = Number(/\/(\d+)$/.exec(contentRange ?? '')?.[1]);
      const etag = res.etag;
      // the bytes asked for, of the version looked up: anything else is read again through open's checks
      const end = Math.min(range.end, total - 1);
      if (contentRange === `bytes ${range.start}-${end}/${total}` && (!expected || (total === expected.size && (!expected.etag || !etag || etag === expected.etag)))) {
        return res.collect(end - range.start + 1);
      }
    }
    if (res) this.#refuse(key, res);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(key, range, expected)) chunks.push(chunk as Buffer);
    return chunks;
  }

  /** The longest answer the route reads with `load` (one GET, buffered); longer ones are one streamed GET (`open`). */
  loadMaxBytes = 1024 * 1024;

  /** A GET of the presigned URL of `key`; undefined when the connection failed before an answer. */
  async #getSigned(key: string, range: { start: number; end: number } | undefined, expected: StoredFile | undefined): Promise<SignedAnswer | undefined> {
    const url = await this.url(key, { ttlSeconds: READ_URL_TTL });
    const headers: Record<string, string> = { ...(range ? { range: `bytes=${range.start}-${range.end}` } : {}), ...(expected?.etag ? { 'if-match': expected.etag } : {}) };
    const what = this.describe(key);
    if (this.ranges) {
      try {
        return rangeClientAnswer(await this.ranges.get(url, headers), what);
      } catch {
        return undefined; // no answer, after one retry on another socket
      }
    }
    return new Promise<SignedAnswer | undefined>((resolve) => {
      const req = https.get(url, { agent: this.#agent as https.Agent, headers }, (res) => resolve(nodeHttpAnswer(res, what)));
      req.on('error', () => resolve(undefined));
    });
  }

  /**
   * Discards an answer that is not the object's bytes and says what it means: throws ENOENT for 404
   * (no object) and 412 (replaced); drops the object's cached URLs for 403 (credentials rotated since
   * they were signed); throws for other errors. Returns for a 2xx (the caller reads another way).
   */
  #refuse(key: string, res: SignedAnswer): void {
    const { status } = res;
    res.discard();
    if (status === 404) throw gone(key, 'no such object');
    if (status === 412) throw gone(key, 'replaced since it was looked up');
    if (status === 403) this.#forgetUrls(key);
    else if (status < 200 || status > 299) throw new Error(`${this.describe(key)}: GET answered ${status}`);
  }

  /** GET of the presigned URL; undefined when the SDK is to try (403, connection failed before an answer, an unframed body). */
  async #readSigned(key: string, range: { start: number; end: number } | undefined, expected: StoredFile | undefined): Promise<ObjectRead | undefined> {
    const res = await this.#getSigned(key, range, expected);
    if (!res) return undefined;
    if ((res.status === 200 || res.status === 206) && res.streamable) {
      return { body: res.stream(), contentRange: res.contentRange, contentLength: res.contentLength, ...(res.etag ? { etag: res.etag } : {}) };
    }
    this.#refuse(key, res);
    return undefined;
  }

  async #readSdk(key: string, range: { start: number; end: number } | undefined, expected: StoredFile | undefined): Promise<ObjectRead> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          ...(expected?.etag ? { IfMatch: expected.etag } : {}),
        }),
      );
      return { body: out.Body as Readable, contentRange: out.ContentRange, contentLength: out.ContentLength, ...(out.ETag ? { etag: out.ETag } : {}) };
    } catch (err) {
      if (isMissing(err)) throw gone(key, 'no such object');
      if (err instanceof S3ServiceException && (err.$metadata?.httpStatusCode === 412 || err.name === 'PreconditionFailed')) throw gone(key, 'replaced since it was looked up');
      throw err;
    }
  }

  #forgetUrls(key: string): void {
    for (const k of this.#urls.keys()) if (k.startsWith(`${key}\n`)) this.#urls.delete(k);
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    if (key.endsWith('.tmp')) return this.temp.stat(key);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: Number(h.ContentLength ?? 0), mtime: h.LastModified ?? new Date(0), ...(h.ETag ? { etag: h.ETag } : {}) };
    } catch (err) {
      // only "not there" is undefined: an unreachable server must not look like a missing file
      // (cleanup would forget the rows)
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    if (key.endsWith('.tmp')) return this.temp.delete(key);
    const existed = await this.stat(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    this.#forgetUrls(key);
    return existed !== undefined;
  }

  /** The SHA-256 recorded with an object by `upload` (`robian audio migrate`), if any. */
  async checksum(key: string): Promise<string | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return h.Metadata?.sha256;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The bucket's renditions under the prefix (other objects are ignored), then the local temp files. */
  async *list(): AsyncIterable<StoredFile> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix || undefined, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue;
        const key = o.Key.slice(this.prefix.length);
        try {
          assertKey(key);
        } catch {
          continue;
        }
        if (key.endsWith('.tmp')) continue;
        yield { key, size: Number(o.Size ?? 0), mtime: o.LastModified ?? new Date(0), ...(o.ETag ? { etag: o.ETag } : {}) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for await (const f of this.temp.list()) if (f.key.endsWith('.tmp')) yield f;
  }

  /**
   * Aborts Robian's multipart uploads (under the prefix) initiated before `olderThan`: a process
   * killed mid-upload leaves its parts on the server, never visible as an object but stored (and
   * billed) until aborted. Another instance aborting the same upload first is not an error. A server
   * that cannot list uploads (501) is reported (`supported: false`), not thrown: cleanup goes on.
   */
  async abortStaleUploads(o: { olderThan: Date; dryRun?: boolean }): Promise<StaleUploadReport> {
    return abortStaleUploads(this.client, this.bucket, this.prefix, o);
  }

  /**
   * A URL a client (or FFmpeg) can GET the object from: with a public base URL and no download
   * name, `<base>/<prefix><key>`; otherwise a presigned GET of `ttlSeconds` (default S3_PRESIGN_TTL),
   * with the Content-Disposition / Content-Type S3 is to answer with. A presigned URL is reused
   * while it has at least half its life left, so a redirect costs a map lookup.
   */
  async url(key: string, o: UrlOptions = {}): Promise<string> {
    const objectKey = this.objectKey(key);
    if (this.config.publicBaseUrl && !o.disposition && !o.ttlSeconds) return `${this.config.publicBaseUrl.replace(/\/+$/, '')}/${objectKey}`;
    const ttl = o.ttlSeconds ?? this.config.presignTtlSeconds ?? 300;
    const cacheKey = `${key}\n${o.disposition ?? ''}\n${o.contentType ?? ''}\n${ttl}`;
    const now = Date.now();
    const hit = this.#urls.get(cacheKey);
    if (hit && hit.renewAt > now) return hit.url;
    const url = await this.presign(objectKey, ttl, { ...(o.disposition ? { 'response-content-disposition': o.disposition } : {}), ...(o.contentType ? { 'response-content-type': o.contentType } : {}) });
    if (this.#urls.size > 10_000) this.#urls.clear();
    this.#urls.set(cacheKey, { url, renewAt: now + (ttl * 1000) / 2 });
    return url;
  }

  /** A presigned GET (SigV4 query string) built without a command's middleware stack (~0.1 ms instead of ~1.3). */
  async presign(objectKey: string, ttlSeconds: number, query: Record<string, string>): Promise<string> {
    const base = this.#base;
    const path = objectKey.split('/').map(rfc3986).join('/');
    const basePath = base.pathname.replace(/\/+$/, '');
    const hostname = this.#pathStyle ? base.hostname : `${this.bucket}.${base.hostname}`;
    const host = base.port ? `${hostname}:${base.port}` : hostname;
    const signed = await this.#presigner.presign(
      {
        method: 'GET',
        protocol: base.protocol,
        hostname,
        ...(base.port ? { port: Number(base.port) } : {}),
        path: this.#pathStyle ? `${basePath}/${rfc3986(this.bucket)}/${path}` : `${basePath}/${path}`,
        query,
        headers: { host },
      },
      { expiresIn: ttlSeconds },
    );
    const qs = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(String(v))}`)
      .join('&');
    return `${base.protocol}//${host}${signed.path}?${qs}`;
  }

  close(): void {
    this.client.destroy();
    this.#agent.destroy();
    this.ranges?.close();
    this.temp.closeIdle();
  }
}

