import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** The version of @robian/host, read from its package.json (works from src/ and from dist/). */
export const HOST_VERSION: string = (require('../package.json') as { version: string }).version;
