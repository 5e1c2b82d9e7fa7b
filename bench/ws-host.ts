/**
 * The server side of bench/ws.ts, run in its own process so that its RSS is the host's alone.
 *   node --conditions=robian-source bench/ws-host.ts robian   # Robian with plugin-ws
 *   node --conditions=robian-source bench/ws-host.ts raw      # baseline: a bare `ws` server broadcasting the same envelope
 * Both answer POST /__bench/burst?count=N (emit N events, each stamped with its emission time)
 * and GET /__bench/rss, and print {"url":…} once listening.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

const now = () => performance.timeOrigin + performance.now();
const mode = process.argv[2] ?? 'robian';
const rss = () => ({ rss_bytes: process.memoryUsage().rss, heap_used_bytes: process.memoryUsage().heapUsed });

function event(i: number) {
  return { extraction_id: `bench-${i}`, debate_id: 1, format: 'mp3', quality: 'medium', status: 'running' as const, emitted_at: now() };
}

let url: string;
if (mode === 'raw') {
  const clients = new Set<WebSocket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/__bench/burst')) {
      const count = Number(new URL(req.url, 'http://x').searchParams.get('count') ?? 1);
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const json = JSON.stringify({ type: 'extraction_started', channel: 'extractions', data: event(i), timestamp: new Date().toISOString(), message_id: randomUUID() });
        for (const c of clients) c.send(json);
      }
      res.end(JSON.stringify({ fanout_ms: performance.now() - t0 }));
    } else if (req.url === '/__bench/rss') res.end(JSON.stringify(rss()));
    else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', () => ws.send(JSON.stringify({ type: 'subscribed', channel: 'extractions', data: {}, timestamp: new Date().toISOString(), message_id: randomUUID() })));
    ws.send(JSON.stringify({ type: 'connected', data: {}, timestamp: new Date().toISOString(), message_id: randomUUID() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else {
  // loaded only here, so that the baseline's RSS is that of a bare ws server
  const { PLUGIN_API_VERSION, definePlugin, loadConfig, usePlugin, z } = await import('@robian/core');
  const { createRobian } = await import('@robian/host');
  const { wsPlugin } = await import('@robian/plugin-ws');
  const burst = definePlugin({
    name: 'bench-burst',
    version: '1.0.0',
    apiVersion: PLUGIN_API_VERSION,
    setup(ctx) {
      ctx.router.route({
        method: 'post',
        path: '/__bench/burst',
        query: z.object({ count: z.coerce.number().int().min(1).max(100_000) }),
        handler: async (_k, { query }) => {
          const t0 = performance.now();
          for (let i = 0; i < query.count; i++) void ctx.events.emit('extraction.started', event(i));
          return { fanout_ms: performance.now() - t0 };
        },
      });
      ctx.router.route({ method: 'get', path: '/__bench/rss', handler: () => rss() });
    },
  });
  const robian = createRobian({
    config: loadConfig(process.env),
    plugins: [usePlugin(wsPlugin, { maxConnections: 100_000 }), burst],
    defaultMetrics: false,
  });
  const server = await robian.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => process.exit(0));
