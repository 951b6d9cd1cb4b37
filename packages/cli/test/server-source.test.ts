// `--server`: the commands against a stand-in for `causeway serve` that answers the REST API v1 as
// docs/rest-api.md describes it, serving a trace file's analysis, so that the answers through the
// server can be compared with the same trace read from disk.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitCode } from '../src/errors.ts';
import type { Io } from '../src/io.ts';
import { FileTraceSource, type OpenedTrace } from '../src/trace-source.ts';
import { runIn, tempDir, writeLostUpdateTrace } from './fixtures.ts';

const project = tempDir();
const tracePath = writeLostUpdateTrace(join(project, '.causeway', 'traces', 'bank.cwtrace'));
const quiet: Io = { out() {}, err() {}, errIsTTY: false };
const API_KEY = 'secret-key';
/** The stand-in serves events in pages of this size, to exercise paging. */
const EVENTS_PAGE = 5;

let server: Server;
let base: string;
const requests: { url: string; key: string | undefined }[] = [];

function startServer(trace: OpenedTrace): Promise<Server> {
  const { report, events } = trace;
  const id = report.meta.traceId;
  const summary = {
    traceId: id,
    service: report.meta.service,
    services: [report.meta.service],
    startedAt: report.meta.startedAt,
    updatedAt: report.end?.endedAt ?? report.meta.startedAt,
    records: report.stats.records,
    dropped: report.stats.dropped,
    spans: 0,
    ended: report.end !== null,
    findings: report.findings.length,
  };
  const routes: Record<string, (query: URLSearchParams) => unknown> = {
    '/v1/traces': () => ({ traces: [summary], total: 1, next: null }),
    [`/v1/traces/${id}`]: () => ({
      ...summary,
      meta: report.meta,
      streams: report.streams,
      end: report.end,
      stats: report.stats,
    }),
    [`/v1/traces/${id}/graph`]: () => ({ tasks: report.tasks, edges: report.edges, spans: [] }),
    // As a server built before findings had confidence and severity would answer.
    [`/v1/traces/${id}/findings`]: () => ({
      findings: report.findings.map(({ confidence: _c, severity: _s, ...rest }) => rest),
    }),
    [`/v1/traces/${id}/events`]: (query) => {
      const from = Number(query.get('from') ?? 0);
      const page = (events ?? []).slice(from, from + EVENTS_PAGE);
      const next = from + EVENTS_PAGE < (events ?? []).length ? from + EVENTS_PAGE : null;
      return { total: events?.length, events: page, next };
    },
  };
  const http = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const key = request.headers['x-causeway-api-key'] as string | undefined;
    requests.push({ url: request.url ?? '', key });
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (key !== API_KEY)
      return send(401, { code: 'CW_SERVER_UNAUTHORIZED', message: 'missing or wrong API key' });
    const route = routes[url.pathname];
    if (route === undefined) {
      return send(404, {
        code: 'CW_SERVER_TRACE_NOT_FOUND',
        message: `no trace ${url.pathname.split('/')[3]}`,
      });
    }
    send(200, route(url.searchParams));
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(http)));
}

describe('--server: reading traces through the REST API', () => {
  before(async () => {
    server = await startServer(
      await new FileTraceSource(join(project, '.causeway', 'traces')).open({ path: tracePath }, quiet, {
        events: true,
      }),
    );
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('analyze --trace-id through the server prints what the file gives, with --fail-on', async () => {
    const fromFile = await runIn(project, ['analyze', tracePath]);
    const viaServer = await runIn(
      project,
      ['analyze', '--trace-id', 'fedcba98', '--server', base, '--fail-on', 'high'],
      {
        CAUSEWAY_API_KEY: API_KEY,
      },
    );
    assert.equal(viaServer.status, ExitCode.FindingsMatched, viaServer.stderr);
    assert.equal(viaServer.stdout, fromFile.stdout);
    assert.ok(
      requests.every((request) => request.key === API_KEY),
      'every request carries the API key',
    );
  });

  it("traces lists the server's traces", async () => {
    const result = await runIn(project, ['traces', '--server', base, '--api-key', API_KEY, '--json']);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const [trace] = JSON.parse(result.stdout);
    assert.equal(trace.traceId, 'fedcba9876543210fedcba9876543210');
    assert.equal(trace.findings, 1);
    assert.equal(trace.durationMs, null);
    assert.equal(trace.file, `${base}/v1/traces/fedcba9876543210fedcba9876543210`);
  });

  it('export --format json pages through the events', async () => {
    const fromFile = JSON.parse((await runIn(project, ['export', tracePath])).stdout);
    const result = await runIn(project, [
      'export',
      '--trace-id',
      'latest',
      '--server',
      base,
      '--api-key',
      API_KEY,
    ]);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const viaServer = JSON.parse(result.stdout);
    assert.ok(fromFile.events.length > EVENTS_PAGE);
    assert.deepEqual(viaServer.events, fromFile.events);
    assert.deepEqual(viaServer.findings, fromFile.findings);
  });

  it('says what the server refused, and when it cannot be reached (exit 2)', async () => {
    const unknown = await runIn(project, [
      'analyze',
      '--trace-id',
      'ab'.repeat(16),
      '--server',
      base,
      '--api-key',
      API_KEY,
    ]);
    assert.equal(unknown.status, ExitCode.BadInput);
    assert.match(
      unknown.stderr,
      /^causeway: http:\/\/127\.0\.0\.1:\d+\/v1\/traces\/(ab){16}: 404 CW_SERVER_TRACE_NOT_FOUND: no trace (ab){16}\n$/,
    );
    const noKey = await runIn(project, ['traces', '--server', base]);
    assert.equal(noKey.status, ExitCode.BadInput);
    assert.match(noKey.stderr, /401 CW_SERVER_UNAUTHORIZED: missing or wrong API key/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await runIn(project, ['traces', '--server', `http://127.0.0.1:${port}`]);
    assert.equal(unreachable.status, ExitCode.BadInput);
    assert.match(
      unreachable.stderr,
      /cannot reach the Causeway server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); start it with 'causeway serve'/,
    );
  });
});
