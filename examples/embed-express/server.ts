// Robian inside an Express 5 application: its Koa app's callback() is a plain (req, res) handler,
// mounted under /robian. Express strips the mount path from req.url, so Robian sees its own routes.
// The real-time endpoints are upgrades and socket.io's polling requests, which plugin-ws takes at the
// HTTP server, before Express: their paths are moved under the prefix too (WS_PATH, WS_SOCKETIO_PATH).
import type { Server } from 'node:http';
import express from 'express';
import { loadConfig, type RobianConfig } from '@robian/core';
import { createRobian, officialPlugins } from '@robian/host';

const PREFIX = '/robian';

export async function startExpressApp(env: Record<string, string | undefined> = process.env, port = Number(process.env.PORT ?? 3000)): Promise<{ server: Server; close(): Promise<void> }> {
  const config: RobianConfig = loadConfig({ WS_PATH: `${PREFIX}/ws`, WS_SOCKETIO_PATH: `${PREFIX}/socket.io`, ...env });
  const robian = createRobian({ config, plugins: officialPlugins() });
  await robian.start();
  const handle = robian.callback();

  const app = express();
  app.get('/', (_req, res) => {
    res.type('text/plain').send('my Express application\n');
  });
  // no body parser in front of Robian: it reads (and limits) its own request bodies
  app.use(PREFIX, (req, res) => void handle(req, res));

  const server = app.listen(port, '127.0.0.1');
  robian.attachServer(server); // plugin-ws takes /robian/ws and /robian/socket.io here
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    server,
    async close() {
      await robian.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { server } = await startExpressApp();
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port} (Robian under ${PREFIX})`);
}
