import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CausalTrace,
  type CausewayError,
  EdgeKind,
  EventKind,
  encodeRecords,
  type RecordFields,
} from '../src/index.ts';

/** Records of one stream, numbered in sequence like the runtime numbers them. */
function stream(...events: Omit<RecordFields, 'seq' | 'flags'>[]): Uint8Array {
  return encodeRecords(events.map((e, seq) => ({ ...e, seq, flags: 0 })));
}

const begin = (task: number, b = 0) => ({ kind: EventKind.TaskBegin, task, site: 0, a: 0, b });
const suspend = (task: number, invocation: number) => ({
  kind: EventKind.AwaitSuspend,
  task,
  site: 2,
  a: invocation,
  b: 0,
});
const resume = (task: number, invocation: number, b = 1) => ({
  kind: EventKind.AwaitResume,
  task,
  site: 2,
  a: invocation,
  b,
});

describe('CausalTrace', () => {
  it('links each await continuation to the task that suspended it', () => {
    using trace = CausalTrace.create();
    trace.ingest(
      1,
      stream(begin(1), suspend(1, 10), suspend(1, 11), resume(2, 11, 4.5), resume(3, 10, 7.25)),
    );

    const tasks = trace.tasks();
    assert.deepEqual(
      tasks.map((t) => [t.localId, t.beginMs]),
      [
        [1, 0],
        [2, 4.5],
        [3, 7.25],
      ],
    );
    assert.deepEqual(trace.edges(), [
      { from: 0, to: 1, kind: EdgeKind.Await },
      { from: 0, to: 2, kind: EdgeKind.Await },
    ]);
    assert.equal(trace.happensBefore(0, 1), true);
    assert.equal(trace.happensBefore(1, 0), false);
    assert.equal(trace.concurrent(1, 2), true);
    assert.deepEqual(trace.clock(1), [2, 0]);
    assert.deepEqual(trace.clock(2), [1, 1]);
    assert.deepEqual(trace.stats(), {
      records: 5,
      dropped: 0,
      orphanTasks: 0,
      unmatchedResumes: 0,
      tasks: 3,
      chains: 2,
      accesses: 0,
      locations: 0,
      lateAccesses: 0,
    });
  });

  it('answers what came before and after a task, and the shortest chain of causes between two', () => {
    using trace = CausalTrace.create();
    // 1 suspends 10 and 11; 2 continues 11 and suspends it again; 3 continues 10; 4 continues 11.
    trace.ingest(
      1,
      stream(
        begin(1),
        suspend(1, 10),
        suspend(1, 11),
        resume(2, 11),
        suspend(2, 11),
        resume(3, 10),
        resume(4, 11),
      ),
    );
    assert.deepEqual(trace.ancestors(3), [0, 1]);
    assert.deepEqual(trace.descendants(0), [1, 2, 3]);
    assert.deepEqual(trace.descendants(2), []);
    assert.deepEqual(trace.causalPath(0, 3), [
      { from: 0, to: 1, kind: EdgeKind.Await },
      { from: 1, to: 3, kind: EdgeKind.Await },
    ]);
    assert.deepEqual(trace.causalPath(2, 2), []);
    assert.equal(trace.causalPath(2, 3), null, 'concurrent tasks: no chain');
    assert.equal(trace.causalPath(3, 0), null, 'causes run forward only');
    assert.throws(() => trace.ancestors(9), /no such task/);
  });

  it('refuses a batch with an unknown record kind, names the record and keeps what it had', () => {
    using trace = CausalTrace.create();
    trace.ingest(1, stream(begin(1)));
    const bad = encodeRecords([
      { ...begin(2), seq: 1, flags: 0 },
      { ...begin(3), kind: 99, seq: 2, flags: 0 },
    ]);
    assert.throws(
      () => trace.ingest(1, bad, 'batch.bin'),
      (error: CausewayError) =>
        error.code === 'CW_RECORDS_REFUSED' && /^batch\.bin: record 1 has kind 99/.test(error.message),
    );
    assert.equal(trace.stats().records, 1);
  });

  it('refuses a partial record', () => {
    using trace = CausalTrace.create();
    assert.throws(() => trace.ingest(1, new Uint8Array(40)), /40 bytes is not a whole number of records/);
  });

  it('rejects queries about tasks it does not have and use after dispose', () => {
    const trace = CausalTrace.create();
    trace.ingest(1, stream(begin(1)));
    assert.throws(() => trace.happensBefore(0, 5), RangeError);
    trace.dispose();
    assert.throws(() => trace.tasks(), /after dispose/);
  });

  it('counts sequence gaps as dropped records', () => {
    using trace = CausalTrace.create();
    trace.ingest(
      1,
      encodeRecords([
        { ...begin(1), seq: 0, flags: 0 },
        { ...suspend(1, 1), seq: 4, flags: 0 },
      ]),
    );
    assert.equal(trace.stats().dropped, 3);
  });
});
