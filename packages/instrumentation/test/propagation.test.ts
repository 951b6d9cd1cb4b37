// Propagation headers: written by the client interceptor, read (and validated) by the server
// interceptor, against a real server in this process.

import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventKind, ExchangeFlag } from '@causeway/core/event-format';
import express from 'express';
import Fastify from 'fastify';
import { installHttpClient, malformedResponseHeaders } from '../src/interceptors/http-client.ts';
import { installHttpServer, malformedPropagationHeaders } from '../src/interceptors/http-server.ts';
import {
  CAUSEWAY_RESPONSE,
  CAUSEWAY_TRACE,
  causewayResponseHeader,
  causewayTraceHeader,
  readPropagation,
  readResponder,
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

describe('readResponder', () => {
  it('reads what the writer writes, and refuses anything else', () => {
    assert.deepEqual(readResponder(causewayResponseHeader(3, 4_000_000_000)), {
      stream: 3,
      task: 4_000_000_000,
    });
    assert.equal(readResponder(undefined), null);
    for (const value of [
      '2-1-1',
      '1-1-0',
      '1-1-4294967296',
      '1-1-1,1-1-2',
      '1-1',
      `1-1-1${' '.repeat(200)}`,
      ['1-1-1'],
    ]) {
      assert.equal(readResponder(value), 'malformed', String(value));
    }
  });
});

describe('the response names the task that sent it', () => {
  const recorder = newRecorder();
  const read = reader(recorder);
  const identity = { traceId: TRACE_ID, stream: 7 };
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/garbled') res.setHeader(CAUSEWAY_RESPONSE, '1-x-2');
    res.end('ok');
  });
  let base = '';
  let uninstall: (() => void)[] = [];
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    uninstall = [installHttpServer(recorder, identity), installHttpClient(recorder, identity)];
  });
  after(() => {
    for (const undo of uninstall) undo();
    server.close();
  });

  function responses() {
    return read()
      .records.filter((r) => r.kind === EventKind.ResponseReceived)
      .map((r) => ({ flags: r.flags, exchange: low(r.a), task: high(r.a), stream: r.b }));
  }

  it('sends x-causeway-response to a recorded sender, and the sender records it', async () => {
    const response = await fetch(`${base}/a`);
    seen.push(response.headers.get(CAUSEWAY_RESPONSE) ?? undefined);
    await response.text();
    await new Promise<void>((resolve, reject) => {
      httpRequest(`${base}/b`, (res) => {
        seen.push(res.headers[CAUSEWAY_RESPONSE] as string | undefined);
        res.resume().on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const records = read().records;
    const requestTasks = records.filter((r) => r.kind === EventKind.HttpRequest).map((r) => r.task);
    const exchanges = records.filter((r) => r.kind === EventKind.HttpClientRequest).map((r) => r.b);
    assert.equal(requestTasks.length, 2);
    // Each handler answered synchronously, in its request's task.
    assert.deepEqual(
      seen,
      requestTasks.map((task) => `1-7-${task}`),
    );
    assert.deepEqual(
      responses(),
      exchanges.map((exchange, i) => ({ flags: 0, exchange, task: requestTasks[i], stream: 7 })),
    );
  });

  it('names the responder of Express and Fastify responses too (they write the head through writeHead)', async () => {
    const app = express();
    app.get('/e', (_req, res) => {
      res.json({ ok: true });
    });
    const expressServer = createServer(app);
    await new Promise<void>((resolve) => expressServer.listen(0, '127.0.0.1', resolve));
    const fastify = Fastify();
    fastify.get('/f', async () => ({ ok: true }));
    const fastifyBase = await fastify.listen({ port: 0, host: '127.0.0.1' });
    const from = responses().length;
    const headers: (string | null)[] = [];
    try {
      for (const url of [
        `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/e`,
        `${fastifyBase}/f`,
      ]) {
        const response = await fetch(url);
        headers.push(response.headers.get(CAUSEWAY_RESPONSE));
        assert.deepEqual(await response.json(), { ok: true });
      }
    } finally {
      expressServer.close();
      await fastify.close();
    }
    for (const header of headers) assert.match(header ?? '', /^1-7-[1-9]\d*$/);
    const named = responses()
      .slice(from)
      .map((r) => `1-${r.stream}-${r.task}`);
    assert.deepEqual(named, headers);
  });

  it('sends none to a client that is not recorded, and ignores a malformed one', async () => {
    const headers = await new Promise<unknown>((resolve, reject) => {
      // Sent by hand, without x-causeway-trace: the client interceptor is bypassed by a preset header.
      const req = httpRequest(
        `${base}/c`,
        { headers: { [TRACEPARENT]: traceparentHeader(TRACE_ID, 1, 1), [CAUSEWAY_TRACE]: 'bad' } },
        (res) => {
          res.resume().on('end', () => resolve(res.headers[CAUSEWAY_RESPONSE]));
        },
      );
      req.on('error', reject).end();
    });
    assert.equal(headers, undefined);
    const before = malformedResponseHeaders();
    const from = responses().length;
    assert.equal((await fetch(`${base}/garbled`)).status, 200);
    assert.equal(malformedResponseHeaders(), before + 1);
    assert.deepEqual(
      responses()
        .slice(from)
        .map((r) => r.flags),
      [ExchangeFlag.Malformed],
    );
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
