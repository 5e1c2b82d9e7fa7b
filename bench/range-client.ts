// Load generator for bench/audio.ts (runs in its own process so that it does not share the event
// loop of the server it measures). N concurrent keep-alive clients loop for D seconds, each request
// a random single byte range of CHUNK bytes of a file of SIZE bytes. Prints one JSON line.
//
//   node bench/range-client.ts <url> <size> <concurrency> <seconds> <chunk> [range|redirect|follow]
//
// Modes: `range` (default) — the range request, 206 expected, TTFB = first body byte; `redirect` —
// the same request, 302 expected and not followed, TTFB = the answer's headers; `follow` — the 302,
// then the range request to its Location (the S3 server), 206 expected, TTFB = first body byte of
// the second answer counted from the first request.
import http from 'node:http';

const [url, sizeArg, concArg, secArg, chunkArg, modeArg] = process.argv.slice(2);
const size = Number(sizeArg);
const concurrency = Number(concArg);
const seconds = Number(secArg);
const chunk = Number(chunkArg);
const mode = (modeArg ?? 'range') as 'range' | 'redirect' | 'follow';
// per origin: `follow` keeps up to `concurrency` sockets to Robian and as many to the S3 server
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const ttfb: number[] = [];
let bytes = 0;
let requests = 0;
let errors = 0;
let bad = 0;
/** The unexpected statuses by code. */
const badStatuses: Record<string, number> = {};
const end = performance.now() + seconds * 1000;

/** One GET; resolves with the status and Location once the body is read (undefined on a network error). */
function get(target: string, range: string, t0: number, o: { countBytes: boolean; ttfbAt: 'headers' | 'body' | 'none' }): Promise<{ status: number; location?: string | undefined } | undefined> {
  return new Promise((resolve) => {
    let first = true;
    const req = http.get(target, { agent, headers: { range } }, (res) => {
      if (o.ttfbAt === 'headers') ttfb.push(performance.now() - t0);
      res.on('data', (d: Buffer) => {
        if (first && o.ttfbAt === 'body') ttfb.push(performance.now() - t0);
        first = false;
        if (o.countBytes) bytes += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
  });
}

async function one(): Promise<void> {
  const start = Math.floor(Math.random() * (size - chunk));
  const range = `bytes=${start}-${start + chunk - 1}`;
  const t0 = performance.now();
  let r = await get(url!, range, t0, mode === 'range' ? { countBytes: true, ttfbAt: 'body' } : { countBytes: false, ttfbAt: mode === 'redirect' ? 'headers' : 'none' });
  let expected = mode === 'range' ? 206 : 302;
  if (r && mode === 'follow' && r.status === 302 && r.location) {
    r = await get(r.location, range, t0, { countBytes: true, ttfbAt: 'body' });
    expected = 206;
  }
  if (!r) errors++;
  else {
    requests++;
    if (r.status !== expected) {
      bad++;
      badStatuses[r.status] = (badStatuses[r.status] ?? 0) + 1;
    }
  }
}

async function client(): Promise<void> {
  while (performance.now() < end) await one();
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, client));
const elapsed = (performance.now() - t0) / 1000;
ttfb.sort((a, b) => a - b);
const q = (p: number) => ttfb[Math.min(ttfb.length - 1, Math.floor(p * ttfb.length))] ?? NaN;
process.stdout.write(
  JSON.stringify({ requests, errors, non206: bad, statuses: badStatuses, seconds: elapsed, mib_per_s: bytes / 1048576 / elapsed, req_per_s: requests / elapsed, ttfb_p50_ms: q(0.5), ttfb_p99_ms: q(0.99) }) + '\n',
);
agent.destroy();
