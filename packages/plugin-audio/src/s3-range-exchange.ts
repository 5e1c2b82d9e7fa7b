// One GET on one keep-alive connection of S3RangeClient: the answer's head parsed from its first
// bytes, then its body counted off the socket into one buffer, a stream, or nowhere.
import type net from 'node:net';
import { Readable } from 'node:stream';
import { MAX_HEAD_BYTES, parseHead, type ResponseHead } from './http-head.ts';

/** An answer whose head arrived; its body is read with exactly one of `collect`, `stream` or `discard`. */
export interface RangeResponse {
  readonly head: ResponseHead;
  /** The body, Content-Length bytes in one buffer; rejects when the connection ends before them. */
  collect(): Promise<Buffer>;
  /** The body as a stream (its backpressure pauses the socket); fails when the connection ends before the end. */
  stream(): Readable;
  /** The body is not wanted: a short one is skipped (the socket is kept), a longer one closes the socket. */
  discard(): void;
}

/** What an exchange needs of the connection that carries it. */
export interface ExchangeConnection {
  readonly socket: net.Socket;
  /** False once the connection's framing is lost (it is closed instead of pooled). */
  reusable: boolean;
  /** The head came: the wait for it is over. */
  headArrived(): void;
  /** The answer ended: the socket goes back to the pool or is closed. */
  done(exchange: Exchange): void;
}

/** The longest body `discard` reads to keep the socket (error documents); longer ones close it. */
const DISCARD_MAX = 64 * 1024;
/** A failure before any byte of the answer: the request may be sent again on another socket. */
export class NoAnswer extends Error {}

/** Where an answer's body goes once the caller chose. */
interface Sink {
  /** Bytes of the body; false pauses the socket. */
  write(buf: Buffer, from: number, to: number): boolean;
  end(): void;
  fail(err: Error): void;
}

/** One request on one connection: the head parsed from the first bytes, then the body counted into a sink. */
export class Exchange implements RangeResponse {
  head!: ResponseHead;
  received = 0;
  #headParts: Buffer[] = [];
  #headBytes = 0;
  #remaining = 0;
  #sink: Sink | undefined;
  /** Body bytes that arrived with the head, before the caller chose a sink. */
  #early: Buffer[] = [];
  #done = false;
  readonly #conn: ExchangeConnection;
  readonly #onHead: (r: Exchange) => void;
  readonly #onError: (err: Error) => void;

  constructor(conn: ExchangeConnection, onHead: (r: Exchange) => void, onError: (err: Error) => void) {
    this.#conn = conn;
    this.#onHead = onHead;
    this.#onError = onError;
  }

  /** Bytes from the socket; false pauses it. */
  data(buf: Buffer, n: number): boolean {
    this.received += n;
    if (this.head === undefined) return this.#headData(buf, n);
    return this.#bodyData(buf, 0, n);
  }

  #headData(buf: Buffer, n: number): boolean {
    // the head usually comes whole in the first read; otherwise its pieces are kept (copied: the buffer is reused)
    const scanFrom = Math.max(0, this.#headBytes - 3);
    const joined = this.#headParts.length ? Buffer.concat([...this.#headParts, buf.subarray(0, n)]) : buf.subarray(0, n);
    const end = joined.indexOf('\r\n\r\n', scanFrom, 'latin1');
    if (end < 0) {
      if (joined.length > MAX_HEAD_BYTES) return this.#abort(new Error(`the answer's head exceeds ${MAX_HEAD_BYTES} bytes`));
      this.#headParts = [Buffer.from(joined)];
      this.#headBytes = joined.length;
      return true;
    }
    let head: ResponseHead;
    try {
      head = parseHead(joined.toString('latin1', 0, end));
    } catch (err) {
      return this.#abort(err as Error);
    }
    // GETs without Expect get no 1xx; one is not skipped here but refused (the caller reads another way)
    if (head.status < 200) return this.#abort(new Error(`unexpected interim answer ${head.status}`));
    this.head = head;
    this.#conn.headArrived();
    this.#headParts = [];
    this.#remaining = this.head.contentLength ?? Infinity;
    const bodyFrom = end + 4;
    // the body bytes that came with the head wait (copied) for the caller's choice, the socket paused
    const rest = joined.length - bodyFrom;
    if (rest > 0) this.#early.push(Buffer.from(joined.subarray(bodyFrom, bodyFrom + Math.min(rest, this.#remaining))));
    const consumed = Math.min(rest, this.#remaining);
    this.#remaining -= consumed;
    if (rest > consumed) this.#conn.reusable = false; // bytes after the body: the connection's framing is lost
    this.#onHead(this);
    if (this.#remaining === 0) {
      if (this.#sink) this.#finish();
      return true;
    }
    return this.#sink !== undefined;
  }

  #bodyData(buf: Buffer, from: number, to: number): boolean {
    if (!this.#sink) {
      // not chosen yet (the socket was paused; a read was already on its way)
      const take = Math.min(to - from, this.#remaining);
      this.#early.push(Buffer.from(buf.subarray(from, from + take)));
      this.#remaining -= take;
      if (to - from > take) this.#conn.reusable = false;
      return false;
    }
    const take = Math.min(to - from, this.#remaining);
    if (to - from > take) this.#conn.reusable = false;
    this.#remaining -= take;
    const more = take > 0 ? this.#sink.write(buf, from, from + take) : true;
    if (this.#remaining === 0) {
      this.#finish();
      return true;
    }
    return more;
  }

  #abort(err: Error): boolean {
    this.#conn.reusable = false;
    this.#conn.socket.destroy(err);
    return false;
  }

  #choose(sink: Sink): void {
    if (this.#sink || !this.head) throw new Error('the body of an answer is read once');
    this.#sink = sink;
    for (const b of this.#early) sink.write(b, 0, b.length);
    this.#early = [];
    if (this.#remaining === 0) this.#finish();
    else this.#conn.socket.resume();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink!.end();
    this.#conn.done(this);
  }

  /** The connection ended or failed during this exchange. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.head) this.#onError(this.received === 0 ? new NoAnswer(err.message, { cause: err }) : err);
    else {
      const e = new Error(`the connection closed after ${this.head.contentLength! - this.#remaining} of ${this.head.contentLength} bytes`, { cause: err });
      if (this.#sink) this.#sink.fail(e);
      else this.#early = [];
    }
  }

  collect(): Promise<Buffer> {
    const length = this.head.contentLength;
    if (length === undefined) {
      this.discard();
      return Promise.reject(new Error('an answer not framed by Content-Length'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const body = Buffer.allocUnsafe(length);
      let at = 0;
      this.#choose({
        write: (buf, from, to) => {
          at += buf.copy(body, at, from, to);
          return true;
        },
        end: () => resolve(body),
        fail: reject,
      });
    });
  }

  stream(): Readable {
    if (this.head.contentLength === undefined) {
      this.discard();
      throw new Error('an answer not framed by Content-Length');
    }
    const body = new Readable({
      read: () => {
        if (!this.#done) this.#conn.socket.resume();
      },
      destroy: (err, cb) => {
        // destroyed before its end (a client gone): the rest of the body is not read, nor the socket reused
        if (!this.#done) {
          this.#conn.reusable = false;
          this.#conn.socket.destroy();
        }
        cb(err);
      },
    });
    this.#choose({
      write: (buf, from, to) => body.push(Buffer.from(buf.subarray(from, to))),
      end: () => body.push(null),
      fail: (err) => body.destroy(err),
    });
    return body;
  }

  discard(): void {
    if (this.#remaining > DISCARD_MAX) {
      // chunked, framed by the close, or long: not worth reading to keep the socket
      this.#conn.reusable = false;
      this.#done = true;
      this.#conn.socket.destroy();
      return;
    }
    this.#choose({ write: () => true, end: () => {}, fail: () => {} });
  }
}
