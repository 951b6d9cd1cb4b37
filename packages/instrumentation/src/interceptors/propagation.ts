/**
 * The propagation headers (docs/propagation.md is the contract; this module writes and reads
 * them): `traceparent` (W3C Trace Context) and `x-causeway-trace`, which name the sender's
 * recording, stream and exchange; and the response header `x-causeway-response`, which names the
 * task that sent the response. Readers validate exactly and bound the length: a header from
 * the network is untrusted input.
 */

import type { IncomingContext } from '../runtime/sampling.ts';

export const TRACEPARENT = 'traceparent';
export const CAUSEWAY_TRACE = 'x-causeway-trace';
export const CAUSEWAY_RESPONSE = 'x-causeway-response';
export const PROPAGATION_VERSION = 1;
/** Longest header value read; longer ones are malformed. */
export const MAX_HEADER_LENGTH = 128;

const MAX_U32 = 0xffff_ffff;
const CAUSEWAY_FORMAT = /^1-([0-9a-f]{32})-(\d{1,10})-(\d{1,10})$/;
const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const RESPONSE_FORMAT = /^1-(\d{1,10})-(\d{1,10})$/;
const ZERO_TRACE = '0'.repeat(32);

/** Where a request was sent from. */
export interface Sender {
  traceId: string;
  /** 0 when only a traceparent came. */
  stream: number;
  exchange: number;
}

/** The outcome of reading the headers of a request. */
export type Received = { sender: Sender } | { malformed: string } | null;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function causewayTraceHeader(traceId: string, stream: number, exchange: number): string {
  return `${PROPAGATION_VERSION}-${traceId}-${stream}-${exchange}`;
}

export function traceparentHeader(traceId: string, stream: number, exchange: number): string {
  return `00-${traceId}-${hex8(stream)}${hex8(exchange)}-01`;
}

/**
 * The traceparent of a message sent from an unsampled trace (runtime/sampling.ts): its sampled
 * flag off, so the receiver does not record it either. `spanId`: 16 hex digits, not all zeros.
 */
export function unsampledTraceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-00`;
}

/** Reads a request's propagation headers (as Node gives them: a string, an array, or absent). */
export function readPropagation(causeway: unknown, traceparent: unknown): Received {
  if (causeway !== undefined) {
    const value = typeof causeway === 'string' ? causeway : null;
    if (value === null || value.length > MAX_HEADER_LENGTH) return { malformed: CAUSEWAY_TRACE };
    const match = CAUSEWAY_FORMAT.exec(value);
    const stream = Number(match?.[2]);
    const exchange = Number(match?.[3]);
    if (match === null || stream > MAX_U32 || exchange > MAX_U32 || match[1] === ZERO_TRACE) {
      return { malformed: CAUSEWAY_TRACE };
    }
    return { sender: { traceId: match[1] as string, stream, exchange } };
  }
  if (traceparent !== undefined) {
    const value = typeof traceparent === 'string' ? traceparent : null;
    if (value === null || value.length > MAX_HEADER_LENGTH) return { malformed: TRACEPARENT };
    const match = TRACEPARENT_FORMAT.exec(value);
    if (match === null || match[1] === ZERO_TRACE || match[2] === '0'.repeat(16))
      return { malformed: TRACEPARENT };
    return { sender: { traceId: match[1] as string, stream: 0, exchange: 0 } };
  }
  return null;
}

/** A valid W3C traceparent's trace id, parent (span) id and sampled flag (bit 0 of its flags), or null. */
export function readTraceparent(
  value: unknown,
): { traceId: string; spanId: string; sampled: boolean } | null {
  if (typeof value !== 'string' || value.length > MAX_HEADER_LENGTH) return null;
  const match = TRACEPARENT_FORMAT.exec(value);
  if (match === null || match[1] === ZERO_TRACE || match[2] === '0'.repeat(16)) return null;
  const sampled = (Number.parseInt(match[3] as string, 16) & 1) === 1;
  return { traceId: match[1] as string, spanId: match[2] as string, sampled };
}

/**
 * What sampling needs from a request's headers (`received` from readPropagation, `parent` from
 * readTraceparent): a request from a Causeway recording was recorded by its sender, so it is
 * recorded here; otherwise a traceparent's trace id and sampled flag decide; null when neither
 * came (or they were malformed): the request starts a trace.
 */
export function incomingSampling(
  received: Received,
  parent: ReturnType<typeof readTraceparent>,
): IncomingContext | null {
  if (received !== null && 'sender' in received && received.sender.stream !== 0) {
    return { traceId: received.sender.traceId, sampled: true, fromCauseway: true };
  }
  if (parent === null) return null;
  return { traceId: parent.traceId, sampled: parent.sampled, fromCauseway: false };
}

/** The task that sent a response, in the responder's recording. */
export interface Responder {
  stream: number;
  task: number;
}

export function causewayResponseHeader(stream: number, task: number): string {
  return `${PROPAGATION_VERSION}-${stream}-${task}`;
}

/**
 * Reads a response's `x-causeway-response` header (a string, an array, or absent): the responder,
 * 'malformed' (ignored), or null when there is none.
 */
export function readResponder(value: unknown): Responder | 'malformed' | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value.length > MAX_HEADER_LENGTH) return 'malformed';
  const match = RESPONSE_FORMAT.exec(value);
  const stream = Number(match?.[1]);
  const task = Number(match?.[2]);
  if (match === null || stream > MAX_U32 || task > MAX_U32 || task === 0) return 'malformed';
  return { stream, task };
}
