import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where Vite writes the built player (the same folder from src/ and dist/). */
export const WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
};

export interface WebFile {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  /** Content-hashed names under assets/ never change. */
  immutable: boolean;
  etag: string;
}

/**
 * The built player, read once into memory (it is small) with a gzip copy of each text file. Only
 * the files found here are ever served: no part of a URL reaches the file system.
 */
export class WebFiles {
  readonly files = new Map<string, WebFile>();
  readonly root: string;

  constructor(root: string = WEB_ROOT) {
    this.root = root;
    if (!existsSync(join(root, 'index.html'))) return;
    this.#walk('');
  }

  get built(): boolean {
    return this.files.has('/index.html');
  }

  #walk(dir: string): void {
    for (const name of readdirSync(join(this.root, dir))) {
      const rel = dir ? `${dir}/${name}` : name;
      const full = join(this.root, rel);
      if (statSync(full).isDirectory()) {
        this.#walk(rel);
        continue;
      }
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = readFileSync(full);
      const compressible = !type.startsWith('image/png');
      const gzip = compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : null;
      const immutable = rel.startsWith('assets/');
      this.files.set(`/${rel}`, { type, body, gzip, immutable, etag: `"${body.length.toString(36)}-${hash(body)}"` });
    }
  }

  get(path: string): WebFile | undefined {
    return this.files.get(path);
  }

  /** Bytes of JavaScript the first screen loads (index.html's scripts and preloads), raw and gzipped. */
  firstScreenJs(): { raw: number; gzip: number; files: string[] } {
    const html = this.files.get('/index.html')?.body.toString('utf8') ?? '';
    const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    let raw = 0;
    let gzip = 0;
    for (const f of new Set(files)) {
      const file = this.files.get(f);
      raw += file?.body.length ?? 0;
      gzip += file?.gzip?.length ?? file?.body.length ?? 0;
    }
    return { raw, gzip, files };
  }
}

function hash(buf: Buffer): string {
  // FNV-1a, enough for an ETag of files read once at start
  let h = 0x811c9dc5;
  for (let i = 0; i < buf.length; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return (h >>> 0).toString(36);
}
