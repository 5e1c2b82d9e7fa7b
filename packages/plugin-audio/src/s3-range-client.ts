// A small keep-alive HTTP/1.1 GET client for the proxy's reads of S3 objects (S3AudioStorage's
// `load` and `open` on an http: endpoint): a bounded pool of persistent sockets to one origin, the
// request written in one write, the answer's head parsed here and its body read straight off the
// socket (`onread` into the connection's own buffer) into one buffer or a stream. It does what those
// reads need and nothing else: GET only, answers framed by Content-Length (S3 frames every GetObject
// answer so; anything else is refused to the caller, which reads another way), no redirects, no TLS.
import net from 'node:net';
import { Exchange, NoAnswer, type ExchangeConnection, type RangeResponse } from './s3-range-exchange.ts';

export type { RangeResponse } from './s3-range-exchange.ts';

export interface RangeClientOptions {
  /** The one origin requests may go to (`http://host:port`); any other URL is refused. */
  origin: string;
  /** Most sockets open at once; requests beyond wait for one. */
  maxSockets: number;
  /** Host name resolution (tests: virtual-host names on 127.0.0.1). */
  lookup?: net.LookupFunction | undefined;
  connectTimeoutMs?: number;
  /**
   * The longest wait, once a request is out, for the first bytes of its answer's head (a server that
   * accepts and never answers); the socket is then closed and the GET fails. Not applied to the body,
   * whose socket a slow listener may pause. Default 30 s.
   */
  answerTimeoutMs?: number;
  /** An idle socket older than this is closed rather than reused (servers close theirs: Node's after 5 s). */
  idleMs?: number;
}

/** What the client did since it was made (tests, diagnostics). */
export interface RangeClientStats {
  connections: number;
  requests: number;
  retries: number;
}

/** Bytes each socket reads into; a body leaves it by one copy (into the answer's buffer, or a chunk of the stream). */
const READ_BUFFER = 64 * 1024;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** A socket of the pool and the exchange it carries, if any. */
class Connection implements ExchangeConnection {
  readonly socket: net.Socket;
  exchange: Exchange | undefined;
  reusable = true;
  idleSince = 0;
  readonly #client: S3RangeClient;

  readonly #answerTimeoutMs: number;

  constructor(client: S3RangeClient, o: { host: string; port: number; lookup?: net.LookupFunction | undefined; connectTimeoutMs: number; answerTimeoutMs: number }) {
    this.#client = client;
    this.#answerTimeoutMs = o.answerTimeoutMs;
    this.socket = net.connect({
      host: o.host,
      port: o.port,
      noDelay: true,
      ...(o.lookup ? { lookup: o.lookup } : {}),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Buffer) => {
          if (this.exchange) return this.exchange.data(buf, n);
          // bytes while no request is out: the server is not speaking HTTP/1.1 as asked
          this.socket.destroy();
          return false;
        },
      },
    });
    // one timer, two uses: until connected, then (while a request waits for its head) until answered
    let connected = false;
    this.socket.setTimeout(o.connectTimeoutMs);
    this.socket.on('timeout', () =>
      this.socket.destroy(new Error(connected ? `no answer from ${o.host}:${o.port} within ${this.#answerTimeoutMs} ms` : `no connection to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`)),
    );
    this.socket.once('connect', () => {
      connected = true;
      this.socket.setTimeout(this.exchange && !this.exchange.head ? this.#answerTimeoutMs : 0);
    });
    let failure: Error | undefined;
    this.socket.on('error', (err) => (failure = err)); // reported through 'close' to the exchange
    this.socket.once('end', () => this.socket.destroy());
    this.socket.once('close', () => {
      const exchange = this.exchange;
      this.exchange = undefined;
      exchange?.fail(failure ?? new Error('the connection closed'));
      this.#client.closed(this);
    });
  }

  send(request: string, exchange: Exchange): void {
    this.exchange = exchange;
    if (!this.socket.connecting) this.socket.setTimeout(this.#answerTimeoutMs);
    this.socket.write(request, 'latin1');
  }

  /** The head of the answer came: its body may take as long as its reader (a paused socket is quiet). */
  headArrived(): void {
    this.socket.setTimeout(0);
  }

  done(exchange: Exchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = undefined;
    if (this.reusable && exchange.head.keepAlive) this.#client.release(this);
    else this.socket.destroy();
  }
}

/**
 * GETs on a bounded pool of keep-alive sockets to one origin. A request that gets no byte of answer
 * (a refused connection, a server that closed an idle socket as the request went out) is sent once
 * more on a socket that is not an idle one; a second failure rejects.
 */
export class S3RangeClient {
  readonly stats: RangeClientStats = { connections: 0, requests: 0, retries: 0 };
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #origin: string;
  readonly #max: number;
  readonly #lookup: net.LookupFunction | undefined;
  readonly #connectTimeoutMs: number;
  readonly #answerTimeoutMs: number;
  readonly #idleMs: number;
  /** Idle sockets, the most recently used last (taken first: the least likely to have been closed). */
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiting: Array<{ resolve: (c: Connection) => void; reject: (err: Error) => void }> = [];
  #closed = false;

  constructor(o: RangeClientOptions) {
    const origin = new URL(o.origin);
    if (origin.protocol !== 'http:') throw new Error(`S3RangeClient speaks plain HTTP only, not ${origin.protocol}`);
    this.#host = origin.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(origin.port || 80);
    this.#hostHeader = origin.host;
    this.#origin = origin.origin;
    this.#max = Math.max(1, o.maxSockets);
    this.#lookup = o.lookup;
    this.#connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
    this.#answerTimeoutMs = o.answerTimeoutMs ?? 30_000;
    this.#idleMs = o.idleMs ?? 4_000;
  }

  /** Sockets open now (idle and busy). */
  get sockets(): number {
    return this.#all.size;
  }

  /** GET `url` (of this client's origin) with `headers`; resolves once the answer's head arrived. */
  async get(url: string, headers: Record<string, string> = {}): Promise<RangeResponse> {
    const u = new URL(url);
    if (u.origin !== this.#origin) throw new Error(`${u.origin} is not this client's origin (${this.#origin})`);
    let request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || !HEADER_VALUE.test(value)) throw new Error(`invalid request header ${JSON.stringify(name)}`);
      request += `${name}: ${value}\r\n`;
    }
    request += '\r\n';
    this.stats.requests++;
    try {
      return await this.#exchange(request, await this.#acquire(true));
    } catch (err) {
      if (!(err instanceof NoAnswer) || this.#closed) throw err;
      this.stats.retries++;
      try {
        return await this.#exchange(request, await this.#acquire(false));
      } catch (again) {
        throw again instanceof NoAnswer ? new Error(`GET ${this.#origin}: ${again.message}`, { cause: again.cause }) : again;
      }
    }
  }

  #exchange(request: string, conn: Connection): Promise<RangeResponse> {
    return new Promise<RangeResponse>((resolve, reject) => {
      conn.send(request, new Exchange(conn, resolve, reject));
    });
  }

  /** A socket: an idle one if `idleOk` and one is fresh enough, else a new one, else the next released. */
  #acquire(idleOk: boolean): Connection | Promise<Connection> {
    if (this.#closed) throw new Error('the S3 range client is closed');
    if (idleOk) {
      const now = Date.now();
      for (let conn = this.#idle.pop(); conn; conn = this.#idle.pop()) {
        if (!conn.socket.destroyed && now - conn.idleSince < this.#idleMs) {
          conn.socket.ref();
          return conn;
        }
        conn.socket.destroy();
      }
    }
    if (this.#all.size < this.#max) return this.#connect();
    // a socket another request releases next has just carried an answer: not a stale idle one
    return new Promise<Connection>((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #connect(): Connection {
    const conn = new Connection(this, { host: this.#host, port: this.#port, lookup: this.#lookup, connectTimeoutMs: this.#connectTimeoutMs, answerTimeoutMs: this.#answerTimeoutMs });
    this.#all.add(conn);
    this.stats.connections++;
    return conn;
  }

  /** A socket whose answer ended and may carry another request. */
  release(conn: Connection): void {
    const waiter = this.#waiting.shift();
    if (waiter) {
      waiter.resolve(conn);
      return;
    }
    conn.idleSince = Date.now();
    conn.socket.unref();
    this.#idle.push(conn);
  }

  /** A socket closed (by either side): its place goes to a waiting request. */
  closed(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (!this.#closed && this.#waiting.length > 0 && this.#all.size < this.#max) this.#waiting.shift()!.resolve(this.#connect());
  }

  /** Closes every socket, idle or busy (their answers fail), and refuses further requests. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(new Error('the S3 range client is closed'));
    for (const conn of [...this.#all]) conn.socket.destroy();
    this.#idle.length = 0;
  }
}
