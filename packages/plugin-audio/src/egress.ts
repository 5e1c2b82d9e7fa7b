import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@robian/core';
import { portOf, splitHostPort, type HostAllowList } from './allow-list.ts';

/** Headers that belong to one hop (RFC 9110 § 7.6.1) and are not forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const IDLE_MS = 60_000;

export interface EgressRefusal {
  method: string;
  target: string;
}

/**
 * Robian's own forward proxy on 127.0.0.1, through which FFmpeg, ffprobe and yt-dlp make every
 * request (`-http_proxy`, `--proxy`): each request, redirects and HLS segments included, is checked
 * against the media allow-list by host AND port before anything leaves the machine. Plain http is
 * forwarded request by request (absolute-form, no redirect followed here: the client asks again for
 * the new location, and that request is checked too); https goes through CONNECT, checked on the
 * tunnel's host:port. A refused request is a 403 whose body says why, which the tools print.
 */
export class MediaEgressProxy {
  readonly #allowList: () => HostAllowList;
  readonly #logger: Logger | undefined;
  readonly #sockets = new Set<Duplex>();
  #server: Server | undefined;
  #url: string | undefined;
  /** Requests refused since start (tests and health read it). */
  readonly refused: EgressRefusal[] = [];

  constructor(allowList: () => HostAllowList, logger?: Logger) {
    this.#allowList = allowList;
    this.#logger = logger;
  }

  /** `http://127.0.0.1:<port>` once started. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<string> {
    if (this.#url) return this.#url;
    const server = createServer((req, res) => this.#forward(req, res));
    server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#tunnel(req, socket, head));
    server.on('connection', (s: Socket) => this.#track(s));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#url = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #track(s: Duplex): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
  }

  #refuse(method: string, target: string): void {
    this.refused.push({ method, target });
    if (this.refused.length > 100) this.refused.shift();
    this.#logger?.warn({ method, target }, 'media egress refused: not in MEDIA_ALLOWED_HOSTS (host and port)');
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('robian egress proxy: absolute http:// URLs only (https goes through CONNECT)\n');
      return;
    }
    if (url.protocol !== 'http:' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('robian egress proxy: GET/HEAD of http:// URLs only (https goes through CONNECT)\n');
      return;
    }
    const port = portOf(url);
    if (!this.#allowList().allowsOrigin(url.hostname, port)) {
      this.#refuse(req.method, `${url.hostname}:${port}`);
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' }).end(`robian egress proxy: ${url.hostname}:${port} is not allowed (MEDIA_ALLOWED_HOSTS)\n`);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = url.host;
    const upstream = httpRequest({ host: url.hostname.replace(/^\[|\]$/g, ''), port, method: req.method, path: `${url.pathname}${url.search}`, headers, timeout: IDLE_MS }, (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, out);
      up.pipe(res);
      up.once('error', () => res.destroy());
    });
    upstream.once('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.once('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`robian egress proxy: ${err.message}\n`);
      else res.destroy();
    });
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  #tunnel(req: IncomingMessage, client: Duplex, head: Buffer): void {
    this.#track(client);
    const target = splitHostPort((req.url ?? '').toLowerCase());
    if (!target || typeof target.port !== 'number') {
      client.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      return;
    }
    const { host, port } = target;
    if (!this.#allowList().allowsOrigin(host, port)) {
      this.#refuse('CONNECT', `${host}:${port}`);
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nrobian egress proxy: ${host}:${port} is not allowed (MEDIA_ALLOWED_HOSTS)\n`);
      return;
    }
    const upstream = connect({ host, port });
    this.#track(upstream);
    upstream.setTimeout(IDLE_MS, () => upstream.destroy());
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n');
      client.destroy();
    });
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }
}

/**
 * The environment of a child that fetches media: our proxy for every scheme, and no `no_proxy`
 * (FFmpeg and yt-dlp would bypass the proxy for the hosts it names).
 */
export function egressEnv(proxyUrl: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!/^(no_proxy|http_proxy|https_proxy|all_proxy|ftp_proxy)$/i.test(k)) env[k] = v;
  if (proxyUrl) {
    env.http_proxy = proxyUrl;
    env.https_proxy = proxyUrl;
    env.HTTP_PROXY = proxyUrl;
    env.HTTPS_PROXY = proxyUrl;
  }
  return env;
}
