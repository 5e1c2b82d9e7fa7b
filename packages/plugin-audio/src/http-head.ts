// The head of an HTTP/1.x response (status line and header fields), as the S3 range client reads it.

export interface ResponseHead {
  status: number;
  /** HTTP/1.1 (keep-alive by default) or 1.0. */
  minorVersion: 0 | 1;
  /** Field names in lower case; a repeated field's values joined with `, `. */
  headers: Record<string, string>;
  /** The body's length when the answer is framed by Content-Length alone; undefined otherwise (chunked, or until close). */
  contentLength: number | undefined;
  /** The connection may carry another request after this answer. */
  keepAlive: boolean;
}

/** The longest head accepted (S3 answers a GET with ~0.5 KiB of headers). */
export const MAX_HEAD_BYTES = 64 * 1024;

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Parses a head (without its final empty line). Throws on anything that is not a well-formed
 * HTTP/1.x response head: obsolete line folding, a field without a name, a Content-Length that is
 * not one number (two different ones are a framing attack, RFC 9112 § 6.3).
 */
export function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = STATUS_LINE.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const f = FIELD.exec(lines[i]!);
    if (!f) throw new Error(`malformed header field: ${JSON.stringify(lines[i]!.slice(0, 80))}`);
    const name = f[1]!.toLowerCase();
    const value = f[2]!;
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number(m[2]);
  const minorVersion = m[1] === '1' ? 1 : 0;
  let contentLength: number | undefined;
  const declared = headers['content-length'];
  if (declared !== undefined) {
    const values = new Set(declared.split(',').map((v) => v.trim()));
    const only = values.size === 1 ? [...values][0]! : '';
    if (!/^\d{1,15}$/.test(only)) throw new Error(`invalid Content-Length: ${JSON.stringify(declared.slice(0, 80))}`);
    contentLength = Number(only);
  }
  // a transfer coding overrides Content-Length (RFC 9112 § 6.3): the body's length is then unknown here
  if (headers['transfer-encoding'] !== undefined) contentLength = undefined;
  // no body, whatever the fields say
  if (status === 204 || status === 304) contentLength = 0;
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = contentLength !== undefined && (minorVersion === 1 ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection));
  return { status, minorVersion, headers, contentLength, keepAlive };
}
