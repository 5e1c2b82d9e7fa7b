import { it } from 'node:test';
import { createTestEnvironment } from '@robian/test-support';
import { checkEmbeddedRobian } from '../../embedded-check.ts';
import { startExpressApp } from '../server.ts';

it('serves Robian under /robian in Express: API, admin write with a body, /ws and socket.io', async () => {
  const env = await createTestEnvironment('sqlite');
  const app = await startExpressApp(env.env, 0);
  try {
    await checkEmbeddedRobian(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`, '/robian', 'my Express application\n');
  } finally {
    await app.close();
    await env.cleanup();
  }
});
