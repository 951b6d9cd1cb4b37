/**
 * Outgoing calls answered from the recording (docs/export-test.md, "Outgoing calls"). While a
 * replay runs, `fetch`, `http.request`/`http.get` (and https's) and, when the target hands its
 * `pg` module, `pg.Client.prototype.query` are replaced: a call made by a replayed request is
 * counted (request 2, http #1; request 2, db #3) and answered with what that call got in the
 * recording, matched by that identity only, never by likeness. Its method and URL, or its
 * statement, must be the recorded ones; a call the recording does not have fails the replay
 * ("trace diverged ...") or, if the target says so, goes out. Calls made outside a replayed
 * request (the app's start-up, the harness's own requests) always go out.
 */

import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { redactStatement } from '../interceptors/sql.ts';
import { MAX_STRING_VALUE_LENGTH } from '../runtime/strings.ts';
import {
  describeExchange,
  type RecordedColumn,
  type RecordedDbCall,
  type RecordedExchange,
  type RecordedHttpCall,
  type ReplayRecording,
} from './recording.ts';
import type { ReplayScheduler } from './scheduler.ts';

/** How a replay answers the app's outgoing calls: what a target may say (ReplayTarget.outgoing). */
export interface OutgoingOptions {
  /**
   * The `pg` module the app queries through. Given, its queries in replayed requests are answered
   * from the recording (and its clients do not connect there); not given, they go to the database.
   */
  pg?: unknown;
  /** A call the recording does not have: 'fail' (the default) fails the replay; 'pass' lets it go out. */
  unrecorded?: 'fail' | 'pass';
}

/** Answers a call from the recording, or says why it cannot. */
class Answers {
  readonly #recording: ReplayRecording;
  readonly #scheduler: ReplayScheduler;
  readonly #unrecorded: 'fail' | 'pass';
  readonly #counts = new Map<string, number>();
  readonly #passed: string[] = [];
  readonly #unanswerable: string[] = [];

  constructor(recording: ReplayRecording, scheduler: ReplayScheduler, unrecorded: 'fail' | 'pass') {
    this.#recording = recording;
    this.#scheduler = scheduler;
    this.#unrecorded = unrecorded;
  }

  /**
   * The recorded call this one is, by (request, kind, ordinal); 'pass' when it should go out
   * (outside a replayed request, or unrecorded and the target lets it); an Error when the replay
   * diverged (the scheduler fails with it too).
   */
  match<K extends RecordedExchange['kind']>(
    kind: K,
    what: string,
    recorded: (call: Extract<RecordedExchange, { kind: K }>) => string,
  ): Extract<RecordedExchange, { kind: K }> | 'pass' | Error {
    const request = this.#scheduler.currentRequest();
    if (request === undefined) return 'pass';
    const key = `${request}/${kind}`;
    const ordinal = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, ordinal);
    const call = this.#recording.requests[request - 1]?.outgoing.find(
      (c): c is Extract<RecordedExchange, { kind: K }> => c.kind === kind && c.ordinal === ordinal,
    );
    if (call === undefined) {
      if (this.#unrecorded === 'pass') {
        this.#passed.push(
          `request ${request} made ${kind} #${ordinal}: ${what}, which the recording does not have: sent`,
        );
        return 'pass';
      }
      return this.#scheduler.fail(
        `trace diverged at request ${request}, ${kind} #${ordinal}: the recording has no such call, got: ${what}`,
      );
    }
    const expected = recorded(call);
    if (expected !== what) {
      return this.#scheduler.fail(
        `trace diverged at ${describeExchange(request, call)}: expected ${expected}, got: ${what}`,
      );
    }
    return call;
  }

  notes(): string[] {
    return [...this.#passed, ...this.#unanswerable];
  }

  /**
   * The error a replay gives for a recorded answer it cannot give: a value not captured (`capture`:
   * say how to capture it), or one the trace never holds.
   */
  cannot(call: RecordedExchange, why: string, capture = true): Error {
    const request = this.#scheduler.currentRequest() ?? 0;
    const hint = capture ? ' (record the run with CAUSEWAY_CAPTURE=on)' : '';
    const message = `${describeExchange(request, call)}: ${why}: the replay cannot answer it${hint}`;
    this.#unanswerable.push(message);
    this.#scheduler.explain(message);
    return new Error(message);
  }
}

/** Origin and path, as the runtime records a URL (the query left out). */
function recordedUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Headers about the wire encoding of the recorded response, not about its text: not replayed. */
const WIRE_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'connection',
  'keep-alive',
]);

/** Headers a replayed response can carry: captured ones, not those about the wire encoding. */
function responseHeaders(call: RecordedHttpCall): [string, string][] {
  return call.headers.flatMap(([name, value]) =>
    typeof value === 'string' && !WIRE_HEADERS.has(name.toLowerCase())
      ? [[name, value] as [string, string]]
      : [],
  );
}

/** The error a recorded failed exchange failed with, as Node names it (`code`). */
function recordedFailure(call: RecordedHttpCall): Error {
  return Object.assign(new Error(`${call.error} (recorded)`), { code: call.error });
}

function replayFetch(answers: Answers, realFetch: typeof fetch): typeof fetch {
  return async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = input instanceof Request ? input.url : input;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const what = `${method} ${recordedUrl(new URL(url))}`;
    const call = answers.match('http', what, (c) => `${c.method} ${c.url}`);
    if (call === 'pass') return realFetch(input, init);
    if (call instanceof Error) throw call;
    if (call.error !== null) throw new TypeError('fetch failed', { cause: recordedFailure(call) });
    if (call.status === null) throw answers.cannot(call, 'the recording ended before it was answered', false);
    const nullBody = [101, 204, 205, 304].includes(call.status);
    const body = call.body;
    let stream: ReadableStream<Uint8Array> | string | null = null;
    if (!nullBody) {
      stream =
        typeof body === 'string'
          ? body
          : new ReadableStream({
              pull: (controller) => controller.error(answers.cannot(call, 'its body was not captured')),
            });
    }
    return new Response(stream, { status: call.status, headers: responseHeaders(call) });
  };
}

/** The URL and method of http.request's arguments (url?, options?, callback?). */
function httpTarget(args: unknown[], protocol: string): { url: URL; method: string; headers: unknown } {
  const [first, second] = args;
  let url: URL;
  let options: RequestOptions = {};
  if (typeof first === 'string' || first instanceof URL) {
    url = new URL(first);
    if (typeof second === 'object' && second !== null) options = second as RequestOptions;
  } else {
    options = (first ?? {}) as RequestOptions;
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = options.port === undefined || options.port === null ? '' : `:${options.port}`;
    url = new URL(`${options.protocol ?? protocol}//${host}${port}${options.path ?? '/'}`);
  }
  return { url, method: (options.method ?? 'GET').toUpperCase(), headers: options.headers };
}

/**
 * http.request answered from the recording: the request goes, with the app's callback and
 * headers, to a local server that answers with the recorded status, headers and body, so the
 * app gets a real ClientRequest and IncomingMessage.
 */
function replayHttpRequest(
  answers: Answers,
  realRequest: typeof http.request,
  protocol: string,
  stand: StandIn,
): typeof http.request {
  return function request(...args: unknown[]): ClientRequest {
    const { url, method, headers } = httpTarget(args, protocol);
    const call = answers.match('http', `${method} ${recordedUrl(url)}`, (c) => `${c.method} ${c.url}`);
    if (call === 'pass') return (realRequest as (...a: unknown[]) => ClientRequest)(...args);
    const callback = args.find((arg) => typeof arg === 'function') as
      | ((response: IncomingMessage) => void)
      | undefined;
    let path: string;
    if (call instanceof Error) path = stand.answer(null, call);
    else if (call.status === null && call.error === null)
      path = stand.answer(null, answers.cannot(call, 'the recording ended before it was answered', false));
    else {
      if (call.error === null && typeof call.body !== 'string')
        answers.cannot(call, 'its body was not captured');
      path = stand.answer(call, null);
    }
    return realRequest(
      {
        host: '127.0.0.1',
        port: stand.port,
        method,
        path,
        agent: false,
        headers: (typeof headers === 'object' && headers !== null ? headers : {}) as http.OutgoingHttpHeaders,
      },
      callback,
    );
  } as typeof http.request;
}

interface StandIn {
  port: number;
  /** The path that makes the stand-in answer as `call` was answered (null: cut the connection). */
  answer(call: RecordedHttpCall | null, error: Error | null): string;
  close(): Promise<void>;
}

/** A local server answering http.request calls with their recorded responses, by a path it hands out. */
async function standIn(): Promise<StandIn> {
  const answers = new Map<string, { call: RecordedHttpCall | null; error: Error | null }>();
  const server = http.createServer((req, res) => {
    req.resume();
    const call = answers.get(req.url ?? '')?.call ?? null;
    // A recorded failure, a divergence or an answer the recording lacks: the connection is cut,
    // and the app sees its request fail (the divergence itself fails the replay).
    if (call === null || call.error !== null) {
      res.destroy();
      return;
    }
    for (const [name, value] of responseHeaders(call)) {
      try {
        res.setHeader(name, value);
      } catch {
        // A recorded header Node refuses to send (invalid characters): left out.
      }
    }
    res.statusCode = call.status ?? 500;
    // A body not captured cannot be given: the connection is cut after the headers.
    if (typeof call.body === 'string') res.end(call.body);
    else {
      res.flushHeaders();
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let next = 0;
  return {
    port: (server.address() as AddressInfo).port,
    answer: (call, error) => {
      const path = `/${++next}`;
      answers.set(path, { call, error });
      return path;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function column(value: RecordedColumn, call: RecordedDbCall, name: string, answers: Answers): unknown {
  if (value !== null && typeof value === 'object') {
    if ('json' in value) return JSON.parse(value.json);
    throw answers.cannot(
      call,
      `its column ${JSON.stringify(name)} is redacted (a secret-looking name)`,
      false,
    );
  }
  return value;
}

/** The result pg would have given: rows built from the recorded column/value pairs. */
function dbResult(call: RecordedDbCall, answers: Answers): unknown {
  if (call.failed)
    throw answers.cannot(call, 'it failed in the recording, with an error the trace does not hold', false);
  const rows = call.rows;
  if (!Array.isArray(rows))
    throw answers.cannot(call, `its rows (${call.rowCount ?? 'how many is not known'}) were not captured`);
  return {
    command: /^\s*(\w+)/.exec(call.statement)?.[1]?.toUpperCase() ?? '',
    rowCount: call.rowCount ?? rows.length,
    oid: null,
    fields: [],
    // fromEntries defines each column as the row's own property: a column named __proto__ stays a column.
    rows: rows.map((pairs) =>
      Object.fromEntries(pairs.map(([name, value]) => [name, column(value, call, name, answers)])),
    ),
  };
}

type QueryFn = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces pg's Client.query and connect; returns what restores them. */
function replayPg(pg: unknown, answers: Answers, scheduler: ReplayScheduler): () => void {
  const proto = (pg as { Client?: { prototype?: Record<string, unknown> } } | null)?.Client?.prototype;
  if (typeof proto?.query !== 'function' || typeof proto.connect !== 'function') {
    throw new Error(
      'the replay target gave outgoing.pg, but it is not the pg module (no Client.prototype.query)',
    );
  }
  const query = Object.getOwnPropertyDescriptor(proto, 'query') as PropertyDescriptor;
  const connect = Object.getOwnPropertyDescriptor(proto, 'connect') as PropertyDescriptor;
  const realQuery = proto.query as QueryFn;
  const realConnect = proto.connect as QueryFn;
  Object.defineProperty(proto, 'query', {
    configurable: true,
    writable: true,
    value: function query(this: unknown, ...args: unknown[]): unknown {
      const [config] = args;
      if (typeof (config as { submit?: unknown } | null)?.submit === 'function')
        return realQuery.apply(this, args);
      const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') return realQuery.apply(this, args);
      const call = answers.match('db', redactStatement(text, MAX_STRING_VALUE_LENGTH), (c) => c.statement);
      if (call === 'pass') return realQuery.apply(this, args);
      const callback = args.findLast((arg, i) => i > 0 && typeof arg === 'function') as
        | ((error: unknown, result: unknown) => void)
        | undefined;
      let result: unknown;
      let error: unknown = null;
      try {
        if (call instanceof Error) throw call;
        result = dbResult(call, answers);
      } catch (failure) {
        error = failure;
      }
      if (callback !== undefined) {
        process.nextTick(() => callback(error, error === null ? result : undefined));
        return undefined;
      }
      return error === null ? Promise.resolve(result) : Promise.reject(error);
    },
  });
  Object.defineProperty(proto, 'connect', {
    configurable: true,
    writable: true,
    value: function connect(this: unknown, ...args: unknown[]): unknown {
      // A client a replayed request opens talks to the recording only: it does not connect.
      if (scheduler.currentRequest() === undefined) return realConnect.apply(this, args);
      const callback = args.find((arg) => typeof arg === 'function') as
        | ((error: unknown) => void)
        | undefined;
      if (callback === undefined) return Promise.resolve();
      process.nextTick(() => callback(null));
      return undefined;
    },
  });
  return () => {
    Object.defineProperty(proto, 'query', query);
    Object.defineProperty(proto, 'connect', connect);
  };
}

/**
 * Replaces the outgoing-call functions for a replay; the returned `restore` puts the originals
 * back, `notes` lists the unrecorded calls let out.
 */
export async function answerOutgoing(
  recording: ReplayRecording,
  scheduler: ReplayScheduler,
  options: OutgoingOptions = {},
): Promise<{ restore: () => Promise<void>; notes: () => string[] }> {
  const answers = new Answers(recording, scheduler, options.unrecorded ?? 'fail');
  const realFetch = globalThis.fetch;
  const real = {
    httpRequest: http.request,
    httpGet: http.get,
    httpsRequest: https.request,
    httpsGet: https.get,
  };
  // pg first: a module that is not pg is refused before anything else is replaced or started.
  const restorePg = options.pg === undefined ? () => {} : replayPg(options.pg, answers, scheduler);
  const stand = await standIn();
  globalThis.fetch = replayFetch(answers, realFetch);
  const httpRequest = replayHttpRequest(answers, real.httpRequest, 'http:', stand);
  const httpsRequest = replayHttpRequest(answers, real.httpRequest, 'https:', stand);
  const get = (request: typeof http.request) =>
    function get(...args: unknown[]): ClientRequest {
      const outgoing = (request as (...a: unknown[]) => ClientRequest)(...args);
      outgoing.end();
      return outgoing;
    } as typeof http.get;
  http.request = httpRequest;
  http.get = get(httpRequest);
  https.request = httpsRequest;
  https.get = get(httpsRequest);
  // `import { request } from 'node:http'` reads the module's exports as they are now.
  syncBuiltinESMExports();
  return {
    notes: () => answers.notes(),
    restore: async () => {
      globalThis.fetch = realFetch;
      http.request = real.httpRequest;
      http.get = real.httpGet;
      https.request = real.httpsRequest;
      https.get = real.httpsGet;
      syncBuiltinESMExports();
      restorePg();
      await stand.close();
    },
  };
}
