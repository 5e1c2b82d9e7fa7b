// Child processes for bench/api.ts: `node bench/servers.ts robian|bare <port> [json-file]`.
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
  // the baseline: bare Koa answering the same JSON object on the same path
  const body: unknown = JSON.parse(readFileSync(file!, 'utf8'));
  const app = new Koa();
  app.use((ctx) => {
    if (ctx.path === '/api/debats/') ctx.body = body;
  });
  app.listen(port, '127.0.0.1');
}
process.send?.('ready');
