// OpenTelemetry interop against a real server: with an active OTel span, outgoing requests carry
// its ids in traceparent (and the recording notes them); an incoming traceparent that is not the
// sender recording's own is noted on the request's task. @opentelemetry/api is a devDependency
// here, loaded the way the runtime loads an application's copy.

import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventKind } from '@causeway/core/event-format';
import * as otel from '@opentelemetry/api';
import { CAPTURE_NAMES } from '../src/interceptors/capture.ts';
import { installHttpClient } from '../src/interceptors/http-client.ts';
import { installHttpServer } from '../src/interceptors/http-server.ts';
import { loadOtel } from '../src/interceptors/otel.ts';
import { CAUSEWAY_TRACE, TRACEPARENT } from '../src/interceptors/propagation.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';

const CAUSEWAY_TRACE_ID = '11111111111111111111111111111111';
const OTEL_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTEL_SPAN_ID = '00f067aa0ba902b7';
const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** A context manager on AsyncLocalStorage (what @opentelemetry/context-async-hooks provides). */
class StorageContextManager implements otel.ContextManager {
  readonly #storage = new AsyncLocalStorage<otel.Context>();
  active(): otel.Context {
    return this.#storage.getStore() ?? otel.ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(context, () => fn.apply(thisArg, args));
  }
  bind<T>(_context: otel.Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

const recorder = newRecorder();
const read = reader(recorder);
const received: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  received.push(req.headers);
  res.end('ok');
});
let base = '';
const uninstall: (() => void)[] = [];

before(async () => {
  otel.context.setGlobalContextManager(new StorageContextManager());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const identity = { traceId: CAUSEWAY_TRACE_ID, stream: 1 };
  uninstall.push(installHttpClient(recorder, identity, undefined, PACKAGE_DIR));
  uninstall.push(installHttpServer(recorder, identity));
});
after(() => {
  for (const undo of uninstall) undo();
  otel.context.disable();
  server.closeAllConnections();
  server.close();
});

function inSpan<T>(fn: () => T): T {
  const span = { traceId: OTEL_TRACE_ID, spanId: OTEL_SPAN_ID, traceFlags: otel.TraceFlags.SAMPLED };
  return otel.context.with(otel.trace.setSpanContext(otel.context.active(), span), fn);
}

/** The data of every otel.context capture so far. */
function otelContexts(): Record<string, unknown>[] {
  const recorded = read();
  return recorded.records
    .filter(
      (r) => r.kind === EventKind.CustomEvent && recorded.string(low(r.a)) === CAPTURE_NAMES.otelContext,
    )
    .map((r) => JSON.parse(recorded.string(high(r.a)) as string) as Record<string, unknown>);
}

describe('OpenTelemetry interop', () => {
  it('is not loaded where the application cannot load it', () => {
    assert.equal(loadOtel(mkdtempSync(join(tmpdir(), 'causeway-no-otel-'))), null);
    assert.notEqual(loadOtel(PACKAGE_DIR), null);
  });

  it("sends fetch and http.request with the active span's ids, and notes them on both sides", async () => {
    await inSpan(async () => (await fetch(`${base}/fetch`)).text());
    await inSpan(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = httpRequest(`${base}/http`, (res) => res.resume().on('end', resolve));
          req.on('error', reject);
          req.end();
        }),
    );
    assert.equal(received.length, 2);
    for (const headers of received) {
      assert.equal(headers[TRACEPARENT], `00-${OTEL_TRACE_ID}-${OTEL_SPAN_ID}-01`);
      assert.match(String(headers[CAUSEWAY_TRACE]), new RegExp(`^1-${CAUSEWAY_TRACE_ID}-1-\\d+$`));
    }
    const contexts = otelContexts();
    const sent = contexts.filter((c) => c.exchange !== 0);
    const noted = contexts.filter((c) => c.exchange === 0);
    assert.equal(sent.length, 2, 'one per outgoing request');
    assert.equal(noted.length, 2, 'one per incoming request');
    for (const c of [...sent, ...noted])
      assert.deepEqual([c.traceId, c.spanId], [OTEL_TRACE_ID, OTEL_SPAN_ID]);
  });

  it("uses Causeway's own ids, and notes nothing, outside any span", async () => {
    const before = otelContexts().length;
    await (await fetch(`${base}/plain`)).text();
    const headers = received.at(-1) ?? {};
    assert.match(String(headers[TRACEPARENT]), new RegExp(`^00-${CAUSEWAY_TRACE_ID}-[0-9a-f]{16}-01$`));
    assert.equal(otelContexts().length, before);
  });
});
