// Ingest -> query round trips, OTLP, bad input and retention, run against both stores.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventKind } from '@causeway/core/event-format';
import { BATCH_CONTENT_TYPE, encodeBatch, toJsonBatch, WIRE_VERSION } from '@causeway/core/wire-format';
import { API_KEY_HEADER, type CausewayServer, createServer } from '../src/app.ts';
import { ServerErrorCode } from '../src/errors.ts';
import type { TraceStore } from '../src/store/store.ts';
import { LOST_UPDATE, makeBatch, newTraceId, records } from './fixtures.ts';
import { STORE_KINDS } from './stores.ts';

function postBatch(server: CausewayServer, body: Uint8Array | object, headers: Record<string, string> = {}) {
  const binary = body instanceof Uint8Array;
  return server.app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: { 'content-type': binary ? BATCH_CONTENT_TYPE : 'application/json', ...headers },
    payload: binary ? Buffer.from(body) : JSON.stringify(body),
  });
}

async function getJson(server: CausewayServer, url: string) {
  const response = await server.app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() };
}

/** A span of an OTLP request. */
function span(traceId: string, spanId: string, name: string, parent = '') {
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    name,
    kind: 2,
    startTimeUnixNano: '1795428000000000000',
    endTimeUnixNano: '1795428000500000000',
    attributes: [{ key: 'http.route', value: { stringValue: `/${name}` } }],
  };
}

function otlp(service: string, spans: object[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  };
}

for (const kind of STORE_KINDS) {
  describe(`server on ${kind.name}`, async () => {
    const skip = await kind.skip();
    if (skip !== null) {
      it(`skipped: ${skip}`, { skip });
      return;
    }
    let store: TraceStore;
    let server: CausewayServer;
    before(async () => {
      store = await kind.open();
      server = createServer({
        store,
        bodyLimit: 64 * 1024,
        analyzeIntervalMs: 0,
        retention: { maxTraces: 1000 },
      });
    });
    after(async () => {
      await server.app.close();
      await kind.dispose(store);
    });

    it('stores a binary batch and serves its trace, events, graph and findings', async () => {
      const traceId = newTraceId();
      const ack = await postBatch(server, encodeBatch(makeBatch({ traceId })));
      assert.equal(ack.statusCode, 200, ack.body);
      assert.deepEqual(ack.json(), { traceId, records: 15, duplicate: false, firstIndex: 0, created: true });

      const list = await getJson(server, '/v1/traces?service=bank');
      assert.ok(list.body.traces.some((t: { traceId: string }) => t.traceId === traceId));

      const summary = await getJson(server, `/v1/traces/${traceId}`);
      assert.equal(summary.status, 200);
      assert.equal(summary.body.records, 15);
      assert.equal(summary.body.findings, 1);
      assert.equal(summary.body.stats.tasks, 5);
      assert.equal(summary.body.meta.service, 'bank');

      const events = await getJson(server, `/v1/traces/${traceId}/events?from=5&limit=2`);
      assert.equal(events.body.total, 15);
      assert.deepEqual(
        events.body.events.map((e: { index: number; kindName: string }) => [e.index, e.kindName]),
        [
          [5, 'await-resume'],
          [6, 'read'],
        ],
      );
      assert.equal(events.body.events[1].access.property, '.balance');
      assert.equal(events.body.events[1].access.value, '100');
      assert.equal(events.body.next, 7);

      const writes = await getJson(server, `/v1/traces/${traceId}/events?kind=write`);
      assert.deepEqual(
        writes.body.events.map((e: { access: { value: string } }) => e.access.value),
        ['70', '50'],
      );
      const byTask = await getJson(server, `/v1/traces/${traceId}/events?task=2`);
      assert.ok(byTask.body.events.length > 0);
      assert.ok(byTask.body.events.every((e: { task: number }) => e.task === 2));
      const bySite = await getJson(server, `/v1/traces/${traceId}/events?site=3&limit=1`);
      assert.equal(bySite.body.events.length, 1);
      assert.equal(bySite.body.events[0].site.name, 'balance');
      assert.equal(bySite.body.next, 9, 'the second read is event 9');

      const graph = await getJson(server, `/v1/traces/${traceId}/graph`);
      assert.equal(graph.body.tasks.length, 5);
      assert.ok(graph.body.edges.length >= 4);
      const pages = [];
      for (let from: number | null = 0; from !== null; ) {
        const page = await getJson(server, `/v1/traces/${traceId}/graph?from=${from}&limit=2`);
        assert.equal(page.body.totalTasks, 5);
        pages.push(page.body);
        from = page.body.next;
      }
      assert.equal(pages.length, 3);
      assert.deepEqual(
        pages.flatMap((p) => p.tasks),
        graph.body.tasks,
      );
      assert.deepEqual(
        pages.flatMap((p) => p.edges).sort((x, y) => x.to - y.to || x.from - y.from),
        [...graph.body.edges].sort((x, y) => x.to - y.to || x.from - y.from),
      );

      const findings = await getJson(server, `/v1/traces/${traceId}/findings`);
      assert.equal(findings.body.findings[0].class, 'lost-update');
      assert.equal(findings.body.findings[0].location.property, '.balance');
    });

    it('accepts the JSON variant, continues a trace over batches, and ignores a repeated batch', async () => {
      const traceId = newTraceId();
      const first = makeBatch({ traceId, events: records(LOST_UPDATE.slice(0, 7)) });
      const second = makeBatch({
        traceId,
        batch: 2,
        first: false,
        events: records(LOST_UPDATE.slice(7), 7),
        end: true,
      });
      assert.equal((await postBatch(server, toJsonBatch(first))).statusCode, 200);
      // Analysed with 7 records; the second batch is then added to the same core trace.
      const partial = await getJson(server, `/v1/traces/${traceId}`);
      assert.equal(partial.body.stats.records, 7);
      const ack = await postBatch(server, encodeBatch(second));
      assert.deepEqual(ack.json(), { traceId, records: 8, duplicate: false, firstIndex: 7, created: false });
      const again = await postBatch(server, encodeBatch(second));
      assert.equal(again.json().duplicate, true);
      const summary = await getJson(server, `/v1/traces/${traceId}`);
      assert.equal(summary.body.records, 15);
      assert.equal(summary.body.ended, true);
      assert.equal(summary.body.findings, 1);
      // The same as a fresh analysis of the whole trace.
      const fresh = createServer({ store, analyzeIntervalMs: 0 });
      try {
        for (const path of ['', '/graph', '/findings', '/events?limit=1000']) {
          const incremental = await getJson(server, `/v1/traces/${traceId}${path}`);
          const whole = await getJson(fresh, `/v1/traces/${traceId}${path}`);
          assert.deepEqual(incremental.body, whole.body, path);
        }
      } finally {
        await fresh.app.close();
      }
    });

    it('gives each process of a trace its own streams', async () => {
      const traceId = newTraceId();
      await postBatch(server, encodeBatch(makeBatch({ traceId, pid: 1, stream: 1 })));
      await postBatch(server, encodeBatch(makeBatch({ traceId, pid: 2, service: 'ledger', stream: 1 })));
      const summary = await getJson(server, `/v1/traces/${traceId}`);
      assert.deepEqual(
        summary.body.streams.map((s: { stream: number; pid: number }) => [s.stream, s.pid]),
        [
          [1, 1],
          [2, 2],
        ],
      );
      assert.deepEqual(summary.body.services, ['bank', 'ledger']);
      assert.equal(summary.body.findings, 2, 'one lost update in each process');
    });

    it('takes batches of one trace from four processes at the same time', async () => {
      const traceId = newTraceId();
      const answers = await Promise.all(
        [1, 2, 3, 4].map((pid) =>
          postBatch(server, encodeBatch(makeBatch({ traceId, pid, service: `svc-${pid}` }))),
        ),
      );
      assert.deepEqual(
        answers.map((a) => a.statusCode),
        [200, 200, 200, 200],
      );
      assert.deepEqual(
        answers.map((a) => a.json().firstIndex).sort((x, y) => x - y),
        [0, 15, 30, 45],
      );
      const summary = await getJson(server, `/v1/traces/${traceId}`);
      assert.equal(summary.body.records, 60);
      assert.equal(summary.body.findings, 4);
      const byService = await getJson(server, '/v1/traces?service=svc-3');
      assert.deepEqual(
        byService.body.traces.map((t: { traceId: string }) => t.traceId),
        [traceId],
      );
      assert.equal((await getJson(server, '/v1/traces?service=svc')).body.total, 0, 'names match exactly');
    });

    it('joins OTLP spans of other services to the trace with the same id', async () => {
      const traceId = newTraceId();
      const gateway = otlp('gateway', [span(traceId, 'a'.repeat(16), 'checkout')]);
      const ledger = otlp('ledger-go', [
        span(traceId.toUpperCase(), 'b'.repeat(16), 'debit', 'a'.repeat(16)),
      ]);
      for (const body of [gateway, ledger]) {
        const response = await server.app.inject({ method: 'POST', url: '/v1/traces', payload: body });
        assert.equal(response.statusCode, 200, response.body);
      }
      const spansOnly = await getJson(server, `/v1/traces/${traceId}`);
      assert.equal(spansOnly.status, 200);
      assert.deepEqual([spansOnly.body.records, spansOnly.body.spans, spansOnly.body.findings], [0, 2, 0]);
      assert.equal(spansOnly.body.startedAt, '2026-11-23T10:00:00.000Z', 'the earliest span start');
      assert.equal((await postBatch(server, encodeBatch(makeBatch({ traceId })))).statusCode, 200);
      const summary = await getJson(server, `/v1/traces/${traceId}`);
      assert.deepEqual(summary.body.services, ['gateway', 'ledger-go', 'bank']);
      assert.equal(summary.body.meta.service, 'bank', 'META comes from the first recording process');
      assert.equal(summary.body.spans, 2);
      assert.equal(summary.body.records, 15);
      const graph = await getJson(server, `/v1/traces/${traceId}/graph`);
      assert.deepEqual(
        graph.body.spans.map((s: { service: string; name: string; parentSpanId: string | null }) => [
          s.service,
          s.name,
          s.parentSpanId,
        ]),
        [
          ['gateway', 'checkout', null],
          ['ledger-go', 'debit', 'a'.repeat(16)],
        ],
      );
      const byService = await getJson(server, '/v1/traces?service=ledger-go');
      assert.deepEqual(
        byService.body.traces.map((t: { traceId: string }) => t.traceId),
        [traceId],
      );
    });

    describe('refuses bad input with {code, message} and leaves the store as it was', () => {
      let traceId: string;
      before(async () => {
        traceId = newTraceId();
        await postBatch(server, encodeBatch(makeBatch({ traceId })));
      });
      const expectRefused = async (
        response: { statusCode: number; json(): unknown },
        status: number,
        code: string,
      ) => {
        assert.equal(response.statusCode, status);
        const body = response.json() as { code: string; message: string };
        assert.equal(body.code, code);
        assert.ok(body.message.length > 10, body.message);
        const summary = await getJson(server, `/v1/traces/${traceId}`);
        assert.equal(summary.body.records, 15, 'the stored trace is unchanged');
        return body.message;
      };
      const next = (changes: (bytes: Buffer) => void) => {
        const bytes = Buffer.from(
          encodeBatch(makeBatch({ traceId, batch: 7, first: false, events: records(LOST_UPDATE, 100) })),
        );
        changes(bytes);
        return bytes;
      };

      it('a body that is not a batch', async () => {
        const message = await expectRefused(
          await postBatch(server, Buffer.from('hello, world, not a batch')),
          400,
          ServerErrorCode.BATCH_INVALID,
        );
        assert.match(message, /magic/);
      });
      it('a batch cut short inside a chunk', async () => {
        const whole = next(() => undefined);
        await expectRefused(
          await postBatch(server, whole.subarray(0, whole.length - 40)),
          400,
          ServerErrorCode.BATCH_INVALID,
        );
      });
      it('a record of an unknown kind', async () => {
        const bytes = next(() => undefined);
        bytes[bytes.length - 32] = 99; // the last record's kind
        const message = await expectRefused(
          await postBatch(server, bytes),
          400,
          ServerErrorCode.BATCH_INVALID,
        );
        assert.match(message, /unknown kind 99/);
      });
      it('an unknown wire version, binary and JSON', async () => {
        const bytes = next((b) => b.writeUInt32LE(WIRE_VERSION + 1, 8));
        const message = await expectRefused(
          await postBatch(server, bytes),
          400,
          ServerErrorCode.BATCH_VERSION,
        );
        assert.match(message, /version 2 is not supported/);
        const json = { ...toJsonBatch(makeBatch({ traceId, batch: 8 })), version: 9 };
        await expectRefused(await postBatch(server, json), 400, ServerErrorCode.BATCH_VERSION);
      });
      it('malformed JSON', async () => {
        const response = await server.app.inject({
          method: 'POST',
          url: '/v1/batches',
          headers: { 'content-type': 'application/json' },
          payload: '{"version": 1, "meta":',
        });
        await expectRefused(response, 400, ServerErrorCode.BATCH_INVALID);
      });
      it('a bad trace id', async () => {
        const batch = makeBatch({ traceId: 'not-hex', batch: 9 });
        const message = await expectRefused(
          await postBatch(server, encodeBatch(batch)),
          400,
          ServerErrorCode.BATCH_INVALID,
        );
        assert.match(message, /traceId/);
      });
      it('records of a stream no STREAM chunk declared', async () => {
        const batch = makeBatch({
          traceId,
          batch: 10,
          first: false,
          stream: 5,
          events: records(LOST_UPDATE, 100),
        });
        await expectRefused(await postBatch(server, encodeBatch(batch)), 409, ServerErrorCode.BATCH_CONFLICT);
      });
      it('records whose sequence goes back', async () => {
        const batch = makeBatch({ traceId, batch: 11, first: false, events: records(LOST_UPDATE, 3) });
        const message = await expectRefused(
          await postBatch(server, encodeBatch(batch)),
          409,
          ServerErrorCode.BATCH_CONFLICT,
        );
        assert.match(message, /sequence numbers must increase/);
      });
      it('an oversized body', async () => {
        const many = records(
          Array.from({ length: 3000 }, () => LOST_UPDATE[1] as (typeof LOST_UPDATE)[number]),
          200,
        );
        const batch = makeBatch({ traceId, batch: 12, first: false, events: many });
        const message = await expectRefused(
          await postBatch(server, encodeBatch(batch)),
          413,
          ServerErrorCode.BODY_TOO_LARGE,
        );
        assert.match(message, /65536 bytes/);
      });
      it('a content type the endpoint does not read', async () => {
        const response = await server.app.inject({
          method: 'POST',
          url: '/v1/batches',
          headers: { 'content-type': 'text/plain' },
          payload: 'x',
        });
        await expectRefused(response, 415, ServerErrorCode.UNSUPPORTED_MEDIA_TYPE);
        const otlpProtobuf = await server.app.inject({
          method: 'POST',
          url: '/v1/traces',
          headers: { 'content-type': BATCH_CONTENT_TYPE },
          payload: 'x',
        });
        assert.match(
          await expectRefused(otlpProtobuf, 415, ServerErrorCode.UNSUPPORTED_MEDIA_TYPE),
          /send application\/json/,
        );
      });
      it('a malformed OTLP request', async () => {
        const response = await server.app.inject({
          method: 'POST',
          url: '/v1/traces',
          payload: otlp('x', [span('123', 'a'.repeat(16), 'x')]),
        });
        const message = await expectRefused(response, 400, ServerErrorCode.OTLP_INVALID);
        assert.match(message, /traceId should be 32 hex digits/);
      });
      it('an unknown trace id', async () => {
        for (const path of ['', '/events', '/graph', '/findings']) {
          const response = await server.app.inject({
            method: 'GET',
            url: `/v1/traces/${newTraceId()}${path}`,
          });
          await expectRefused(response, 404, ServerErrorCode.TRACE_NOT_FOUND);
        }
      });
      it('a bad query parameter', async () => {
        const response = await server.app.inject({
          method: 'GET',
          url: `/v1/traces/${traceId}/events?kind=jump`,
        });
        const message = await expectRefused(response, 400, ServerErrorCode.BAD_QUERY);
        assert.match(message, /unknown event kind "jump"/);
      });
      it('a missing or wrong API key', async () => {
        const guarded = createServer({ store, apiKey: 'sesame-1234', analyzeIntervalMs: 0 });
        try {
          const batch = encodeBatch(
            makeBatch({ traceId, batch: 13, first: false, events: records(LOST_UPDATE, 100) }),
          );
          const missing = await postBatch(guarded, batch);
          assert.match(
            await expectRefused(missing, 401, ServerErrorCode.UNAUTHORIZED),
            /requires an API key/,
          );
          const wrong = await postBatch(guarded, batch, { [API_KEY_HEADER]: 'sesame-1235' });
          assert.match(await expectRefused(wrong, 401, ServerErrorCode.UNAUTHORIZED), /is wrong/);
          const read = await guarded.app.inject({ method: 'GET', url: '/v1/traces' });
          assert.equal(read.statusCode, 401);
          const right = await postBatch(guarded, batch, { [API_KEY_HEADER]: 'sesame-1234' });
          assert.equal(right.statusCode, 200);
          assert.equal(right.json().records, 15);
        } finally {
          await guarded.app.close();
        }
      });
    });

    it('lists traces by time range, findings and pages', async () => {
      const ids = [newTraceId(), newTraceId()];
      for (const traceId of ids)
        await postBatch(server, encodeBatch(makeBatch({ traceId, service: 'paging' })));
      const page1 = await getJson(server, '/v1/traces?service=paging&limit=1');
      assert.equal(page1.body.total, 2);
      assert.equal(page1.body.traces.length, 1);
      assert.equal(page1.body.next, 1);
      const page2 = await getJson(server, '/v1/traces?service=paging&limit=1&offset=1');
      assert.equal(page2.body.next, null);
      assert.deepEqual([page1.body.traces[0].traceId, page2.body.traces[0].traceId].sort(), [...ids].sort());
      // Findings are known once a trace was analysed.
      await getJson(server, `/v1/traces/${ids[0]}`);
      const withFindings = await getJson(server, '/v1/traces?service=paging&hasFindings=true');
      assert.deepEqual(
        withFindings.body.traces.map((t: { traceId: string }) => t.traceId),
        [ids[0]],
      );
      const started = Date.parse('2026-11-23T10:00:00.000Z');
      const inRange = await getJson(server, `/v1/traces?service=paging&from=${started}&to=${started + 1}`);
      assert.equal(inRange.body.total, 2);
      const outOfRange = await getJson(server, `/v1/traces?service=paging&from=2026-11-23T10:00:00.001Z`);
      assert.equal(outOfRange.body.total, 0);
    });

    it('deletes traces by age and by count, and nothing else', async () => {
      const now = Date.now();
      const old = newTraceId();
      const middle = newTraceId();
      const recent = newTraceId();
      await store.ingestBatch(makeBatch({ traceId: old, service: 'retention' }), now - 10 * 86_400_000);
      await store.ingestBatch(makeBatch({ traceId: middle, service: 'retention' }), now - 2000);
      await store.ingestBatch(makeBatch({ traceId: recent, service: 'retention' }), now - 1000);
      assert.deepEqual(await store.retain({ maxAgeMs: 86_400_000 }, now), [old]);
      assert.equal(await store.getTrace(old), null);
      assert.equal((await store.loadTrace(old)) === null, true);
      const before = (await store.listTraces({ limit: 1000, offset: 0 })).total;
      const deleted = await store.retain({ maxTraces: before - 1 }, now);
      assert.equal(deleted.length, 1);
      assert.notEqual(deleted[0], recent);
      assert.ok((await store.getTrace(recent)) !== null);
      assert.equal((await store.listTraces({ limit: 1000, offset: 0 })).total, before - 1);
      // The deleted trace's rows are gone: the same id starts afresh.
      const again = await store.ingestBatch(makeBatch({ traceId: old }), now);
      assert.equal(again.created, true);
    });

    it('analyses a trace deleted by retention and sent again afresh', async () => {
      const traceId = newTraceId();
      const retaining = createServer({ store, analyzeIntervalMs: 0, retention: { maxAgeMs: 0 } });
      try {
        await postBatch(retaining, encodeBatch(makeBatch({ traceId })));
        assert.equal((await getJson(retaining, `/v1/traces/${traceId}`)).body.records, 15);
        await new Promise((resolve) => setTimeout(resolve, 5)); // older than "now" by a few ms
        assert.ok((await retaining.retain()).includes(traceId));
        // The same id again, with other values written and more records than before.
        const changed = LOST_UPDATE.map((e) => (e.kind === EventKind.Write ? { ...e, b: e.b + 1 } : e));
        await postBatch(retaining, encodeBatch(makeBatch({ traceId, events: records(changed) })));
        const more = [LOST_UPDATE[0], LOST_UPDATE[1]] as typeof LOST_UPDATE;
        await postBatch(
          retaining,
          encodeBatch(makeBatch({ traceId, batch: 2, first: false, events: records(more, 15) })),
        );
        const writes = await getJson(retaining, `/v1/traces/${traceId}/events?kind=write`);
        assert.deepEqual(
          writes.body.events.map((e: { access: { value: string } }) => e.access.value),
          ['71', '51'],
        );
      } finally {
        await retaining.app.close();
      }
    });

    it('reports health and metrics', async () => {
      const health = await getJson(server, '/healthz');
      assert.equal(health.body.status, 'ok');
      const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^causeway_events_ingested_total [1-9]\d*$/m);
      assert.match(metrics.body, /^causeway_batches_rejected_total [1-9]\d*$/m);
      assert.match(metrics.body, /^causeway_analysis_seconds_total \d/m);
      assert.match(metrics.body, /^causeway_store_bytes \d+$/m);
    });
  });
}
