/**
 * The data a generated reproduction test embeds (docs/export-test.md, "The recording"): what
 * `causeway export --format test` took from a trace, and what the replay harness follows. Plain
 * JSON: every recorded name and value is data here, never code.
 */

export const RECORDING_VERSION = 2;

/**
 * A value as the trace recorded it: a JSON primitive, or a marker for what JSON cannot hold or the
 * trace did not capture (a redacted key's value stays `{ notCaptured: true }`).
 */
export type RecordedValue =
  | string
  | number
  | boolean
  | null
  | { object: number }
  | { undefined: true }
  | { notCaptured: true };

/** One call of the gated dependency that a request made, with what it read and wrote. */
export interface RecordedCall {
  /** `Class.method`, as the trace names the function. */
  method: string;
  /** 1 for the request's first call of this method, 2 for its second, ... */
  ordinal: number;
  /** Property name and value of each read / write the call made, in order. */
  reads: [string, RecordedValue][];
  writes: [string, RecordedValue][];
}

export interface RecordedRequest {
  /** 1-based, in the order the replayed requests arrived in the recording. */
  request: number;
  method: string;
  /** The path, without the query (the trace drops it). */
  path: string;
  /** The status it answered; null when the recording ended first. */
  status: number | null;
  /** When it arrived, in ms on the recorded clock (see `ReplayRecording.clock`); null when not recorded. */
  atMs: number | null;
  /** Its headers, captured with `CAUSEWAY_CAPTURE=on` (secret-looking ones not captured); else none. */
  headers: [string, string | { notCaptured: true }][];
  /** Its body as text, captured whole with `CAUSEWAY_CAPTURE=on`; else not captured. */
  body: string | { notCaptured: true };
  calls: RecordedCall[];
  /** The outgoing HTTP requests and database queries it made, in the order it made them. */
  outgoing: RecordedExchange[];
}

/**
 * A column value of a captured row: a JSON primitive, `{ json }` for an object or array (its JSON
 * text, so that recorded keys stay data), `{ notCaptured: true }` for a redacted one.
 */
export type RecordedColumn = string | number | boolean | null | { json: string } | { notCaptured: true };

/** An outgoing HTTP request a recorded request made (`request 2, http #1`), and its answer. */
export interface RecordedHttpCall {
  kind: 'http';
  /** 1 for the request's first outgoing HTTP request, 2 for its second, ... */
  ordinal: number;
  method: string;
  /** Origin and path, without the query (the trace drops it). */
  url: string;
  /** The response's status; null when it failed (`error`) or the recording ended first. */
  status: number | null;
  /** Why it failed (`ECONNREFUSED`, `TimeoutError`); null when it was answered. */
  error: string | null;
  /** The response's headers, as captured (`CAUSEWAY_CAPTURE` headers or on); redacted ones not captured. */
  headers: [string, string | { notCaptured: true }][];
  /** The response's body as text: captured with `CAUSEWAY_CAPTURE=on`, whole; else not captured. */
  body: string | { notCaptured: true };
}

/** A database query a recorded request made (`request 2, db #3`), and its result. */
export interface RecordedDbCall {
  kind: 'db';
  ordinal: number;
  /** The statement as recorded (string literals blanked). */
  statement: string;
  /** The rows it affected or returned; null when unknown. */
  rowCount: number | null;
  /** It failed. */
  failed: boolean;
  /** Its rows, each as column/value pairs: captured with `CAUSEWAY_CAPTURE=on`, all of them; else not captured. */
  rows: [string, RecordedColumn][][] | { notCaptured: true };
}

export type RecordedExchange = RecordedHttpCall | RecordedDbCall;

/** One step of the recorded interleaving: this call of this request ran now. */
export interface ReplayStep {
  request: number;
  method: string;
  ordinal: number;
  /** When the task that ran the step started, in ms on the recorded clock; null when not recorded. */
  atMs: number | null;
}

/** A lost update's invariant: every request's change of the location reaches it. */
export interface RecordedInvariant {
  /** The finding, as `causeway analyze` tells it. */
  finding: string;
  /** The key the location's object is stored under (`carol`), and the property (`balance`). */
  key: string;
  property: string;
  /** The value first seen, each request's change, and what they add up to. */
  initial: number;
  changes: { request: number; change: number }[];
  expected: number;
  /** What the recorded run ended with. */
  recordedFinal: number;
}

export interface ReplayRecording {
  version: typeof RECORDING_VERSION;
  traceId: string;
  /**
   * The recorded clock: `atMs` values are ms since `originMs`, the wall-clock time (ms since 1970)
   * the recording's stream counts from (its `performance.timeOrigin`). During a replay,
   * `performance.now()` reads `atMs` and `Date.now()` reads `originMs + atMs`.
   */
  clock: { originMs: number };
  /** The class whose async methods are the gated await points (`MemoryAccountStore`). */
  gatedClass: string;
  /** The replayed requests, numbered 1, 2, ... in recorded arrival order. */
  requests: RecordedRequest[];
  /** Requests left out (`GET /health`): they made no call of the gated class. */
  leftOut: string[];
  steps: ReplayStep[];
  invariants: RecordedInvariant[];
}

/** `request 2, http #1: GET http://shipping/quote`: how messages name an outgoing call. */
export function describeExchange(request: number, call: RecordedExchange): string {
  const what = call.kind === 'http' ? `${call.method} ${call.url}` : call.statement;
  return `request ${request}, ${call.kind} #${call.ordinal}: ${what}`;
}

/** `request 2, MemoryAccountStore.find #1`: how messages name a step. */
export function describeStep(
  step: Pick<ReplayStep, 'request' | 'method' | 'ordinal'>,
  requests: readonly RecordedRequest[],
): string {
  const request = requests[step.request - 1];
  const what = request === undefined ? '' : ` (${request.method} ${request.path})`;
  return `request ${step.request}${what}, ${step.method} #${step.ordinal}`;
}
