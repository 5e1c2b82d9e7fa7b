import { loadConfig } from '@robian/core';
import { createRobian } from '@robian/host';
import { newsroomPlugin } from './plugin.ts';

const robian = createRobian({ config: loadConfig(), plugins: [newsroomPlugin] });
const server = await robian.listen();
console.log(`listening on ${JSON.stringify(server.address())}`);
process.on('SIGTERM', () => void robian.close().then(() => process.exit(0)));
