// Live HLS listeners in a process of their own (so that their CPU and memory are not the server's):
//   node bench/live-client.ts <playlist URL with {i}> <segment URL with {i} and {name}> <listeners> <seconds>
// Each listener polls the playlist once a second and fetches each new last segment once (as a player
// at the live edge does). Prints {requests, segments, bytes, errors, latencies p50/p99} as JSON.
const [playlistUrl, segmentUrl, listenersArg, secondsArg] = process.argv.slice(2);
if (!playlistUrl || !segmentUrl) throw new Error('usage: live-client.ts <playlist> <segment> <listeners> <seconds>');
const LISTENERS = Number(listenersArg ?? 100);
const SECONDS = Number(secondsArg ?? 20);
const fill = (t: string, i: number, name = '') => t.replaceAll('{i}', String(i)).replaceAll('{name}', name);

const r = { requests: 0, segments: 0, bytes: 0, errors: 0, latencies: [] as number[] };
const end = Date.now() + SECONDS * 1000;
const timed = async (url: string): Promise<string | undefined> => {
  const t = performance.now();
  try {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    r.latencies.push(performance.now() - t);
    r.requests++;
    if (!res.ok) {
      r.errors++;
      return undefined;
    }
    r.bytes += body.byteLength;
    return body.toString('latin1');
  } catch {
    r.errors++;
    return undefined;
  }
};
await Promise.all(
  Array.from({ length: LISTENERS }, async (_, i) => {
    const seen = new Set<string>();
    await new Promise((res) => setTimeout(res, Math.random() * 1000));
    while (Date.now() < end) {
      const playlist = await timed(fill(playlistUrl, i));
      const names = playlist ? [...playlist.matchAll(/^(\S*seg\d+\.ts)\S*$/gm)].map((m) => m[1]!) : [];
      const last = names.at(-1);
      if (last && !seen.has(last)) {
        seen.add(last);
        if ((await timed(fill(segmentUrl, i, last))) !== undefined) r.segments++;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }),
);
const sorted = r.latencies.sort((a, b) => a - b);
const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : NaN);
process.stdout.write(`${JSON.stringify({ requests: r.requests, segments: r.segments, bytes: r.bytes, errors: r.errors, p50_ms: pct(50), p99_ms: pct(99) })}\n`);
