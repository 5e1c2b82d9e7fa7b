// An answer to a GET of an object's presigned URL, whichever client made it: S3RangeClient (http:
// endpoints) or node:http(s) (https: endpoints). S3AudioStorage's `load` and `open` read it the same way.
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { collect } from './s3-bodies.ts';
import type { RangeResponse } from './s3-range-client.ts';

export interface SignedAnswer {
  status: number;
  contentRange: string | undefined;
  contentLength: number | undefined;
  etag: string | undefined;
  /** The body can be read as a stream (framed by Content-Length, for S3RangeClient's answers). */
  streamable: boolean;
  /** The body, which must be `length` bytes: fewer (a connection closed mid-body) or more is an error. */
  collect(length: number): Promise<Buffer[]>;
  stream(): Readable;
  /** The body is not read. */
  discard(): void;
}

export function rangeClientAnswer(res: RangeResponse, what: string): SignedAnswer {
  const { head } = res;
  return {
    status: head.status,
    contentRange: head.headers['content-range'],
    contentLength: head.contentLength,
    etag: head.headers.etag,
    streamable: head.contentLength !== undefined,
    async collect(length) {
      if (head.contentLength !== length) {
        res.discard();
        throw new Error(`${what}: the server announced ${head.contentLength ?? 'an unframed body'} for the ${length} bytes asked for`);
      }
      try {
        return [await res.collect()];
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      }
    },
    stream: () => res.stream(),
    discard: () => res.discard(),
  };
}

export function nodeHttpAnswer(res: http.IncomingMessage, what: string): SignedAnswer {
  const length = res.headers['content-length'];
  return {
    status: res.statusCode ?? 0,
    contentRange: res.headers['content-range'],
    contentLength: length === undefined ? undefined : Number(length),
    etag: res.headers.etag,
    streamable: true,
    collect: (n) => collect(res, n, what),
    stream: () => res,
    discard: () => void res.resume(),
  };
}
