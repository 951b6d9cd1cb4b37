/**
 * The outgoing calls of the replayed requests (docs/export-test.md, "Outgoing calls"): each
 * request's HTTP requests and database queries in the order it made them, keyed by causal identity
 * (request 2, http #1; request 2, db #3), with their answers as the trace holds them: status and
 * row count always, headers, bodies and rows when the run was recorded with CAUSEWAY_CAPTURE.
 */

import type { TraceEvent } from '@causeway/core';
import { ExchangeFlag } from '@causeway/core/event-format';
import type {
  RecordedColumn,
  RecordedDbCall,
  RecordedHttpCall,
  RecordedRequest,
} from '@causeway/instrumentation/replay';

/** What the runtime writes in place of a secret-looking value (runtime/strings.ts). */
const REDACTED = '[redacted]';
const NOT_CAPTURED = { notCaptured: true } as const;

/** The capture names the runtime records (interceptors/capture.ts, docs/event-format.md). */
const CAPTURES = {
  requestHeaders: 'causeway:http.server.request.headers',
  requestBody: 'causeway:http.server.request.body',
  responseHeaders: 'causeway:http.response.headers',
  responseBody: 'causeway:http.response.body',
  rows: 'causeway:db.rows',
} as const;

/** A statement that answers with rows; any other answers none (an UPDATE's `rows` is empty). */
const RETURNS_ROWS = /^\s*(select|with|values|show|table|explain)\b|\breturning\b/i;

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function column(value: unknown): RecordedColumn {
  if (value === REDACTED) return NOT_CAPTURED;
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
    return value as RecordedColumn;
  return { json: JSON.stringify(value) };
}

/** Column/value pairs: recorded column names stay data, never object keys of the recording. */
function rowPairs(row: unknown): [string, RecordedColumn][] {
  if (typeof row !== 'object' || row === null) return [];
  return Object.entries(row).map(([name, value]) => [name, column(value)]);
}

/** The key that joins an exchange's records and captures: `stream:exchange id`. */
export function exchangeKey(stream: number, id: number): string {
  return `${stream}:${id}`;
}

/**
 * Adds to each request of `requestOf` its outgoing calls. `requestOf(event)`: the replayed request
 * whose handler ran the event's task, if any. Returns every query of the trace (the replayed
 * requests' and the others'), by exchangeKey, with its rows as captured.
 */
export function addOutgoingCalls(
  events: readonly TraceEvent[],
  requestOf: (event: TraceEvent) => RecordedRequest | undefined,
): ReadonlyMap<string, RecordedDbCall> {
  const http = new Map<string, RecordedHttpCall>();
  const db = new Map<string, RecordedDbCall>();
  const ordinals = new Map<RecordedRequest, { http: number; db: number }>();
  const next = (request: RecordedRequest, kind: 'http' | 'db') => {
    const counts = ordinals.get(request) ?? { http: 0, db: 0 };
    ordinals.set(request, counts);
    counts[kind] += 1;
    return counts[kind];
  };
  for (const event of events) {
    const exchange = event.exchange;
    if (exchange === null) continue;
    const key = exchangeKey(event.stream, exchange.id);
    switch (event.kindName) {
      case 'http-client-request': {
        const request = requestOf(event);
        if (request === undefined) break;
        const call: RecordedHttpCall = {
          kind: 'http',
          ordinal: next(request, 'http'),
          method: exchange.name ?? 'GET',
          url: exchange.text ?? '',
          status: null,
          error: null,
          headers: [],
          body: NOT_CAPTURED,
        };
        request.outgoing.push(call);
        http.set(key, call);
        break;
      }
      case 'http-client-response': {
        const call = http.get(key);
        if (call !== undefined) call.status = exchange.count;
        break;
      }
      case 'http-client-error': {
        const call = http.get(key);
        if (call !== undefined) call.error = exchange.name ?? 'Error';
        break;
      }
      case 'db-query': {
        const request = requestOf(event);
        const statement = exchange.text ?? '';
        const call: RecordedDbCall = {
          kind: 'db',
          ordinal: request === undefined ? 0 : next(request, 'db'),
          statement,
          rowCount: null,
          failed: false,
          // Rows are captured only when there are some: a statement that returns none has none.
          rows: RETURNS_ROWS.test(statement) ? NOT_CAPTURED : [],
        };
        request?.outgoing.push(call);
        db.set(key, call);
        break;
      }
      case 'db-result': {
        const call = db.get(key);
        if (call === undefined) break;
        call.rowCount = exchange.count;
        call.failed = (event.flags & ExchangeFlag.Failed) !== 0;
        if (exchange.count === 0 && !call.failed) call.rows = [];
        break;
      }
      case 'custom-event':
        addCapture(exchange.name, parseObject(exchange.text), event.stream, http, db);
        break;
    }
  }
  return db;
}

/** Header pairs as captured: values joined, redacted ones not captured. */
function headerPairs(headers: object): [string, string | { notCaptured: true }][] {
  return Object.entries(headers).map(([header, value]) => {
    const text = Array.isArray(value) ? value.map(String).join(', ') : String(value);
    return [header, text === REDACTED ? NOT_CAPTURED : text];
  });
}

/**
 * The headers and body of incoming requests, as captured (CAUSEWAY_CAPTURE=on), by the request's
 * task: `stream:local task id`.
 */
export function incomingCaptures(
  events: readonly TraceEvent[],
): Map<string, Pick<RecordedRequest, 'headers' | 'body'>> {
  const captured = new Map<string, Pick<RecordedRequest, 'headers' | 'body'>>();
  for (const event of events) {
    const name = event.exchange?.name;
    if (
      event.kindName !== 'custom-event' ||
      (name !== CAPTURES.requestHeaders && name !== CAPTURES.requestBody)
    )
      continue;
    const data = parseObject(event.exchange?.text ?? null);
    if (data === null || typeof data.request !== 'number') continue;
    const key = `${event.stream}:${data.request}`;
    const entry = captured.get(key) ?? { headers: [], body: NOT_CAPTURED };
    captured.set(key, entry);
    if (name === CAPTURES.requestHeaders && typeof data.headers === 'object' && data.headers !== null) {
      entry.headers = headerPairs(data.headers);
    } else if (name === CAPTURES.requestBody && data.truncated !== true && typeof data.text === 'string') {
      entry.body = data.text;
    }
  }
  return captured;
}

/** A capture's data joined to its exchange, by id within the stream. */
function addCapture(
  name: string | null,
  data: Record<string, unknown> | null,
  stream: number,
  http: ReadonlyMap<string, RecordedHttpCall>,
  db: ReadonlyMap<string, RecordedDbCall>,
): void {
  if (data === null || typeof data.exchange !== 'number') return;
  const key = exchangeKey(stream, data.exchange);
  const whole = data.truncated !== true;
  if (name === CAPTURES.responseHeaders) {
    const call = http.get(key);
    const headers = data.headers;
    if (call === undefined || typeof headers !== 'object' || headers === null) return;
    call.headers = headerPairs(headers);
  } else if (name === CAPTURES.responseBody) {
    const call = http.get(key);
    if (call !== undefined && whole && typeof data.text === 'string') call.body = data.text;
  } else if (name === CAPTURES.rows) {
    const call = db.get(key);
    if (call !== undefined && whole && Array.isArray(data.rows)) call.rows = data.rows.map(rowPairs);
  }
}
