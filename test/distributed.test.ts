// The distributed example end to end: examples/distributed/run.ts starts gateway, orders and
// payments as three recorded processes, checks out a fast order, a slow one (payments' review
// outlasts orders' timeout: orders fails, gateway answers 504) and one with a malformed
// propagation header, then analyzes the three recordings. The test loads the same files and
// checks the causal chain across the processes and the failure's root cause.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildRecordingsReport, loadRecordings, type TaskReport } from '@causeway/core';
import { decodeRecords, EventKind, ExchangeFlag } from '@causeway/core/event-format';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'distributed');

describe('the distributed example (gateway -> orders -> payments)', () => {
  const traceDir = mkdtempSync(join(tmpdir(), 'causeway-distributed-'));
  const run = spawnSync(process.execPath, ['run.ts'], {
    cwd: EXAMPLE,
    env: { ...process.env, CAUSEWAY_TRACE_DIR: traceDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const paths = new Map(
    [...run.stdout.matchAll(/^(\w+): trace [0-9a-f]{32} written to (.+)$/gm)].map((m) => [
      m[1] as string,
      resolve(EXAMPLE, m[2] as string),
    ]),
  );

  it('answers the fast checkouts, 504 for the slow one, and analyzes the three recordings as one', () => {
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^GET \/checkout\?amount=20 -> 200 /m);
    assert.match(
      run.stdout,
      /^GET \/checkout\?amount=5000 -> 504 checkout timed out upstream: payments timed out$/m,
    );
    // The request with a malformed header is served like any other.
    assert.match(run.stdout, /^GET \/checkout\?amount=30 -> 200 /m);
    assert.deepEqual([...paths.keys()], ['gateway', 'orders', 'payments']);
    // `causeway analyze --trace-id <gateway>` found the other two recordings in the directory.
    assert.match(run.stdout, /^3 recordings joined by their HTTP exchanges: gateway, orders, payments$/m);
    assert.match(run.stdout, /^6 requests and 5 responses joined across services$/m);
    assert.match(
      run.stdout,
      /Root cause: the await at src\/orders\.ts:\d+:\d+ in chargePayment was rejected/,
    );
    assert.match(run.stdout, /payments is the slow service/);
  });

  it('orders the slow checkout across the three processes, and roots its failure in the payments call', () => {
    // Payments first: the loader must order the streams itself.
    const files = ['payments', 'gateway', 'orders'].map((name) => paths.get(name) as string);
    const loaded = loadRecordings(files);
    try {
      assert.deepEqual(loaded.messages, { linked: 6, unlinked: 0 });
      assert.deepEqual(loaded.responses, { linked: 5, unlinked: 0 });
      const report = buildRecordingsReport(files, loaded);
      const { trace } = loaded;
      const tasks = report.tasks;
      const requests = (service: string, request: string): TaskReport[] =>
        tasks.filter((task) => task.service === service && task.request === request);
      assert.equal(requests('gateway', 'GET /checkout').length, 3);
      assert.equal(requests('orders', 'POST /orders').length, 3);
      assert.equal(requests('payments', 'POST /charge').length, 3);

      // One failure: placeOrder in orders, rooted in chargePayment's fetch to payments, which
      // timed out while payments was still reviewing the charge.
      assert.equal(report.failures.length, 1, JSON.stringify(report.failures, null, 2));
      const [failure] = report.failures;
      const [root, surfaced] = failure?.calls ?? [];
      assert.equal(root?.function?.functionName, 'chargePayment');
      assert.equal(tasks[root?.task ?? -1]?.service, 'orders');
      assert.equal(surfaced?.function?.functionName, 'placeOrder');
      assert.deepEqual(
        surfaced?.neverCalled.map((site) => site.functionName),
        ['confirmOrder'],
      );
      const remote = root?.remote;
      assert.equal(remote?.error, 'TimeoutError');
      assert.equal(remote?.timedOut, true);
      assert.match(remote?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/charge$/);
      assert.equal(remote?.handledBy?.service, 'payments');
      assert.equal(remote?.handledBy?.request, 'POST /charge');
      assert.match(failure?.story ?? '', /payments is the slow service/);

      // The causal chain of that checkout: gateway request -> orders request -> payments request,
      // each step a message edge from the previous service, and nothing back against it.
      const charge = remote?.handledBy?.task as number;
      const order = requests('orders', 'POST /orders').filter((t) => trace.happensBefore(t.id, charge));
      assert.equal(order.length, 1, 'exactly one orders request precedes the slow charge');
      const checkout = requests('gateway', 'GET /checkout').filter((t) =>
        trace.happensBefore(t.id, order[0]?.id as number),
      );
      assert.equal(checkout.length, 1, 'exactly one gateway request precedes that order');
      const [g, o] = [checkout[0]?.id as number, order[0]?.id as number];
      assert.ok(trace.happensBefore(g, charge));
      assert.ok(!trace.happensBefore(charge, g) && !trace.happensBefore(o, g));
      const into = (task: number, kind: string) =>
        report.edges.filter((e) => e.to === task && e.kind === kind).map((e) => tasks[e.from]?.service);
      assert.deepEqual(into(o, 'message'), ['gateway']);
      assert.deepEqual(into(charge, 'message'), ['orders']);
      // The slow charge never answered orders in time, so no response edge leaves it; the other
      // two did, and orders answered the gateway all three times.
      const responses = report.edges
        .filter((e) => e.kind === 'response')
        .map((e) => `${tasks[e.from]?.service}->${tasks[e.to]?.service}`)
        .sort();
      assert.deepEqual(responses, [
        'orders->gateway',
        'orders->gateway',
        'orders->gateway',
        'payments->orders',
        'payments->orders',
      ]);
      const afterCharge = tasks.filter((t) => t.service !== 'payments' && trace.happensBefore(charge, t.id));
      assert.deepEqual(afterCharge, [], 'nothing in orders or gateway waited for the late answer');

      // The gateway ignored and counted the malformed header.
      const gateway = loaded.files[1];
      const malformed = (gateway?.events ?? [])
        .flatMap((chunk) => decodeRecords(chunk.records))
        .filter((r) => r.kind === EventKind.MessageReceived && (r.flags & ExchangeFlag.Malformed) !== 0);
      assert.equal(malformed.length, 1);
    } finally {
      loaded.trace.dispose();
    }
  });
});
