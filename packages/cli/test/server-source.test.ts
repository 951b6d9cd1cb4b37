// `--server`: the commands against a real `causeway serve` (createServer, in-process, SQLite in
// memory) holding the same traces as the trace directory, so that every answer through the server
// can be compared with the same trace read from disk.

import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTraceFile } from '@causeway/core/trace-file';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { API_KEY_HEADER, type CausewayServer, createServer, TraceStore } from '@causeway/server';
import { ExitCode } from '../src/errors.ts';
import { runIn, tempDir, writeLostUpdateTrace, writeTrace } from './fixtures.ts';

const project = tempDir();
const traces = join(project, '.causeway', 'traces');
const lostUpdate = writeLostUpdateTrace(join(traces, 'bank.cwtrace'));
/** Longer than the REST API's largest page (1000), so that reading its events takes several pages. */
const long = writeTrace(join(traces, 'shop.cwtrace'), { calls: 700, startedAt: '2026-11-23T09:00:00.000Z' });
const API_KEY = 'secret-key';

/** Sends a trace file to the server as one batch, as the runtime's transport would (docs/wire-format.md). */
async function upload(base: string, path: string): Promise<void> {
  const file = readTraceFile(path);
  const response = await fetch(`${base}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': BATCH_CONTENT_TYPE, [API_KEY_HEADER]: API_KEY },
    body: encodeBatch({ ...file, meta: { ...file.meta, batch: 1 } }),
  });
  assert.equal(response.status, 200, await response.text());
}

describe('--server: reading traces through the REST API', () => {
  let store: TraceStore;
  let server: CausewayServer;
  let base: string;
  before(async () => {
    store = await TraceStore.open(':memory:');
    server = createServer({ store, analyzeIntervalMs: 0, apiKey: API_KEY });
    base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    await upload(base, lostUpdate);
    await upload(base, long);
  });
  after(async () => {
    await server.app.close();
    await store.close();
  });

  it('analyze --trace-id through the server prints what the file gives, with --fail-on', async () => {
    const fromFile = await runIn(project, ['analyze', lostUpdate]);
    const viaServer = await runIn(
      project,
      ['analyze', '--trace-id', 'fedcba98', '--server', base, '--fail-on', 'high'],
      { CAUSEWAY_API_KEY: API_KEY },
    );
    assert.equal(viaServer.status, ExitCode.FindingsMatched, viaServer.stderr);
    assert.match(viaServer.stdout, /Lost update on object #1 \.balance/);
    assert.equal(viaServer.stdout, fromFile.stdout);
  });

  it("traces lists the server's traces, newest first", async () => {
    const result = await runIn(project, ['traces', '--server', base, '--api-key', API_KEY, '--json']);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const listed = JSON.parse(result.stdout);
    assert.deepEqual(
      listed.map((trace: { traceId: string }) => trace.traceId),
      ['fedcba9876543210fedcba9876543210', '0123456789abcdef0123456789abcdef'],
    );
    const [bank] = listed;
    assert.equal(bank.records, 13);
    assert.equal(bank.durationMs, null);
    assert.equal(bank.file, `${base}/v1/traces/fedcba9876543210fedcba9876543210`);
  });

  it('export --format json reads every page of events, and latest names the newest trace', async () => {
    const fromFile = JSON.parse((await runIn(project, ['export', long])).stdout);
    const result = await runIn(project, [
      'export',
      '--trace-id',
      '0123',
      '--server',
      base,
      '--api-key',
      API_KEY,
    ]);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const viaServer = JSON.parse(result.stdout);
    assert.equal(fromFile.events.length, 1407);
    assert.deepEqual(viaServer.events, fromFile.events);
    assert.deepEqual(viaServer.tasks, fromFile.tasks);
    const latest = await runIn(project, ['export', '--trace-id', 'latest', '--server', base], {
      CAUSEWAY_API_KEY: API_KEY,
    });
    assert.equal(latest.status, ExitCode.Ok, latest.stderr);
    assert.equal(JSON.parse(latest.stdout).meta.traceId, 'fedcba9876543210fedcba9876543210');
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
      /^causeway: http:\/\/127\.0\.0\.1:\d+\/v1\/traces\/(ab){16}: 404 CW_SERVER_TRACE_NOT_FOUND: .*\n$/,
    );
    const ambiguous = await runIn(project, ['analyze', '--trace-id', 'nosuch', '--server', base], {
      CAUSEWAY_API_KEY: API_KEY,
    });
    assert.equal(ambiguous.status, ExitCode.BadInput);
    assert.match(ambiguous.stderr, /no trace 'nosuch' in http:\/\/127\.0\.0\.1:\d+/);
    const noKey = await runIn(project, ['traces', '--server', base]);
    assert.equal(noKey.status, ExitCode.BadInput);
    assert.match(noKey.stderr, /401 CW_SERVER_UNAUTHORIZED/);
    const closed = createHttpServer();
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
