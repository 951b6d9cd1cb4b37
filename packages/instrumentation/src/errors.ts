/**
 * Errors of @causeway/instrumentation. None of them is ever thrown into the instrumented
 * application: they are reported once on stderr as warnings, and recording carries on or stops.
 * docs/errors.md lists them; a test keeps the two in agreement.
 */

export const InstrumentationErrorCode = {
  /** A CAUSEWAY_* environment variable has a value Causeway does not understand; it is ignored. */
  CONFIG_INVALID: 'CW_CONFIG_INVALID',
  /** The trace file cannot be created or written; recording stops, the application goes on. */
  TRACE_WRITE: 'CW_TRACE_WRITE',
  /** A module could not be instrumented; it runs uninstrumented. */
  MODULE_SKIPPED: 'CW_MODULE_SKIPPED',
  /** A construct in a module could not be instrumented; it runs as written, the rest is instrumented. */
  CONSTRUCT_SKIPPED: 'CW_CONSTRUCT_SKIPPED',
  /** A module names a source map that cannot be read; its code is instrumented, mapped to itself. */
  SOURCE_MAP_UNREADABLE: 'CW_SOURCE_MAP_UNREADABLE',
  /** A probe met a value it cannot record (for example a malformed site table); it is ignored. */
  PROBE_INPUT: 'CW_PROBE_INPUT',
  /** A probe failed inside Causeway; the event is not recorded and the application goes on. */
  PROBE_FAILED: 'CW_PROBE_FAILED',
  /** CAUSEWAY_SERVER cannot be reached or refused a batch; the trace file still has every record. */
  TRANSPORT_FAILED: 'CW_TRANSPORT_FAILED',
} as const;
export type InstrumentationErrorCode =
  (typeof InstrumentationErrorCode)[keyof typeof InstrumentationErrorCode];

const warned = new Set<string>();

/** Prints `causeway: warning CODE: message` on stderr, once per distinct message. */
export function warn(code: InstrumentationErrorCode, message: string): void {
  const line = `causeway: warning ${code}: ${message}`;
  if (warned.has(line)) return;
  warned.add(line);
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // stderr closed: nothing else to tell.
  }
}
