/**
 * Outgoing HTTP requests, from the channels Node publishes: `http.client.request.created`,
 * `http.client.response.finish` (published when the response's headers arrive) and
 * `http.client.request.error` for `http.request`/`https.request`; `undici:request:create`,
 * `undici:request:headers` and `undici:request:error` for the global `fetch`. Both creation
 * channels fire synchronously inside the call that sends the request, so the current task is the
 * sender's.
 *
 * A request's timeout shows differently in each: `http.request` emits 'timeout' (and the
 * application then usually destroys the request), so a 'timeout' listener marks the exchange;
 * undici's timeout errors carry `UND_ERR_*_TIMEOUT` codes, and an `AbortSignal.timeout()` aborts
 * with a `TimeoutError`.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { EventKind, ExchangeFlag } from '@causeway/core/event-format';
import { BATCH_CONTENT_TYPE } from '@causeway/core/wire-format';
import type { Recorder } from '../runtime/recorder.ts';
import { newSpanId } from '../runtime/sampling.ts';
import {
  BodyHead,
  bodyJson,
  CAPTURE_NAMES,
  type CaptureSettings,
  DEFAULT_CAPTURE,
  headersJson,
  recordCapture,
} from './capture.ts';
import { guarded, interceptorFailed } from './guard.ts';
import { pathOf } from './http-server.ts';
import type { RecordingIdentity } from './index.ts';
import { activeSpanContext, lazyOtel, otelTraceparent } from './otel.ts';
import {
  CAUSEWAY_RESPONSE,
  CAUSEWAY_TRACE,
  causewayTraceHeader,
  readResponder,
  TRACEPARENT,
  traceparentHeader,
  unsampledTraceparent,
} from './propagation.ts';

let malformedResponses = 0;

/** Responses whose `x-causeway-response` header was malformed and ignored, since the process started. */
export function malformedResponseHeaders(): number {
  return malformedResponses;
}

/** The value of header `name` (lower case) in undici's raw list (name, value, ... as Buffers or strings). */
function rawHeader(headers: unknown, name: string): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  let found: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const key = headers[i] as { length?: unknown } | null;
    // Compare lengths first: most headers are not ours, and need no string made of them.
    if (key === null || key.length !== name.length || String(key).toLowerCase() !== name) continue;
    // A repeated header is malformed, as on requests.
    if (found !== undefined) return `${found},`;
    found = String(headers[i + 1]);
  }
  return found;
}

interface ClientExchange {
  id: number;
  start: number;
  timedOut: boolean;
  ended: boolean;
  /** The first bytes of the bodies (fetch, with capture on); null when not captured. */
  requestBody: BodyHead | null;
  responseBody: BodyHead | null;
}

/** Name/value pairs of undici's raw header list (name, value, ... as Buffers or strings). */
function* rawPairs(headers: unknown): Iterable<[string, unknown]> {
  if (!Array.isArray(headers)) return;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const value: unknown = headers[i + 1];
    yield [String(headers[i]), Array.isArray(value) ? value.map(String) : String(value)];
  }
}

/** The fields of undici's request object the interceptor reads. */
interface UndiciRequest {
  method?: unknown;
  origin?: unknown;
  path?: unknown;
  /** Name, value, name, value, ... */
  headers?: unknown;
  addHeader?: (name: string, value: string) => unknown;
}

export const CLIENT_CHANNELS = {
  httpCreated: 'http.client.request.created',
  httpResponse: 'http.client.response.finish',
  httpError: 'http.client.request.error',
  undiciCreate: 'undici:request:create',
  undiciHeaders: 'undici:request:headers',
  undiciError: 'undici:request:error',
  undiciBodyChunkSent: 'undici:request:bodyChunkSent',
  undiciBodySent: 'undici:request:bodySent',
  undiciBodyChunkReceived: 'undici:request:bodyChunkReceived',
  undiciTrailers: 'undici:request:trailers',
} as const;

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** What an error is called in records: its code when it has one, else its name. */
export function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'Error';
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  return typeof name === 'string' && name !== '' ? name : 'Error';
}

function isTimeout(error: unknown): boolean {
  const name = errorName(error);
  return TIMEOUT_CODES.has(name) || name === 'TimeoutError';
}

/** Does an undici request carry the wire format's content type (runtime/transport.ts sends it)? */
function isCausewayBatch(headers: unknown): boolean {
  if (!Array.isArray(headers)) return false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === 'content-type') {
      return String(headers[i + 1]).startsWith(BATCH_CONTENT_TYPE);
    }
  }
  return false;
}

/** Subscribes the client interceptor; returns what unsubscribes it. */
export function installHttpClient(
  recorder: Recorder,
  identity: RecordingIdentity | null = null,
  capture: CaptureSettings = DEFAULT_CAPTURE,
  /** Where `@opentelemetry/api` is looked for: the application's directory. */
  otelFrom: string = process.cwd(),
): () => void {
  const exchanges = new WeakMap<object, ClientExchange>();
  const otel = lazyOtel(otelFrom);

  /**
   * The traceparent of exchange `id`: OpenTelemetry's active span, when the application has one
   * (recorded, so the recording can be joined to OTel's trace), else Causeway's ids.
   */
  function traceparentFor(causeway: RecordingIdentity, id: number): string {
    const api = otel();
    const span = api === null ? null : activeSpanContext(api);
    if (span === null) return traceparentHeader(causeway.traceId, causeway.stream, id);
    const json = JSON.stringify({ exchange: id, traceId: span.traceId, spanId: span.spanId });
    recordCapture(recorder, CAPTURE_NAMES.otelContext, json, capture.bytes);
    return otelTraceparent(span);
  }
  /**
   * The traceparent of a request sent from an unsampled trace, which is not recorded: OTel's
   * active span's when there is one (OTel decides for its own trace), else the trace's own id with
   * the sampled flag off, so that the receiver does not record it either (runtime/sampling.ts).
   */
  function unsampledParent(): string {
    const api = otel();
    const span = api === null ? null : activeSpanContext(api);
    if (span !== null) return otelTraceparent(span);
    return unsampledTraceparent(recorder.sampler.current().traceId, newSpanId());
  }
  const headers = capture.level !== 'off';
  const bodies = capture.level === 'on';

  function captureHeaders(
    exchange: ClientExchange,
    name: typeof CAPTURE_NAMES.requestHeaders | typeof CAPTURE_NAMES.responseHeaders,
    pairs: Iterable<[string, unknown]>,
  ): void {
    recordCapture(recorder, name, headersJson(exchange.id, pairs, capture.bytes), capture.bytes);
  }

  function captureBody(
    exchange: ClientExchange,
    name: typeof CAPTURE_NAMES.requestBody | typeof CAPTURE_NAMES.responseBody,
    body: BodyHead | null,
  ): void {
    if (body === null) return;
    const json = bodyJson(exchange.id, body.head, body.total, capture.bytes);
    recordCapture(recorder, name, json, capture.bytes);
  }

  function begin(request: object, method: string, url: string): ClientExchange {
    const id = recorder.exchange();
    const methodId = recorder.strings.valueOf(method);
    recorder.exchangeStep(EventKind.HttpClientRequest, 0, methodId, recorder.strings.valueOf(url), id, false);
    const exchange: ClientExchange = {
      id,
      start: recorder.now(),
      timedOut: false,
      ended: false,
      requestBody: null,
      responseBody: null,
    };
    exchanges.set(request, exchange);
    return exchange;
  }

  /**
   * `responder`: the response's x-causeway-response header, as Node gives it (undefined: none);
   * `responseHeaders`: its headers as name/value pairs.
   */
  function respond(
    request: object,
    status: number,
    responder: unknown,
    responseHeaders: () => Iterable<[string, unknown]>,
  ): void {
    const exchange = exchanges.get(request);
    if (exchange === undefined || exchange.ended) return;
    exchange.ended = true;
    const duration = recorder.now() - exchange.start;
    recorder.exchangeStep(EventKind.HttpClientResponse, 0, exchange.id, status, duration, true);
    if (headers) captureHeaders(exchange, CAPTURE_NAMES.responseHeaders, responseHeaders());
    if (bodies) exchange.responseBody = new BodyHead(capture.bytes);
    // Right after the response record: the loader finds the continuation from here.
    if (identity === null) return;
    const read = readResponder(responder);
    if (read === 'malformed') {
      malformedResponses++;
      recorder.exchangeStep(EventKind.ResponseReceived, ExchangeFlag.Malformed, exchange.id, 0, 0, false);
    } else if (read !== null) {
      recorder.exchangeStep(EventKind.ResponseReceived, 0, exchange.id, read.task, read.stream, false);
    }
  }

  function fail(request: object, error: unknown): void {
    const exchange = exchanges.get(request);
    if (exchange === undefined || exchange.ended) return;
    exchange.ended = true;
    const flags = exchange.timedOut || isTimeout(error) ? ExchangeFlag.Timeout : 0;
    const duration = recorder.now() - exchange.start;
    const name = recorder.strings.valueOf(errorName(error));
    recorder.exchangeStep(EventKind.HttpClientError, flags, exchange.id, name, duration, true);
  }

  /** An undici error may come after the response's headers: the body so far is still captured. */
  function endBody(request: object): void {
    const exchange = exchanges.get(request);
    if (exchange === undefined) return;
    captureBody(exchange, CAPTURE_NAMES.responseBody, exchange.responseBody);
    exchange.responseBody = null;
  }

  /** http.request's headers, final once a response or an error came (setHeader may come late). */
  function captureRequestHeaders(request: ClientRequest): void {
    const exchange = exchanges.get(request);
    if (!headers || exchange === undefined || exchange.ended) return;
    captureHeaders(exchange, CAPTURE_NAMES.requestHeaders, Object.entries(request.getHeaders()));
  }

  /**
   * http.request publishes no body chunks: the request's own write and end are wrapped (on the
   * instance, calling the originals with the same arguments) to keep the body's first bytes,
   * recorded when end() is called. Strings count as UTF-8 whatever their encoding argument.
   */
  function followRequestBody(request: ClientRequest, exchange: ClientExchange): void {
    const body = new BodyHead(capture.bytes);
    exchange.requestBody = body;
    const keep = guarded('http client', (chunk: unknown) => body.add(chunk));
    const recordBody = guarded('http client', () => {
      if (exchange.requestBody === null) return;
      captureBody(exchange, CAPTURE_NAMES.requestBody, exchange.requestBody);
      exchange.requestBody = null;
    });
    const write = request.write;
    const end = request.end;
    request.write = function (this: ClientRequest, ...args: unknown[]) {
      keep(args[0]);
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof write;
    request.end = function (this: ClientRequest, ...args: unknown[]) {
      if (typeof args[0] !== 'function') keep(args[0]);
      const result = (end as (...a: unknown[]) => ClientRequest).apply(this, args);
      recordBody();
      return result;
    } as typeof end;
  }

  /**
   * http.request's response body: the response's own emit is wrapped (on the instance) to see the
   * 'data' events the application's reading produces, so nothing is read that the application
   * does not read and the stream flows as it would; recorded at 'end', 'error' or 'close'.
   */
  function followResponseBody(request: ClientRequest, response: IncomingMessage): void {
    const keep = guarded('http client', (chunk: unknown) => exchanges.get(request)?.responseBody?.add(chunk));
    const recordBody = guarded('http client', () => endBody(request));
    const emit = response.emit;
    response.emit = function (this: IncomingMessage, event: string | symbol, ...args: unknown[]) {
      if (event === 'data') keep(args[0]);
      else if (event === 'end' || event === 'error' || event === 'close') recordBody();
      return (emit as (event: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof emit;
  }

  const onTimeout = guarded('http client', function (this: ClientRequest) {
    const exchange = exchanges.get(this);
    if (exchange !== undefined) exchange.timedOut = true;
  });

  const onHttpCreated = guarded('http client', (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (recorder.unsampledNow()) {
      try {
        if (identity !== null && !request.hasHeader(TRACEPARENT))
          request.setHeader(TRACEPARENT, unsampledParent());
      } catch (error) {
        interceptorFailed('http client', error);
      }
      return;
    }
    // The Host header carries the port when it is not the default; ClientRequest does not.
    const host = request.getHeader('host');
    const origin = `${request.protocol}//${typeof host === 'string' ? host : request.host}`;
    const exchange = begin(request, request.method, origin + pathOf(request.path));
    const { id } = exchange;
    request.once('timeout', onTimeout);
    if (bodies) followRequestBody(request, exchange);
    if (identity !== null) {
      try {
        if (!request.hasHeader(TRACEPARENT)) {
          request.setHeader(TRACEPARENT, traceparentFor(identity, id));
        }
        if (!request.hasHeader(CAUSEWAY_TRACE)) {
          request.setHeader(CAUSEWAY_TRACE, causewayTraceHeader(identity.traceId, identity.stream, id));
        }
      } catch (error) {
        // Headers already sent (a request flushed in its constructor): it goes without them.
        interceptorFailed('http client', error);
      }
    }
  });
  const onHttpResponse = guarded('http client', (message: unknown) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    captureRequestHeaders(request);
    respond(request, response.statusCode ?? 0, response.headers[CAUSEWAY_RESPONSE], () =>
      Object.entries(response.headers),
    );
    if (bodies) followResponseBody(request, response);
  });
  const onHttpError = guarded('http client', (message: unknown) => {
    const { request, error } = message as { request: ClientRequest; error: unknown };
    captureRequestHeaders(request);
    fail(request, error);
  });

  const onUndiciCreate = guarded('fetch', (message: unknown) => {
    const { request } = message as { request: UndiciRequest };
    const { method, origin, path } = request;
    if (typeof origin !== 'string' || typeof path !== 'string') return;
    // Causeway's own batches to its server are not the application's traffic: recording them
    // would add records to the trace while it is being sent.
    if (isCausewayBatch(request.headers)) return;
    const headerList = Array.isArray(request.headers) ? request.headers : [];
    const has = (name: string) =>
      headerList.some((value, i) => i % 2 === 0 && String(value).toLowerCase() === name);
    if (recorder.unsampledNow()) {
      if (identity !== null && typeof request.addHeader === 'function' && !has(TRACEPARENT)) {
        request.addHeader(TRACEPARENT, unsampledParent());
      }
      return;
    }
    const exchange = begin(request, typeof method === 'string' ? method : 'GET', origin + pathOf(path));
    const { id } = exchange;
    if (identity !== null && typeof request.addHeader === 'function') {
      if (!has(TRACEPARENT)) {
        request.addHeader(TRACEPARENT, traceparentFor(identity, id));
      }
      if (!has(CAUSEWAY_TRACE)) {
        request.addHeader(CAUSEWAY_TRACE, causewayTraceHeader(identity.traceId, identity.stream, id));
      }
    }
    if (headers) captureHeaders(exchange, CAPTURE_NAMES.requestHeaders, rawPairs(request.headers));
    if (bodies) exchange.requestBody = new BodyHead(capture.bytes);
  });
  const onUndiciHeaders = guarded('fetch', (message: unknown) => {
    const { request, response } = message as {
      request: object;
      response: { statusCode?: unknown; headers?: unknown };
    };
    const status = typeof response.statusCode === 'number' ? response.statusCode : 0;
    respond(request, status, rawHeader(response.headers, CAUSEWAY_RESPONSE), () =>
      rawPairs(response.headers),
    );
  });
  const onUndiciError = guarded('fetch', (message: unknown) => {
    const { request, error } = message as { request: object; error: unknown };
    fail(request, error);
    endBody(request);
  });
  const onUndiciChunkSent = guarded('fetch', (message: unknown) => {
    const { request, chunk } = message as { request: object; chunk: unknown };
    exchanges.get(request)?.requestBody?.add(chunk);
  });
  const onUndiciBodySent = guarded('fetch', (message: unknown) => {
    const exchange = exchanges.get((message as { request: object }).request);
    if (exchange === undefined) return;
    captureBody(exchange, CAPTURE_NAMES.requestBody, exchange.requestBody);
    exchange.requestBody = null;
  });
  const onUndiciChunkReceived = guarded('fetch', (message: unknown) => {
    const { request, chunk } = message as { request: object; chunk: unknown };
    exchanges.get(request)?.responseBody?.add(chunk);
  });
  const onUndiciTrailers = guarded('fetch', (message: unknown) => {
    endBody((message as { request: object }).request);
  });

  const subscriptions: [string, (message: unknown, name: string | symbol) => void][] = [
    [CLIENT_CHANNELS.httpCreated, onHttpCreated],
    [CLIENT_CHANNELS.httpResponse, onHttpResponse],
    [CLIENT_CHANNELS.httpError, onHttpError],
    [CLIENT_CHANNELS.undiciCreate, onUndiciCreate],
    [CLIENT_CHANNELS.undiciHeaders, onUndiciHeaders],
    [CLIENT_CHANNELS.undiciError, onUndiciError],
  ];
  // Subscribers cost undici work per chunk: only when bodies are captured.
  if (bodies) {
    subscriptions.push(
      [CLIENT_CHANNELS.undiciBodyChunkSent, onUndiciChunkSent],
      [CLIENT_CHANNELS.undiciBodySent, onUndiciBodySent],
      [CLIENT_CHANNELS.undiciBodyChunkReceived, onUndiciChunkReceived],
      [CLIENT_CHANNELS.undiciTrailers, onUndiciTrailers],
    );
  }
  for (const [name, fn] of subscriptions) subscribe(name, fn);
  return () => {
    for (const [name, fn] of subscriptions) unsubscribe(name, fn);
  };
}
