// Load generator for bench/audio.ts (runs in its own process so that it does not share the event
// loop of the server it measures). N concurrent keep-alive clients loop for D seconds, each request
// a random single byte range of CHUNK bytes of a file of SIZE bytes. Prints one JSON line.
//
//   node bench/range-client.ts <url> <size> <concurrency> <seconds> <chunk>
import http from 'node:http';

const [url, sizeArg, concArg, secArg, chunkArg] = process.argv.slice(2);
const size = Number(sizeArg);
const concurrency = Number(concArg);
const seconds = Number(secArg);
const chunk = Number(chunkArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const ttfb: number[] = [];
let bytes = 0;
let requests = 0;
let errors = 0;
let bad = 0;
const end = performance.now() + seconds * 1000;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const start = Math.floor(Math.random() * (size - chunk));
    const t0 = performance.now();
    let first = true;
    const req = http.get(url!, { agent, headers: { range: `bytes=${start}-${start + chunk - 1}` } }, (res) => {
      if (res.statusCode !== 206) bad++;
      res.on('data', (d: Buffer) => {
        if (first) {
          ttfb.push(performance.now() - t0);
          first = false;
        }
        bytes += d.length;
      });
      res.on('end', () => {
        requests++;
        resolve();
      });
      res.on('error', () => {
        errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
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
  JSON.stringify({ requests, errors, non206: bad, seconds: elapsed, mib_per_s: bytes / 1048576 / elapsed, req_per_s: requests / elapsed, ttfb_p50_ms: q(0.5), ttfb_p99_ms: q(0.99) }) + '\n',
);
agent.destroy();
