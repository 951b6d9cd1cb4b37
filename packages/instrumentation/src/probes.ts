/**
 * The probes: what instrumented code calls. The Babel plugin emits calls to these names (see
 * docs/instrumentation.md); they are the runtime's whole surface towards the application.
 *
 * Every probe returns quickly, allocates nothing on its common path, and never throws into the
 * caller: the ones that pass a value through (`suspend`, `resume`) return it untouched.
 */

import type { SiteTable } from '@causeway/core/event-format';
import { InstrumentationErrorCode, warn } from './errors.ts';
import { session } from './runtime/session.ts';

const recorder = session.recorder;

function isSiteTable(value: unknown): value is SiteTable {
  const table = value as SiteTable | null;
  return (
    typeof table === 'object' &&
    table !== null &&
    typeof table.file === 'string' &&
    Array.isArray(table.sites)
  );
}

/** Registers a file's site table; returns the global id of its first site (0 if refused). */
export function registerSites(table: SiteTable): number {
  if (!isSiteTable(table)) {
    warn(
      InstrumentationErrorCode.PROBE_INPUT,
      'registerSites was given something that is not a site table; ignored',
    );
    return 0;
  }
  return recorder.registerSites(table);
}

/** A fresh invocation id, for code that awaits outside any function (top-level await). */
export function invocation(): number {
  return recorder.invocation();
}

export function enter(site: number): void {
  recorder.enter(site);
}

/** Enters an async function; returns its invocation id. */
export function enterAsync(site: number): number {
  return recorder.enterAsync(site);
}

export function exit(site: number, invocation = 0): void {
  recorder.exit(site, invocation);
}

export function threw(site: number, invocation = 0): void {
  recorder.threw(site, invocation);
}

/** Just before an await: records the suspension; returns the awaited value. */
export function suspend<T>(site: number, invocation: number, value: T): T {
  recorder.suspend(site, invocation);
  return value;
}

/** First thing after an await: starts the continuation's task; returns the awaited result. */
export function resume<T>(site: number, invocation: number, value: T): T {
  recorder.resume(site, invocation);
  return value;
}

/** First thing in a catch or finally of async code (see Recorder.caught). */
export function caught(invocation: number): void {
  recorder.caught(invocation);
}
