// Reading the body of an S3 GET: a range cut out of a whole-object answer, and a ranged answer
// collected whole, with its length checked (S3AudioStorage's `open` and `load`).
import type http from 'node:http';
import { Transform, type Readable } from 'node:stream';

/** The `length` bytes from `skip` of a stream (a server that answered a range request with the whole object). */
export function slice(body: Readable, skip: number, length: number): Readable {
  let seen = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, skip - seen);
      const to = Math.min(chunk.length, skip + length - seen);
      seen += chunk.length;
      if (to > from) this.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
      if (seen >= skip + length) {
        this.push(null);
        body.destroy();
      }
      done();
    },
  });
  body.on('error', (err) => out.destroy(err));
  return body.pipe(out);
}

/**
 * The chunks of a body of `length` bytes, once it ended. More bytes than announced, or an end before
 * them, is an error (never a short or mixed answer).
 */
export function collect(body: http.IncomingMessage, length: number, what: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let at = 0;
    body.on('data', (chunk: Buffer) => {
      at += chunk.length;
      if (at > length) body.destroy(new Error(`${what}: the server sent more than the ${length} bytes asked for`));
      else chunks.push(chunk);
    });
    body.once('end', () => (at === length ? resolve(chunks) : reject(new Error(`${what}: the server sent ${at} of ${length} bytes`))));
    body.once('error', reject);
    // after 'end' this is a no-op; before it, the connection went away mid-body
    body.once('close', () => reject(new Error(`${what}: the connection closed after ${at} of ${length} bytes`)));
  });
}
