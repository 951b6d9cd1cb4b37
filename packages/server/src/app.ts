/**
 * The HTTP server: ingest (wire-format batches, OTLP/HTTP JSON), the REST API over the store and
 * the core's analysis, Server-Sent Events for live traces, /healthz and /metrics.
 * docs/rest-api.md and docs/openapi.json describe every route; a test holds them to this file.
 */

import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  CausewayError,
  CoreErrorCode,
  EVENT_KIND_NAMES,
  type EventFilter,
  type TraceEvent,
} from '@causeway/core';
import { BATCH_CONTENT_TYPE, type Batch, decodeBatch, decodeJsonBatch } from '@causeway/core/wire-format';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type Analysis, Analyzer } from './analysis.ts';
import { ServerError, ServerErrorCode } from './errors.ts';
import { Metrics } from './metrics.ts';
import { parseOtlpTraces } from './otlp.ts';
import type { Retention, TraceRow, TraceStore } from './store/store.ts';

/** A request body as a batch; the core's decoding errors become the server's 400s. */
function decodedBatch(body: unknown): Batch {
  try {
    return Buffer.isBuffer(body) ? decodeBatch(body) : decodeJsonBatch(body);
  } catch (error) {
    if (error instanceof CausewayError && error.code === CoreErrorCode.BATCH_VERSION) {
      throw new ServerError(ServerErrorCode.BATCH_VERSION, error.message);
    }
    if (error instanceof CausewayError && error.code === CoreErrorCode.BATCH_INVALID) {
      throw new ServerError(ServerErrorCode.BATCH_INVALID, error.message);
    }
    throw error;
  }
}

export const { version: SERVER_VERSION } = createRequire(import.meta.url)('../package.json') as {
  version: string;
};

/** The header that carries the API key. */
export const API_KEY_HEADER = 'x-causeway-api-key';

export interface ServerOptions {
  store: TraceStore;
  /** When set, every request must carry it in the x-causeway-api-key header. */
  apiKey?: string;
  /** Largest request body accepted, in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** fastify's logger option: false (tests), true, or pino options. */
  logger?: boolean | Record<string, unknown>;
  retention?: Retention;
  /** How often retention runs (default 60 s; 0: only when called). */
  retentionIntervalMs?: number;
  /** How often traces with new records are analysed for the findings count (default 2 s; 0: never in the background). */
  analyzeIntervalMs?: number;
}

export interface CausewayServer {
  app: FastifyInstance;
  metrics: Metrics;
  analyzer: Analyzer;
  /** Every route registered, as `METHOD /path` (fastify's `:param` syntax): the API's surface. */
  routes: string[];
  /** Runs retention now; returns the ids of the deleted traces. */
  retain(): Promise<string[]>;
}

const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
const MAX_PAGE = 1000;

interface LiveClient {
  raw: ServerResponse;
  traceId: string | null;
}

function queryInt(
  query: Record<string, string | undefined>,
  key: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const text = query[key];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new ServerError(
      ServerErrorCode.BAD_QUERY,
      `query parameter ${key}=${text} should be an integer from 0 to ${max}`,
    );
  }
  return value;
}

function queryTime(query: Record<string, string | undefined>, key: string): number | undefined {
  const text = query[key];
  if (text === undefined || text === '') return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value)) {
    throw new ServerError(
      ServerErrorCode.BAD_QUERY,
      `query parameter ${key}=${text} should be ms since 1970 or an ISO 8601 time`,
    );
  }
  return value;
}

function queryBool(query: Record<string, string | undefined>, key: string): boolean | undefined {
  const text = query[key];
  if (text === undefined || text === '') return undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ServerError(ServerErrorCode.BAD_QUERY, `query parameter ${key}=${text} should be true or false`);
}

function unsupported(request: FastifyRequest): ServerError {
  const accepted = request.url.startsWith('/v1/batches')
    ? `${BATCH_CONTENT_TYPE} or application/json`
    : 'application/json';
  return new ServerError(
    ServerErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here: send ${accepted}`,
  );
}

const KIND_BY_NAME = new Map(Object.entries(EVENT_KIND_NAMES).map(([code, name]) => [name, Number(code)]));

function traceSummary(row: TraceRow) {
  return {
    traceId: row.traceId,
    service: row.service,
    services: row.services,
    startedAt: new Date(row.startedMs).toISOString(),
    updatedAt: new Date(row.updatedMs).toISOString(),
    records: row.records,
    dropped: row.dropped,
    spans: row.spans,
    ended: row.ended,
    findings: row.findings,
  };
}

/** Selections of a trace's events by filter, kept with the analysis: paging through one costs one scan. */
const selections = new WeakMap<Analysis, Map<string, Uint32Array>>();
const KEPT_SELECTIONS = 8;

function selection(analysis: Analysis, filter: EventFilter): Uint32Array {
  let kept = selections.get(analysis);
  if (kept === undefined) {
    kept = new Map();
    selections.set(analysis, kept);
  }
  const key = JSON.stringify(filter);
  let matches = kept.get(key);
  if (matches === undefined) {
    matches = analysis.events.select(filter);
    kept.set(key, matches);
    if (kept.size > KEPT_SELECTIONS) kept.delete(kept.keys().next().value as string);
  }
  return matches;
}

export function createServer(options: ServerOptions): CausewayServer {
  const { store } = options;
  const metrics = new Metrics();
  const analyzer = new Analyzer(store, metrics);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    return503OnClosing: true,
    // Every runtime sends ten batches a second: answered requests are logged below, at debug level
    // when they succeeded.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.addHook('onResponse', async (request, reply) => {
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (reply.statusCode >= 500) request.log.error(line, 'request failed');
    else if (reply.statusCode >= 400) request.log.warn(line, 'request refused');
    else request.log.debug(line, 'request');
  });
  const live = new Set<LiveClient>();
  let closing = false;
  const expectedKey = options.apiKey === undefined ? null : Buffer.from(options.apiKey);
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  app.addContentTypeParser(BATCH_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    done(null, body);
  });

  app.addHook('onRequest', async (request) => {
    if (expectedKey === null) return;
    const given = request.headers[API_KEY_HEADER];
    const key = Buffer.from(typeof given === 'string' ? given : '');
    if (key.length !== expectedKey.length || !timingSafeEqual(key, expectedKey)) {
      throw new ServerError(
        ServerErrorCode.UNAUTHORIZED,
        given === undefined
          ? `this server requires an API key: send it in the ${API_KEY_HEADER} header`
          : `the API key in the ${API_KEY_HEADER} header is wrong`,
      );
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    let served: ServerError;
    if (error instanceof ServerError) served = error;
    else if (error.statusCode === 413) {
      served = new ServerError(
        ServerErrorCode.BODY_TOO_LARGE,
        `the body is larger than this server's limit of ${bodyLimit} bytes; send smaller batches`,
      );
    } else if (error.statusCode === 415) {
      served = unsupported(request);
    } else if (error.statusCode === 503) {
      served = new ServerError(
        ServerErrorCode.SHUTTING_DOWN,
        'the server is shutting down; retry on its successor',
      );
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      const code = request.url.startsWith('/v1/batches')
        ? ServerErrorCode.BATCH_INVALID
        : request.url.startsWith('/v1/traces') && request.method === 'POST'
          ? ServerErrorCode.OTLP_INVALID
          : ServerErrorCode.BAD_QUERY;
      served = new ServerError(code, error.message);
    } else {
      request.log.error(error);
      reply.status(500).send({ code: ServerErrorCode.INTERNAL, message: `internal error: ${error.message}` });
      return;
    }
    if (request.method === 'POST' && request.url.startsWith('/v1/batches')) metrics.batchesRejected++;
    request.log.warn({ code: served.code }, served.message);
    reply.status(served.status).send({ code: served.code, message: served.message });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({
      code: ServerErrorCode.NOT_FOUND,
      message: `no route ${request.method} ${request.url.split('?')[0]}; see docs/rest-api.md`,
    });
  });

  const broadcast = (event: string, data: unknown, traceId: string) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of live) {
      if (client.traceId === null ? event === 'trace' : client.traceId === traceId) client.raw.write(text);
    }
  };

  const notifyTraces = async (traceIds: readonly string[]) => {
    if (live.size === 0) return;
    for (const traceId of traceIds) {
      const row = await store.getTrace(traceId);
      if (row !== null) broadcast('trace', traceSummary(row), traceId);
    }
  };

  // ---- Ingest -------------------------------------------------------------------------------

  app.post('/v1/batches', async (request, reply) => {
    // Requests that arrive after close() began get 503 from fastify (return503OnClosing); one
    // already being received when it began is finished and committed.
    if (typeof request.body === 'string') throw unsupported(request);
    const batch = decodedBatch(request.body);
    const result = await store.ingestBatch(batch);
    if (result.duplicate) metrics.batchesDuplicate++;
    else {
      metrics.batchesIngested++;
      metrics.eventsIngested += result.records;
      metrics.eventsDropped += batch.end?.dropped ?? 0;
      if (result.records > 0) {
        broadcast(
          'events',
          { traceId: result.traceId, firstIndex: result.firstIndex, count: result.records },
          result.traceId,
        );
      }
      await notifyTraces([result.traceId]);
    }
    reply.status(200);
    return result;
  });

  app.post('/v1/traces', async (request) => {
    if (Buffer.isBuffer(request.body) || typeof request.body === 'string') throw unsupported(request);
    const spans = parseOtlpTraces(request.body);
    const { traces } = await store.ingestSpans(spans);
    metrics.spansIngested += spans.length;
    await notifyTraces(traces);
    // An ExportTraceServiceResponse with nothing rejected.
    return {};
  });

  // ---- REST API -----------------------------------------------------------------------------

  app.get('/v1/traces', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const limit = queryInt(q, 'limit', 50, MAX_PAGE);
    const offset = queryInt(q, 'offset', 0);
    const { traces, total } = await store.listTraces({
      from: queryTime(q, 'from'),
      to: queryTime(q, 'to'),
      service: q.service === '' ? undefined : q.service,
      hasFindings: queryBool(q, 'hasFindings'),
      limit,
      offset,
    });
    return {
      traces: traces.map(traceSummary),
      total,
      next: offset + traces.length < total ? offset + traces.length : null,
    };
  });

  const analysed = async (request: FastifyRequest): Promise<Analysis> => {
    const { traceId } = request.params as { traceId: string };
    const analysis = await analyzer.analyze(traceId);
    if (analysis === null) {
      throw new ServerError(
        ServerErrorCode.TRACE_NOT_FOUND,
        `no trace ${traceId} in this store; list them with GET /v1/traces`,
      );
    }
    return analysis;
  };

  app.get('/v1/traces/:traceId', async (request) => {
    const { stored, report } = await analysed(request);
    return {
      ...traceSummary(stored.row),
      findings: report.findings.length,
      meta: report.meta,
      streams: report.streams,
      end: report.end,
      stats: report.stats,
    };
  });

  app.get('/v1/traces/:traceId/events', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const from = queryInt(q, 'from', 0);
    const limit = queryInt(q, 'limit', 100, MAX_PAGE);
    const filter: EventFilter = {};
    if (q.kind !== undefined && q.kind !== '') {
      filter.kinds = q.kind.split(',').map((name) => {
        const kind = KIND_BY_NAME.get(name);
        if (kind === undefined) {
          throw new ServerError(
            ServerErrorCode.BAD_QUERY,
            `unknown event kind "${name}"; kinds are ${[...KIND_BY_NAME.keys()].join(', ')}`,
          );
        }
        return kind;
      });
    }
    if (q.task !== undefined) filter.task = queryInt(q, 'task', 0);
    if (q.site !== undefined) filter.site = queryInt(q, 'site', 0);
    if (q.stream !== undefined) filter.stream = queryInt(q, 'stream', 0);
    const analysis = await analysed(request);
    const { events } = analysis;
    let page: TraceEvent[];
    let next: number | null;
    if (Object.keys(filter).length === 0) {
      page = events.slice(from, from + limit);
      next = from + limit < events.length ? from + limit : null;
    } else {
      const matches = selection(analysis, filter);
      let lo = 0;
      let hi = matches.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((matches[mid] as number) < from) lo = mid + 1;
        else hi = mid;
      }
      page = [...matches.subarray(lo, lo + limit)].map((i) => events.at(i));
      const after = matches[lo + limit];
      next = after === undefined ? null : after;
    }
    return { total: events.length, events: page, next };
  });

  app.get('/v1/traces/:traceId/graph', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const from = queryInt(q, 'from', 0);
    const limit = q.limit === undefined ? null : queryInt(q, 'limit', 0);
    const { report, stored } = await analysed(request);
    if (limit === null && from === 0) {
      return {
        totalTasks: report.tasks.length,
        tasks: report.tasks,
        edges: report.edges,
        spans: stored.spans,
        next: null,
      };
    }
    // A page of tasks, with the edges into them: each edge is on the page of the task it leads to.
    const end = limit === null ? report.tasks.length : Math.min(report.tasks.length, from + limit);
    return {
      totalTasks: report.tasks.length,
      tasks: report.tasks.slice(from, end),
      edges: report.edges.filter((edge) => edge.to >= from && edge.to < end),
      spans: from === 0 ? stored.spans : [],
      next: end < report.tasks.length ? end : null,
    };
  });

  app.get('/v1/traces/:traceId/findings', async (request) => {
    const { report } = await analysed(request);
    return { findings: report.findings, failures: report.failures, anomalies: report.anomalies };
  });

  app.get('/v1/live', async (request, reply: FastifyReply) => {
    const q = request.query as Record<string, string | undefined>;
    const traceId = q.trace === undefined || q.trace === '' ? null : q.trace;
    if (traceId !== null && (await store.getTrace(traceId)) === null) {
      throw new ServerError(ServerErrorCode.TRACE_NOT_FOUND, `no trace ${traceId} to follow`);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    raw.write('retry: 2000\n\n');
    const client: LiveClient = { raw, traceId };
    live.add(client);
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
    ping.unref();
    request.raw.on('close', () => {
      clearInterval(ping);
      live.delete(client);
    });
  });

  // ---- Operations ---------------------------------------------------------------------------

  app.get('/healthz', async () => {
    await store.db.all('SELECT 1 AS ok');
    return { status: 'ok', store: store.kind, version: SERVER_VERSION };
  });

  app.get('/metrics', async (_request, reply) => {
    const [size, traces] = await Promise.all([store.sizeBytes(), store.listTraces({ limit: 0, offset: 0 })]);
    reply.type('text/plain; version=0.0.4');
    return metrics.render(size, traces.total);
  });

  const retain = async () => {
    if (options.retention === undefined) return [];
    const deleted = await store.retain(options.retention);
    await analyzer.forget(deleted);
    if (deleted.length > 0) app.log.info({ deleted: deleted.length }, 'retention deleted traces');
    return deleted;
  };
  const timers: NodeJS.Timeout[] = [];
  const retentionEvery = options.retentionIntervalMs ?? 60_000;
  if (options.retention !== undefined && retentionEvery > 0) {
    timers.push(setInterval(() => retain().catch((e) => app.log.error(e)), retentionEvery));
  }
  const analyzeEvery = options.analyzeIntervalMs ?? 2000;
  if (analyzeEvery > 0) {
    let busy = false;
    timers.push(
      setInterval(async () => {
        if (busy || closing) return;
        busy = true;
        try {
          for (const traceId of await store.unanalyzed(4))
            await analyzer.analyze(traceId).catch(() => undefined);
        } catch (error) {
          app.log.error(error);
        } finally {
          busy = false;
        }
      }, analyzeEvery),
    );
  }
  for (const timer of timers) timer.unref();

  // A keep-alive connection that finishes its request during close() is closed after the answer,
  // so that close() does not wait for the idle timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('preClose', async () => {
    closing = true;
    for (const timer of timers) clearInterval(timer);
    // Live streams never end by themselves: end them so close() only waits for in-flight requests.
    for (const client of live) {
      client.raw.end();
      client.raw.socket?.end();
    }
    live.clear();
  });
  app.addHook('onClose', async () => analyzer.dispose());

  return { app, metrics, analyzer, routes, retain };
}
