// The reference host with the Sénat source beside the official plugins.
import { createRobian, officialPlugins } from '@robian/host';
import { senatPlugin } from './plugin.ts';

const robian = createRobian({ plugins: [...officialPlugins(), senatPlugin] });
const server = await robian.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
