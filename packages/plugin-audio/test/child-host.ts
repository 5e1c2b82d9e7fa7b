// A Robian host in a process of its own, so that a test can kill it (SIGKILL) in the middle of a job.
// Reads its whole configuration from the environment; prints {"port":…} once listening.
import { loadConfig } from '@robian/core';
import { startTestHost } from '@robian/test-support';
import { audioPlugin } from '../src/index.ts';
import { testSourcePlugin } from './helpers.ts';

const mediaUrl = process.env.TEST_MEDIA_URL!;
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
const host = await startTestHost({
  environment: { env, config: loadConfig(env), dataDir: env.DATA_DIR!, cleanup: async () => {} },
  plugins: [testSourcePlugin(() => mediaUrl), audioPlugin],
});
process.stdout.write(`${JSON.stringify({ port: Number(new URL(host.url).port) })}\n`);
