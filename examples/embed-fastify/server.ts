// Robian inside a Fastify 5 application: its Koa app's callback() is a plain (req, res) handler.
// A scope under /robian hands Fastify's raw request and response to it: `reply.hijack()` tells
// Fastify the response is written elsewhere, and the scope's only content-type parser leaves the
// body unread, so Robian reads (and limits) it itself. The real-time endpoints are upgrades and
// socket.io's polling requests, which plugin-ws takes at the HTTP server, before Fastify: their
// paths are moved under the prefix too (WS_PATH, WS_SOCKETIO_PATH).
import type { Server } from 'node:http';
import Fastify from 'fastify';
import { loadConfig, type RobianConfig } from '@robian/core';
import { createRobian, officialPlugins } from '@robian/host';

const PREFIX = '/robian';

export async function startFastifyApp(env: Record<string, string | undefined> = process.env, port = Number(process.env.PORT ?? 3000)): Promise<{ server: Server; close(): Promise<void> }> {
  const config: RobianConfig = loadConfig({ WS_PATH: `${PREFIX}/ws`, WS_SOCKETIO_PATH: `${PREFIX}/socket.io`, ...env });
  const robian = createRobian({ config, plugins: officialPlugins() });
  await robian.start();
  const handle = robian.callback();

  const app = Fastify();
  app.get('/', async () => 'my Fastify application\n');
  await app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      const toRobian = (request: { raw: { url?: string } }, reply: { hijack(): void; raw: Parameters<typeof handle>[1] }) => {
        reply.hijack();
        const url = request.raw.url ?? PREFIX;
        request.raw.url = url.slice(PREFIX.length) || '/';
        void handle(request.raw as Parameters<typeof handle>[0], reply.raw);
      };
      scope.all('/', toRobian);
      scope.all('/*', toRobian);
    },
    { prefix: PREFIX },
  );
  await app.listen({ port, host: '127.0.0.1' });
  robian.attachServer(app.server); // plugin-ws takes /robian/ws and /robian/socket.io here
  return {
    server: app.server,
    async close() {
      await robian.close();
      await app.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { server } = await startFastifyApp();
  console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port} (Robian under ${PREFIX})`);
}
