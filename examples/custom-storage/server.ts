// MIRROR_REPLICA_DIR=/mnt/disk2/robian-audio pnpm --filter @robian/example-custom-storage start
import { createRobian, officialPlugins } from '@robian/host';
import { mirroredStoragePlugin } from './plugin.ts';

const robian = createRobian({ plugins: [...officialPlugins(), mirroredStoragePlugin] });
const server = await robian.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
