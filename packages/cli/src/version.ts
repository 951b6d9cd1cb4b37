import { createRequire } from 'node:module';

/** The version of @causeway/cli, from its package.json. */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
