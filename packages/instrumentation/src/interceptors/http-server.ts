/**
 * Incoming HTTP requests (node:http and node:https servers, so also Express and Fastify, which
 * run on them), from the channels Node publishes: `http.server.request.start` fires just before
 * the server emits 'request', so the task it starts is the one the application's handler runs
 * in; `http.server.response.finish` ends the exchange. A response whose connection closes first
 * ends as Failed (from its 'close' event, which no channel reports).
 *
 * The response header naming the responder (`x-causeway-response`, docs/propagation.md) must be
 * set while the application writes the response's head, in the task that writes it: no channel
 * fires then, so `ServerResponse.prototype.writeHead` (which `end()` and frameworks call) is
 * wrapped, and unwrapped on uninstall. Only requests that came from a Causeway recording (a valid
 * `x-causeway-trace`) get it.
 *
 * Routes: Fastify publishes the matched route on its `fastify.request.handler` TracingChannel;
 * Express publishes nothing, but leaves the matched route on the request (`req.route`,
 * `req.baseUrl`), read when the response ends. Plain node:http has no routes.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type IncomingMessage, ServerResponse } from 'node:http';
import { EventKind, ExchangeFlag } from '@causeway/core/event-format';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import type { Recorder } from '../runtime/recorder.ts';
import {
  BodyHead,
  bodyJson,
  CAPTURE_NAMES,
  type CaptureSettings,
  DEFAULT_CAPTURE,
  headersJson,
  recordCapture,
} from './capture.ts';
import { guarded } from './guard.ts';
import type { RecordingIdentity } from './index.ts';
import {
  CAUSEWAY_RESPONSE,
  CAUSEWAY_TRACE,
  causewayResponseHeader,
  incomingSampling,
  type Received,
  readPropagation,
  readTraceparent,
  TRACEPARENT,
} from './propagation.ts';

interface ServerExchange {
  task: number;
  start: number;
  /** The route pattern a framework published, if any. */
  route: string | null;
  ended: boolean;
  /** Did the request come from a Causeway recording (so its response names its sender)? */
  fromRecording: boolean;
}

interface RequestMessage {
  request: IncomingMessage;
  response: ServerResponse;
}

interface FastifyHandlerMessage {
  request?: { raw?: IncomingMessage };
  route?: { url?: unknown };
}

/** What Express 5 leaves on a request it routed. */
interface ExpressRequest {
  route?: { path?: unknown };
  baseUrl?: unknown;
}

export const SERVER_CHANNELS = {
  requestStart: 'http.server.request.start',
  responseFinish: 'http.server.response.finish',
  fastifyHandlerStart: 'tracing:fastify.request.handler:start',
} as const;

/** The request target without its query, which often carries tokens. */
export function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

function expressRoute(request: IncomingMessage): string | null {
  const routed = request as IncomingMessage & ExpressRequest;
  const path = routed.route?.path;
  if (typeof path !== 'string') return null;
  return typeof routed.baseUrl === 'string' ? routed.baseUrl + path : path;
}

let malformedHeaders = 0;

/** Requests whose propagation headers were malformed and ignored, since the process started. */
export function malformedPropagationHeaders(): number {
  return malformedHeaders;
}

/** Writes the MessageReceived record of the request task just begun. */
function recordReceived(recorder: Recorder, received: NonNullable<Received>): void {
  if ('malformed' in received) {
    malformedHeaders++;
    warn(
      InstrumentationErrorCode.PROBE_INPUT,
      `ignored a malformed or oversized ${received.malformed} header of an incoming request (see docs/propagation.md); later ones are only counted`,
    );
    recorder.exchangeStep(EventKind.MessageReceived, ExchangeFlag.Malformed, 0, 0, 0, false);
    return;
  }
  const { traceId, stream, exchange } = received.sender;
  recorder.exchangeStep(
    EventKind.MessageReceived,
    0,
    recorder.strings.valueOf(traceId),
    exchange,
    stream,
    false,
  );
}

/** Subscribes the server interceptor; returns what unsubscribes it. */
export function installHttpServer(
  recorder: Recorder,
  identity: RecordingIdentity | null = null,
  capture: CaptureSettings = DEFAULT_CAPTURE,
): () => void {
  const exchanges = new WeakMap<IncomingMessage, ServerExchange>();

  const nameResponder = guarded('http server', (response: ServerResponse) => {
    if (identity === null || response.headersSent) return;
    const exchange = exchanges.get(response.req);
    if (exchange === undefined || !exchange.fromRecording || response.hasHeader(CAUSEWAY_RESPONSE)) return;
    response.setHeader(CAUSEWAY_RESPONSE, causewayResponseHeader(identity.stream, recorder.currentTask));
  });
  const originalWriteHead = ServerResponse.prototype.writeHead;
  const writeHead = function (this: ServerResponse, ...args: unknown[]) {
    nameResponder(this);
    return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof originalWriteHead;
  ServerResponse.prototype.writeHead = writeHead;

  function end(request: IncomingMessage, response: ServerResponse, flags: number): void {
    const exchange = exchanges.get(request);
    if (exchange === undefined || exchange.ended) return;
    exchange.ended = true;
    const route = exchange.route ?? expressRoute(request);
    if (route !== null) {
      recorder.exchangeStep(EventKind.HttpRoute, 0, exchange.task, recorder.strings.valueOf(route), 0, false);
    }
    const duration = recorder.now() - exchange.start;
    recorder.exchangeStep(EventKind.HttpResponse, flags, exchange.task, response.statusCode, duration, true);
  }

  const onClose = guarded('http server', function (this: ServerResponse) {
    if (!this.writableFinished) end(this.req, this, ExchangeFlag.Failed);
  });

  /**
   * The request's body as the application reads it: the request's own emit is wrapped (on the
   * instance) to see the 'data' events its reading produces, so nothing is read that it does not
   * read; recorded once, at 'end', 'error' or 'close'.
   */
  function followRequestBody(request: IncomingMessage, task: number): void {
    const body = new BodyHead(capture.bytes);
    let recorded = false;
    const keep = guarded('http server', (chunk: unknown) => body.add(chunk));
    const recordBody = guarded('http server', () => {
      if (recorded) return;
      recorded = true;
      const type = request.headers['content-type'];
      const json = bodyJson(0, body.head, body.total, capture.bytes, task, type);
      recordCapture(recorder, CAPTURE_NAMES.serverRequestBody, json, capture.bytes);
    });
    const emit = request.emit;
    request.emit = function (this: IncomingMessage, event: string | symbol, ...args: unknown[]) {
      if (event === 'data') keep(args[0]);
      else if (event === 'end' || event === 'error' || event === 'close') recordBody();
      return (emit as (event: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof emit;
  }

  const onRequestStart = guarded('http server', (message: unknown) => {
    const { request, response } = message as RequestMessage;
    const headers = request.headers;
    const received = readPropagation(headers[CAUSEWAY_TRACE], headers[TRACEPARENT]);
    const parent = readTraceparent(headers[TRACEPARENT]);
    // The request enters a trace of its own (or the sender's): sampled or not, for all it causes.
    const trace = recorder.sampler.decide(incomingSampling(received, parent));
    recorder.sampler.enter(trace);
    if (!trace.sampled) {
      recorder.skipTask();
      return;
    }
    const start = recorder.now();
    const task = recorder.beginRequest(request.method ?? '', pathOf(request.url ?? ''), start);
    const fromRecording = received !== null && 'sender' in received && received.sender.stream !== 0;
    exchanges.set(request, { task, start, route: null, ended: false, fromRecording });
    if (received !== null) recordReceived(recorder, received);
    // Only at `on`: the default level adds nothing to every incoming request.
    if (capture.level === 'on') {
      const json = headersJson(0, Object.entries(headers), capture.bytes, task);
      recordCapture(recorder, CAPTURE_NAMES.serverRequestHeaders, json, capture.bytes);
      followRequestBody(request, task);
    }
    // A traceparent that is not the sender recording's own (OpenTelemetry's, a proxy's) is noted,
    // so the recording can be joined to that trace too.
    const sender = received !== null && 'sender' in received ? received.sender : null;
    if (parent !== null && (sender === null || sender.stream === 0 || sender.traceId !== parent.traceId)) {
      const json = JSON.stringify({ exchange: 0, traceId: parent.traceId, spanId: parent.spanId });
      recordCapture(recorder, CAPTURE_NAMES.otelContext, json, capture.bytes);
    }
    response.once('close', onClose);
  });

  const onResponseFinish = guarded('http server', (message: unknown) => {
    const { request, response } = message as RequestMessage;
    end(request, response, 0);
  });

  const onFastifyHandler = guarded('fastify', (message: unknown) => {
    const { request, route } = message as FastifyHandlerMessage;
    const raw = request?.raw;
    const exchange = raw === undefined ? undefined : exchanges.get(raw);
    if (exchange !== undefined && typeof route?.url === 'string') exchange.route = route.url;
  });

  subscribe(SERVER_CHANNELS.requestStart, onRequestStart);
  subscribe(SERVER_CHANNELS.responseFinish, onResponseFinish);
  subscribe(SERVER_CHANNELS.fastifyHandlerStart, onFastifyHandler);
  return () => {
    if (ServerResponse.prototype.writeHead === writeHead)
      ServerResponse.prototype.writeHead = originalWriteHead;
    unsubscribe(SERVER_CHANNELS.requestStart, onRequestStart);
    unsubscribe(SERVER_CHANNELS.responseFinish, onResponseFinish);
    unsubscribe(SERVER_CHANNELS.fastifyHandlerStart, onFastifyHandler);
  };
}
