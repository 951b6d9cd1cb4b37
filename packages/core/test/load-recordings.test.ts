// loadRecordings over synthetic recordings of two services that call each other both ways: the
// streams must be ingested interleaved for every message and response edge to be drawn.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeKind, EventKind, encodeRecords, type RecordFields } from '../src/format/event-format.ts';
import { globalStream, loadRecordings, TraceFileWriter } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'causeway-load-recordings-'));
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

type Row = [kind: number, task: number, a: number, b: number, site?: number];

/** A one-stream recording whose string 1 is the other service's trace id. */
function write(name: string, traceId: string, other: string, rows: Row[]): string {
  const path = join(dir, `${name}.cwtrace`);
  const writer = TraceFileWriter.create(path, {
    traceId,
    service: name,
    pid: 1,
    startedAt: '2026-11-23T00:00:00.000Z',
    node: 'v24.0.0',
    causeway: '0.1.0',
  });
  writer.stream({ stream: 1, pid: 1, thread: 0, epochMs: 0 });
  writer.strings({ stream: 1, first: 1, strings: [other] });
  const records: RecordFields[] = rows.map(([kind, task, a, b, site = 0], seq) => ({
    kind,
    flags: 0,
    seq,
    task,
    site,
    a,
    b,
  }));
  writer.events(1, encodeRecords(records));
  writer.end({ records: records.length, dropped: 0, endedAt: '2026-11-23T00:00:01.000Z' });
  return path;
}

const HI = 2 ** 32;
const {
  TaskBegin,
  HttpClientRequest,
  HttpClientResponse,
  AwaitSuspend,
  AwaitResume,
  HttpRequest,
  MessageReceived,
  ResponseReceived,
} = EventKind;

describe('loadRecordings', () => {
  it('draws the edges of services that call each other both ways', () => {
    // a's start (task 1) calls b (exchange 1) and awaits; b handles it in task 2 and, before
    // answering, calls a (exchange 1), which answers from its request task 2; b resumes in 3
    // and answers; a resumes in 3.
    const a = write('a', A, B, [
      [TaskBegin, 1, 0, 0],
      [HttpClientRequest, 1, 0, 1],
      [AwaitSuspend, 1, 10, 0],
      [HttpRequest, 2, 0, 0],
      [MessageReceived, 2, 1 + 1 * HI, 1],
      [ResponseReceived, 2, 1 + 3 * HI, 1],
      [AwaitResume, 3, 10, 0],
    ]);
    const b = write('b', B, A, [
      [TaskBegin, 1, 0, 0],
      [HttpRequest, 2, 0, 0],
      [MessageReceived, 2, 1 + 1 * HI, 1],
      [HttpClientRequest, 2, 0, 1],
      [AwaitSuspend, 2, 20, 0],
      [ResponseReceived, 2, 1 + 2 * HI, 1],
      [AwaitResume, 3, 20, 0],
    ]);
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const loaded = loadRecordings(order);
      try {
        assert.deepEqual(loaded.messages, { linked: 2, unlinked: 0 });
        assert.deepEqual(loaded.responses, { linked: 2, unlinked: 0 });
        const { trace } = loaded;
        const fileA = order.indexOf(a);
        const fileB = order.indexOf(b);
        const task = (file: number, local: number) =>
          trace.tasks().find((t) => t.stream === globalStream(file, 1) && t.localId === local)
            ?.index as number;
        const edges = trace
          .edges()
          .filter((e) => e.kind === EdgeKind.Message || e.kind === EdgeKind.Response)
          .map((e) => [e.from, e.to, e.kind]);
        assert.deepEqual(
          edges.sort((x, y) => (x[1] as number) - (y[1] as number)).map(String),
          [
            [task(fileA, 1), task(fileB, 2), EdgeKind.Message],
            [task(fileB, 2), task(fileA, 2), EdgeKind.Message],
            [task(fileA, 2), task(fileB, 3), EdgeKind.Response],
            [task(fileB, 3), task(fileA, 3), EdgeKind.Response],
          ]
            .sort((x, y) => (x[1] as number) - (y[1] as number))
            .map(String),
        );
        assert.ok(trace.happensBefore(task(fileA, 1), task(fileA, 3)));
        assert.ok(
          trace.happensBefore(task(fileA, 2), task(fileA, 3)),
          "a's handler before a's continuation, via b",
        );
      } finally {
        loaded.trace.dispose();
      }
    }
  });

  it("draws the response edge to http.request's callback, which begins right after the response", () => {
    const client = write('callback-client', A, B, [
      [TaskBegin, 1, 0, 0],
      [HttpClientRequest, 1, 0, 1],
      [HttpClientResponse, 1, 1 + 200 * HI, 0],
      [ResponseReceived, 1, 1 + 2 * HI, 1],
      [TaskBegin, 2, 0, 0, 7],
    ]);
    const server = write('callback-server', B, A, [
      [TaskBegin, 1, 0, 0],
      [HttpRequest, 2, 0, 0],
      [MessageReceived, 2, 1 + 1 * HI, 1],
    ]);
    const loaded = loadRecordings([client, server]);
    try {
      assert.deepEqual(loaded.responses, { linked: 1, unlinked: 0 });
      const tasks = loaded.trace.tasks();
      const [edge] = loaded.trace.edges().filter((e) => e.kind === EdgeKind.Response);
      assert.deepEqual(
        [tasks[edge?.from ?? -1]?.stream, tasks[edge?.from ?? -1]?.localId],
        [globalStream(1, 1), 2],
      );
      assert.deepEqual(
        [tasks[edge?.to ?? -1]?.stream, tasks[edge?.to ?? -1]?.localId],
        [globalStream(0, 1), 2],
      );
    } finally {
      loaded.trace.dispose();
    }
  });

  it('gives up an edge that would need a cycle, and loads the rest', () => {
    // a's request task 2 claims to be caused by b's exchange 1, sent from b's continuation 3;
    // but b's task 3 continues after the response to its exchange 2 (handled by a's task 4),
    // which names a's task 2 as its sender: no order of ingestion has both edges.
    const a = write('cycle-a', A, B, [
      [TaskBegin, 1, 0, 0],
      [HttpClientRequest, 1, 0, 1],
      [AwaitSuspend, 1, 10, 0],
      [HttpRequest, 2, 0, 0],
      [MessageReceived, 2, 1 + 1 * HI, 1],
      [HttpRequest, 4, 0, 0],
      [MessageReceived, 4, 1 + 2 * HI, 1],
    ]);
    const b = write('cycle-b', B, A, [
      [TaskBegin, 1, 0, 0],
      [HttpRequest, 2, 0, 0],
      [MessageReceived, 2, 1 + 1 * HI, 1],
      [HttpClientRequest, 2, 0, 2],
      [AwaitSuspend, 2, 20, 0],
      [ResponseReceived, 2, 2 + 2 * HI, 1],
      [AwaitResume, 3, 20, 0],
      [HttpClientRequest, 3, 0, 1],
    ]);
    const loaded = loadRecordings([a, b]);
    try {
      // The first wait found blocked (a's request task 2 on b's task 3) is given up.
      assert.deepEqual(loaded.messages, { linked: 2, unlinked: 1 });
      assert.deepEqual(loaded.responses, { linked: 1, unlinked: 0 });
      assert.equal(loaded.trace.stats().records, 15);
      assert.equal(loaded.trace.tasks().length, 6);
    } finally {
      loaded.trace.dispose();
    }
  });
});
