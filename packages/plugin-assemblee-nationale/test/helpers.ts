import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import yazl from 'yazl';

/**
 * The real AN samples, read in place: the repository is cloned with `shared/` beside it
 * (`<repo>/../shared`), here and in CI. They are never copied into the project nor modified.
 */
export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/an-open-data/', import.meta.url));
export const FIXTURES_JSON = join(FIXTURES, 'json');
export const VIDEO_DIR = join(FIXTURES, 'videos-an', '19502241_6ac548b948b27');
export const INTERFACE_UID = '19502241_6ac548b948b27';

const CI = process.env.CI === 'true' || process.env.CI === '1';
export const FIXTURES_PRESENT = existsSync(join(FIXTURES_JSON, 'reunion')) && existsSync(join(VIDEO_DIR, 'data.nvs'));

/**
 * `{ skip }` for suites that read the samples: a reason when they are missing, except under CI,
 * where the suites run and fail (CI always has ../shared).
 */
export const FIXTURES_SKIP: string | false = FIXTURES_PRESENT || CI ? false : `the real AN samples are not at ${FIXTURES} (clone shared/ beside the repository; CI fails instead of skipping)`;

export function fixtureText(...parts: string[]): string {
  return readFileSync(join(FIXTURES, ...parts), 'utf8');
}

export function fixtureJson<T = Record<string, unknown>>(kind: string, uid: string): T {
  return (JSON.parse(fixtureText('json', kind, `${uid}.json`)) as Record<string, T>)[kind]!;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

/** A zip of a folder with the layout of the AN zips (`json/<kind>/<uid>.json`), built in memory. */
export function zipFolder(dir: string, prefix = 'json/'): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  // réunions first, organes last: the importer must reorder the entries itself
  const files = listFiles(dir).sort().reverse();
  for (const file of files) zip.addBuffer(readFileSync(file), prefix + relative(dir, file).split('\\').join('/'));
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export interface TestServer {
  url: string;
  server: Server;
  /** Requests received, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** A plain HTTP server on 127.0.0.1 with a handler per request. */
export async function serve(handler: (req: IncomingMessage, res: ServerResponse, hit: number) => void): Promise<TestServer> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    handler(req, res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The real page and NVS with the published hosts rewritten to a local server (and, optionally, another meeting_id). */
export function localVideoFiles(base: string, meetingId?: string): { page: string; nvs: string } {
  const rewrite = (text: string) =>
    text
      .replaceAll('http://videos.assemblee-nationale.fr', base)
      .replaceAll('https://videos.assemblee-nationale.fr', base)
      .replaceAll('http://videos-an.vodalys.com', base)
      .replaceAll('http://anorigin.vodalys.com', base);
  let nvs = rewrite(fixtureText('videos-an', INTERFACE_UID, 'data.nvs'));
  if (meetingId) nvs = nvs.replace('value="RUANR5L17S2027IDS30927"', `value="${meetingId}"`);
  return { page: rewrite(fixtureText('videos-an', INTERFACE_UID, 'page.trimmed.html')), nvs };
}

/** Env for the plugin with every base URL on a local server. */
export function localBases(base: string): Record<string, string> {
  return {
    AN_VIDEOS_BASE_URL: base,
    AN_VODALYS_HLS_BASE_URL: base,
    AN_VODALYS_ORIGIN_BASE_URL: base,
    AN_OPEN_DATA_BASE_URL: base,
  };
}
