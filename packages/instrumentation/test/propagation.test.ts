// Propagation headers: written by the client interceptor, read (and validated) by the server
// interceptor, against a real server in this process.

import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventKind, ExchangeFlag } from '@causeway/core/event-format';
import { installHttpClient } from '../src/interceptors/http-client.ts';
import { installHttpServer, malformedPropagationHeaders } from '../src/interceptors/http-server.ts';
import {
  CAUSEWAY_TRACE,
  causewayTraceHeader,
  readPropagation,
  TRACEPARENT,
  traceparentHeader,
} from '../src/interceptors/propagation.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

describe('readPropagation', () => {
  it('reads what the writers write', () => {
    assert.deepEqual(readPropagation(causewayTraceHeader(TRACE_ID, 3, 4_000_000_000), undefined), {
      sender: { traceId: TRACE_ID, stream: 3, exchange: 4_000_000_000 },
    });
    assert.equal(traceparentHeader(TRACE_ID, 1, 255), `00-${TRACE_ID}-00000001000000ff-01`);
    assert.deepEqual(readPropagation(undefined, traceparentHeader(TRACE_ID, 1, 2)), {
      sender: { traceId: TRACE_ID, stream: 0, exchange: 0 },
    });
    assert.equal(readPropagation(undefined, undefined), null);
  });

  it('refuses anything that is not exactly version 1, or too long', () => {
    const malformed = { malformed: CAUSEWAY_TRACE };
    for (const value of [
      `2-${TRACE_ID}-1-1`,
      `1-${TRACE_ID.toUpperCase()}-1-1`,
      `1-${TRACE_ID}-1-4294967296`,
      `1-${TRACE_ID}-1-1, 1-${TRACE_ID}-1-2`,
      `1-${'0'.repeat(32)}-1-1`,
      `1-${TRACE_ID}-1-1${' '.repeat(200)}`,
      '',
      [`1-${TRACE_ID}-1-1`],
    ]) {
      assert.deepEqual(readPropagation(value, undefined), malformed, String(value));
    }
    assert.deepEqual(readPropagation(undefined, `00-${TRACE_ID}-${'0'.repeat(16)}-01`), {
      malformed: TRACEPARENT,
    });
    assert.deepEqual(readPropagation(undefined, 'x'.repeat(10_000)), { malformed: TRACEPARENT });
  });
});

describe('propagation between the interceptors', () => {
  const recorder = newRecorder();
  const read = reader(recorder);
  const seen: Record<string, string | string[] | undefined>[] = [];
  const server = createServer((req, res) => {
    seen.push({ [CAUSEWAY_TRACE]: req.headers[CAUSEWAY_TRACE], [TRACEPARENT]: req.headers[TRACEPARENT] });
    res.end('ok');
  });
  let base = '';
  let uninstall: (() => void)[] = [];
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    uninstall = [installHttpServer(recorder), installHttpClient(recorder, { traceId: TRACE_ID, stream: 7 })];
  });
  after(() => {
    for (const undo of uninstall) undo();
    server.close();
  });

  function received() {
    const recorded = read();
    return recorded.records
      .filter((r) => r.kind === EventKind.MessageReceived)
      .map((r) => ({ flags: r.flags, traceId: recorded.string(low(r.a)), exchange: high(r.a), stream: r.b }));
  }

  function sentExchanges(): number[] {
    return read()
      .records.filter((r) => r.kind === EventKind.HttpClientRequest)
      .map((r) => r.b);
  }

  it('sends both headers with fetch and http.request, and the server records the sender', async () => {
    await (await fetch(`${base}/a`)).text();
    await new Promise<void>((resolve, reject) => {
      httpRequest(`${base}/b`, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end();
    });
    const exchanges = sentExchanges();
    assert.equal(exchanges.length, 2);
    assert.deepEqual(
      seen.map((headers) => headers[CAUSEWAY_TRACE]),
      exchanges.map((id) => `1-${TRACE_ID}-7-${id}`),
    );
    assert.deepEqual(
      received(),
      exchanges.map((exchange) => ({ flags: 0, traceId: TRACE_ID, exchange, stream: 7 })),
    );
  });

  it('keeps a traceparent the application set', async () => {
    const own = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    seen.length = 0;
    await (await fetch(`${base}/c`, { headers: { traceparent: own } })).text();
    assert.equal(seen[0]?.[TRACEPARENT], own);
  });

  it('ignores and counts a malformed header, and still serves the request', async () => {
    const before = malformedPropagationHeaders();
    const from = received().length;
    for (const value of [`9-${TRACE_ID}-1-1`, 'x'.repeat(4000)]) {
      const status = await new Promise<number>((resolve, reject) => {
        // Sent by hand: the client interceptor would add a valid header of its own otherwise.
        const req = httpRequest(`${base}/d`, { headers: { [CAUSEWAY_TRACE]: value } }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject).end();
      });
      assert.equal(status, 200);
    }
    assert.equal(malformedPropagationHeaders(), before + 2);
    assert.deepEqual(
      received()
        .slice(from)
        .map((r) => r.flags),
      [ExchangeFlag.Malformed, ExchangeFlag.Malformed],
    );
  });
});
