/**
 * OpenTelemetry interop without depending on it: `@opentelemetry/api` is loaded only if the
 * application can load it (resolved from its working directory), once, on the first outgoing
 * request. When it has an active, valid span context as a request goes out, that context's trace
 * id and span id make the request's `traceparent`, so OTel's tracing and Causeway's agree on the
 * request. Causeway's own ids still travel in `x-causeway-trace`.
 */

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { interceptorFailed } from './guard.ts';

/** What Causeway uses of `@opentelemetry/api` (stable since its 1.0). */
interface OtelApi {
  context: { active(): unknown };
  trace: { getSpanContext(context: unknown): unknown };
}

export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** `@opentelemetry/api` as the application at `from` would load it, or null. */
export function loadOtel(from: string): OtelApi | null {
  let api: unknown;
  try {
    api = createRequire(join(from, 'package.json'))('@opentelemetry/api');
  } catch {
    return null; // the application does not use OpenTelemetry
  }
  const candidate = api as Partial<OtelApi> | null;
  if (
    typeof candidate?.context?.active !== 'function' ||
    typeof candidate.trace?.getSpanContext !== 'function'
  ) {
    return null;
  }
  return candidate as OtelApi;
}

/** The active span context, when there is a valid one (non-zero ids). */
export function activeSpanContext(api: OtelApi): OtelSpanContext | null {
  try {
    const found = api.trace.getSpanContext(api.context.active()) as Partial<OtelSpanContext> | undefined;
    const { traceId, spanId, traceFlags } = found ?? {};
    if (typeof traceId !== 'string' || !TRACE_ID.test(traceId) || /^0+$/.test(traceId)) return null;
    if (typeof spanId !== 'string' || !SPAN_ID.test(spanId) || /^0+$/.test(spanId)) return null;
    return { traceId, spanId, traceFlags: typeof traceFlags === 'number' ? traceFlags & 0xff : 0 };
  } catch (error) {
    interceptorFailed('opentelemetry', error);
    return null;
  }
}

/** The W3C traceparent naming an OTel span context. */
export function otelTraceparent(span: OtelSpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
}

/** Loads `@opentelemetry/api` on first use, from `from`; afterwards the same answer. */
export function lazyOtel(from: string): () => OtelApi | null {
  let api: OtelApi | null | undefined;
  return () => {
    if (api === undefined) api = loadOtel(from);
    return api;
  };
}
