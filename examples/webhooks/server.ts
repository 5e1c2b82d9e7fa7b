// The reference host with the webhooks plugin beside the official ones:
// WEBHOOK_URLS=https://example.org/hook WEBHOOK_SECRET=… pnpm --filter @robian/example-webhooks start
import { createRobian, officialPlugins } from '@robian/host';
import { webhooksPlugin } from './plugin.ts';

const robian = createRobian({ plugins: [...officialPlugins(), webhooksPlugin] });
const server = await robian.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port} (webhooks to ${process.env.WEBHOOK_URLS ?? 'nowhere'})`);
