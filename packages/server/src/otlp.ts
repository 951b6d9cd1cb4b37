/**
 * OTLP/HTTP JSON traces (an ExportTraceServiceRequest): the spans of OpenTelemetry SDKs in any
 * language, joined to Causeway traces by their trace id. Only what the trace views use is kept.
 */

import { ServerError, ServerErrorCode } from './errors.ts';
import type { SpanRow } from './store/store.ts';

function bad(problem: string): never {
  throw new ServerError(ServerErrorCode.OTLP_INVALID, `OTLP request: ${problem}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An OTLP AnyValue as plain JSON. */
function anyValue(value: unknown): unknown {
  if (!isObject(value)) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('arrayValue' in value && isObject(value.arrayValue)) {
    return ((value.arrayValue.values as unknown[]) ?? []).map(anyValue);
  }
  return null;
}

function attributes(list: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (!Array.isArray(list)) return result;
  for (const entry of list) {
    if (isObject(entry) && typeof entry.key === 'string') result[entry.key] = anyValue(entry.value);
  }
  return result;
}

const HEX_ID = (length: number) => new RegExp(`^[0-9a-fA-F]{${length}}$`);
const TRACE_ID = HEX_ID(32);
const SPAN_ID = HEX_ID(16);

function nanos(value: unknown, where: string): string {
  if ((typeof value === 'string' && /^\d+$/.test(value)) || Number.isSafeInteger(value)) return String(value);
  bad(`${where} should be nanoseconds since 1970 (a decimal string or integer)`);
}

/** The spans of an ExportTraceServiceRequest in JSON. */
export function parseOtlpTraces(body: unknown): SpanRow[] {
  if (!isObject(body) || !Array.isArray(body.resourceSpans)) bad('the body should be {resourceSpans: [...]}');
  const spans: SpanRow[] = [];
  body.resourceSpans.forEach((resourceSpans: unknown, r: number) => {
    if (!isObject(resourceSpans)) bad(`resourceSpans[${r}] is not an object`);
    const resource = isObject(resourceSpans.resource) ? attributes(resourceSpans.resource.attributes) : {};
    const service =
      typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service';
    const scopes = resourceSpans.scopeSpans ?? [];
    if (!Array.isArray(scopes)) bad(`resourceSpans[${r}].scopeSpans should be an array`);
    scopes.forEach((scope: unknown, s: number) => {
      const list = isObject(scope) ? (scope.spans ?? []) : null;
      if (!Array.isArray(list)) bad(`resourceSpans[${r}].scopeSpans[${s}].spans should be an array`);
      list.forEach((span: unknown, i: number) => {
        const where = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        if (!isObject(span)) bad(`${where} is not an object`);
        if (typeof span.traceId !== 'string' || !TRACE_ID.test(span.traceId)) {
          bad(`${where}.traceId should be 32 hex digits, got ${JSON.stringify(span.traceId)}`);
        }
        if (typeof span.spanId !== 'string' || !SPAN_ID.test(span.spanId)) {
          bad(`${where}.spanId should be 16 hex digits, got ${JSON.stringify(span.spanId)}`);
        }
        const parent = span.parentSpanId;
        if (parent !== undefined && parent !== '' && (typeof parent !== 'string' || !SPAN_ID.test(parent))) {
          bad(`${where}.parentSpanId should be 16 hex digits or empty`);
        }
        spans.push({
          traceId: span.traceId.toLowerCase(),
          spanId: span.spanId.toLowerCase(),
          parentSpanId: typeof parent === 'string' && parent !== '' ? parent.toLowerCase() : null,
          service,
          name: typeof span.name === 'string' ? span.name : '',
          kind: Number.isInteger(span.kind) ? (span.kind as number) : 0,
          startNs: nanos(span.startTimeUnixNano, `${where}.startTimeUnixNano`),
          endNs: nanos(span.endTimeUnixNano, `${where}.endTimeUnixNano`),
          attributes: attributes(span.attributes),
        });
      });
    });
  });
  return spans;
}
