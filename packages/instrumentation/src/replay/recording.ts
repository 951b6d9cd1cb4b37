/**
 * The data a generated reproduction test embeds (docs/export-test.md, "The recording"): what
 * `causeway export --format test` took from a trace, and what the replay harness follows. Plain
 * JSON: every recorded name and value is data here, never code.
 */

export const RECORDING_VERSION = 1;

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
  calls: RecordedCall[];
}

/** One step of the recorded interleaving: this call of this request ran now. */
export interface ReplayStep {
  request: number;
  method: string;
  ordinal: number;
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
  /** The class whose async methods are the gated await points (`MemoryAccountStore`). */
  gatedClass: string;
  /** The replayed requests, numbered 1, 2, ... in recorded arrival order. */
  requests: RecordedRequest[];
  /** Requests left out (`GET /health`): they made no call of the gated class. */
  leftOut: string[];
  steps: ReplayStep[];
  invariants: RecordedInvariant[];
}

/** `request 2, MemoryAccountStore.find #1`: how messages name a step. */
export function describeStep(step: ReplayStep, requests: readonly RecordedRequest[]): string {
  const request = requests[step.request - 1];
  const what = request === undefined ? '' : ` (${request.method} ${request.path})`;
  return `request ${step.request}${what}, ${step.method} #${step.ordinal}`;
}
