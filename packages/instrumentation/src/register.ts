/**
 * `node --import @causeway/instrumentation/register app.ts`: starts recording, then instruments
 * every user module Node loads from here on. With CAUSEWAY_ENABLED=0 it does nothing (and does
 * not even load the instrumenter).
 */

import { registerHooks } from 'node:module';
import { session } from './runtime/session.ts';

if (session.config.enabled && session.output !== null) {
  const { createLoadHook } = await import('./hooks.ts');
  registerHooks({ load: createLoadHook(process.cwd(), session.config.accesses) });
}
