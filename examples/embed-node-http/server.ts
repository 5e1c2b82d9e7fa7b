// Robian inside an existing Node server: its Koa app's callback() is a plain (req, res) handler,
// mounted here under /robian next to the server's own routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { loadConfig, type RobianConfig } from '@robian/core';
import { createRobian } from '@robian/host';

export async function startEmbedded(config: RobianConfig = loadConfig(), port = Number(process.env.PORT ?? 3000)): Promise<{ server: Server; close(): Promise<void> }> {
  const robian = createRobian({ config });
  await robian.start();
  const handle = robian.callback();
  const PREFIX = '/robian';

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url === PREFIX || url.startsWith(`${PREFIX}/`) || url.startsWith(`${PREFIX}?`)) {
      req.url = url.slice(PREFIX.length) || '/';
      void handle(req, res);
      return;
    }
    // the server's own routes
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('my own application\n');
  });
  robian.attachServer(server); // lets plugins (WebSocket, socket.io) attach to this server
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await robian.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { server } = await startEmbedded();
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port} (Robian under /robian)`);
}
