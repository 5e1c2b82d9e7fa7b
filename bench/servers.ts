// Child processes for bench/api.ts: `node bench/servers.ts robian|bare <port> [json-file]` (BENCH_ETAG: the bare server's ETag).
import { readFileSync } from 'node:fs';
import Koa from 'koa';
import { loadConfig } from '@robian/core';
import { createRobian } from '@robian/host';

const [kind, portArg, file] = process.argv.slice(2);
const port = Number(portArg);
if (kind === 'robian') {
  const robian = createRobian({ config: loadConfig(), requestLogging: false });
  await robian.listen(port, '127.0.0.1');
} else {
  // the baseline: bare Koa sending the same pre-serialized JSON string on the same path (no
  // stringify per request, as Robian's cache does not either), with the same strong ETag and 304
  const json = readFileSync(file!, 'utf8');
  const etag = process.env.BENCH_ETAG ?? '"bench"';
  const app = new Koa();
  app.use((ctx) => {
    if (ctx.path !== '/api/debats/') return;
    ctx.set('ETag', etag);
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = json;
  });
  app.listen(port, '127.0.0.1');
}
process.send?.('ready');
