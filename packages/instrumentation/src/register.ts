/**
 * `node --import @causeway/instrumentation/register app.ts`: starts recording, installs the
 * interceptors (HTTP, PostgreSQL; CAUSEWAY_INTERCEPTORS), then instruments every user module
 * Node loads from here on. With CAUSEWAY_ENABLED=0 it does nothing (and does not even load the
 * instrumenter).
 */

import { registerHooks } from 'node:module';
import { join } from 'node:path';
import { session } from './runtime/session.ts';

if (session.config.enabled && session.output !== null) {
  const { createLoadHook } = await import('./hooks.ts');
  const { publishSession } = await import('./api.ts');
  const { settings } = publishSession(session);
  if (session.config.interceptors.size > 0) {
    const { installInterceptors } = await import('./interceptors/index.ts');
    const { traceId, stream } = session.output;
    const identity = session.config.propagate ? { traceId, stream } : null;
    const { capture, captureBytes } = session.config;
    installInterceptors(session.recorder, session.config.interceptors, identity, {
      level: capture,
      bytes: captureBytes,
    });
  }
  if (session.config.scheduling) {
    const { installScheduling } = await import('./runtime/scheduling.ts');
    const { installStreams } = await import('./runtime/streams.ts');
    const { installAsyncScopes } = await import('./runtime/async-scopes.ts');
    installScheduling(session.recorder, settings);
    installStreams(session.recorder, settings);
    installAsyncScopes(session.recorder, settings);
  }
  const { TransformCache } = await import('./transform-cache.ts');
  const cache = new TransformCache(join(process.cwd(), '.causeway', 'cache'));
  // Read at each load, so that causeway.configure({ accesses }) applies to modules loaded later.
  registerHooks({
    load: createLoadHook(
      process.cwd(),
      () => session.config.accesses,
      cache,
      session.config.files,
      [],
      session.config.quiet,
    ),
  });
}
