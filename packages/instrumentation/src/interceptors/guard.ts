/**
 * Interceptors run inside the application's I/O paths (diagnostics_channel subscribers, patched
 * methods). A failure of Causeway's own there must never reach the application: every entry
 * point goes through `guarded`, which counts the failure and warns once, like the access probes.
 */

import { InstrumentationErrorCode, warn } from '../errors.ts';

let failures = 0;

/** Interceptor calls that failed inside Causeway since the process started. */
export function interceptorFailures(): number {
  return failures;
}

/** Counts a failure of the interceptor `name`; the first one of the process is reported. */
export function interceptorFailed(name: string, error: unknown): void {
  if (failures++ === 0) {
    warn(
      InstrumentationErrorCode.PROBE_FAILED,
      `the ${name} interceptor failed (${error instanceof Error ? error.message : String(error)}); the event was not recorded and later failures are only counted`,
    );
  }
}

/** `fn`, made unable to throw: a failure is counted and reported once. */
export function guarded<T, A extends unknown[]>(
  name: string,
  fn: (this: T, ...args: A) => void,
): (this: T, ...args: A) => void {
  return function (this: T, ...args: A) {
    try {
      fn.apply(this, args);
    } catch (error) {
      interceptorFailed(name, error);
    }
  };
}
