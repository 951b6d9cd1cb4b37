// The client interceptor against a real server: http.request and fetch, with errors and timeouts.

import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventKind, ExchangeFlag } from '@causeway/core/event-format';
import { installHttpClient } from '../src/interceptors/http-client.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';

const recorder = newRecorder();
const read = reader(recorder);
let uninstall: () => void;

// /slow never answers; everything else answers with the status in its path (/status/418).
const server = createServer((req, res) => {
  if (req.url === '/slow') return;
  res.statusCode = Number.parseInt(req.url?.split('/')[2] ?? '200', 10);
  res.end('body');
});
let base = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  uninstall = installHttpClient(recorder);
});
after(() => {
  uninstall();
  server.closeAllConnections();
  server.close();
});

interface Exchange {
  task: number;
  method: string | undefined;
  url: string | undefined;
  status?: number;
  error?: string | undefined;
  flags?: number;
  duration?: number;
}

function exchanges(): Map<number, Exchange> {
  const recorded = read();
  const byId = new Map<number, Exchange>();
  for (const r of recorded.records) {
    if (r.kind === EventKind.HttpClientRequest) {
      byId.set(r.b, { task: r.task, method: recorded.string(low(r.a)), url: recorded.string(high(r.a)) });
    } else if (r.kind === EventKind.HttpClientResponse) {
      Object.assign(byId.get(low(r.a)) as Exchange, { status: high(r.a), duration: r.b });
    } else if (r.kind === EventKind.HttpClientError) {
      Object.assign(byId.get(low(r.a)) as Exchange, {
        error: recorded.string(high(r.a)),
        flags: r.flags,
        duration: r.b,
      });
    }
  }
  return byId;
}

function exchangeFor(url: string): Exchange {
  const found = [...exchanges().values()].filter((e) => e.url === url);
  assert.equal(found.length, 1, `one exchange for ${url}`);
  return found[0] as Exchange;
}

function get(path: string, timeout?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    if (timeout !== undefined) {
      req.setTimeout(timeout, () => req.destroy(new Error('gave up waiting')));
    }
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTP client interceptor', () => {
  it('records an http.request exchange in the sending task, without the query', async () => {
    assert.equal(await get('/status/201?api_key=hidden'), 201);
    const exchange = exchangeFor(`${base}/status/201`);
    assert.equal(exchange.method, 'GET');
    assert.equal(exchange.status, 201);
    assert.equal(exchange.task, recorder.currentTask);
    assert.ok((exchange.duration as number) >= 0);
  });

  it('records fetch exchanges: a response, a refused connection, and a timeout', async () => {
    const response = await fetch(`${base}/status/404`, { method: 'DELETE' });
    assert.equal(response.status, 404);
    await response.text();
    const missing = exchangeFor(`${base}/status/404`);
    assert.deepEqual([missing.method, missing.status], ['DELETE', 404]);

    // A port nothing listens on: the connection is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(fetch(`http://127.0.0.1:${port}/refused`));
    const refused = exchangeFor(`http://127.0.0.1:${port}/refused`);
    assert.equal(refused.error, 'ECONNREFUSED');
    assert.equal(refused.flags, 0);

    await assert.rejects(fetch(`${base}/slow`, { signal: AbortSignal.timeout(50) }));
    const slow = exchangeFor(`${base}/slow`);
    assert.equal(slow.flags, ExchangeFlag.Timeout);
    assert.equal(slow.status, undefined);
  });

  it('marks an http.request that timed out and was destroyed', async () => {
    await assert.rejects(get('/slow', 30), /gave up waiting/);
    const slow = [...exchanges().values()].filter((e) => e.url === `${base}/slow` && e.method === 'GET');
    const timedOut = slow.find((e) => e.error === 'Error');
    assert.ok(timedOut, 'the destroyed request is recorded as failed');
    assert.equal(timedOut.flags, ExchangeFlag.Timeout);
  });
});
