import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AccessFlag,
  CausalTrace,
  EVENT_FORMAT_VERSION,
  EventKind,
  encodeRecords,
  type RecordFields,
  SiteKind,
  TraceEvents,
  type TraceFile,
  ValueTag,
} from '../src/index.ts';

const STREAM = 1;
/** Site ids: base 1 in the one table below. */
const FN_SITE = 1;
const AWAIT_SITE = 2;
const READ_SITE = 3;
const WRITE_SITE = 4;
/** Object 7, key 1 (`balance`) and key 2 (`status`). */
const BALANCE = 7 + 1 * 2 ** 32;
const STATUS = 7 + 2 * 2 ** 32;

type Event = Omit<RecordFields, 'seq'>;
const rec = (kind: number, task: number, site: number, a: number, b: number, flags = 0): Event => ({
  kind,
  flags,
  task,
  site,
  a,
  b,
});

/** Task 1 calls an async function (invocation 5) that reads, awaits and writes; task 2 continues it. */
const EVENTS: Event[] = [
  rec(EventKind.TaskBegin, 1, 0, 0, 0.25),
  rec(EventKind.FnEnter, 1, FN_SITE, 5, 0),
  rec(EventKind.Read, 1, READ_SITE, BALANCE, 100, ValueTag.Number),
  rec(EventKind.Write, 1, WRITE_SITE, STATUS, 3, ValueTag.String),
  rec(EventKind.AwaitSuspend, 1, AWAIT_SITE, 5, 0),
  rec(EventKind.AwaitResume, 2, AWAIT_SITE, 5, 12.5),
  rec(EventKind.Write, 2, WRITE_SITE, BALANCE, 70, ValueTag.Number | AccessFlag.Update),
  rec(EventKind.Write, 2, WRITE_SITE, STATUS, 0, ValueTag.None | AccessFlag.Delete),
  rec(EventKind.FnExit, 2, FN_SITE, 5, 0),
];

function traceFile(): TraceFile {
  return {
    meta: { traceId: '0'.repeat(32), service: 'test', pid: 1, startedAt: '', node: '24', causeway: '0' },
    streams: [{ stream: STREAM, pid: 1, thread: 0, epochMs: 0 }],
    sites: [
      {
        stream: STREAM,
        base: 1,
        table: {
          v: EVENT_FORMAT_VERSION,
          file: 'src/account.ts',
          sites: [
            [SiteKind.Function, 3, 1, 'withdraw', ''],
            [SiteKind.Await, 5, 3, 'withdraw', ''],
            [SiteKind.Read, 4, 10, 'withdraw', 'balance'],
            [SiteKind.Write, 6, 3, 'withdraw', 'balance'],
          ],
        },
      },
    ],
    strings: [{ stream: STREAM, first: 1, strings: ['balance', 'status', 'pending'] }],
    events: [{ stream: STREAM, records: encodeRecords(EVENTS.map((e, seq) => ({ ...e, seq }))) }],
    end: null,
  };
}

function load(): { events: TraceEvents; trace: CausalTrace } {
  const file = traceFile();
  const trace = CausalTrace.create();
  for (const chunk of file.events) trace.ingest(chunk.stream, chunk.records);
  return { events: TraceEvents.of({ file, trace }), trace };
}

describe('TraceEvents', () => {
  it('decodes each record with the task the core gave it, its site, time and value', () => {
    const { events, trace } = load();
    using _ = trace;
    assert.equal(events.length, EVENTS.length);
    const tasks = trace.tasks();
    const taskOf = (localId: number) => tasks.find((t) => t.localId === localId)?.index;

    const begin = events.at(0);
    assert.equal(begin.kindName, 'task-begin');
    assert.equal(begin.timeMs, 0.25);
    assert.equal(begin.site, null);
    assert.equal(begin.task, taskOf(1));

    const read = events.at(2);
    assert.equal(read.site?.functionName, 'withdraw');
    assert.equal(read.site?.line, 4);
    assert.deepEqual(read.access, {
      kind: 'read',
      objectId: 7,
      keyId: 1,
      property: '.balance',
      valueTag: ValueTag.Number,
      value: '100',
    });
    assert.equal(events.at(3).access?.value, '"pending"');

    const resume = events.at(5);
    assert.equal(resume.task, taskOf(2));
    assert.notEqual(resume.task, begin.task);
    assert.equal(resume.timeMs, 12.5);
    assert.equal(resume.invocation, 5);
    assert.equal(events.at(6).access?.kind, 'update');
    assert.equal(events.at(7).access?.kind, 'delete');
    assert.equal(events.at(7).access?.value, null);
  });

  it('selects by kind, task and site, and refuses indices outside the trace', () => {
    const { events, trace } = load();
    using _ = trace;
    assert.deepEqual([...events.select({ kinds: [EventKind.Write] })], [3, 6, 7]);
    assert.deepEqual([...events.select({ task: events.taskAt(5) })], [5, 6, 7, 8]);
    assert.deepEqual([...events.select({ site: WRITE_SITE, task: events.taskAt(0) })], [3]);
    assert.deepEqual([...events.select({ stream: 2 })], []);
    assert.equal(events.siteKeyAt(2), STREAM * 2 ** 32 + READ_SITE);
    assert.equal(events.siteKeyAt(0), STREAM * 2 ** 32);
    assert.deepEqual(
      events.slice(7, 100).map((e) => e.kindName),
      ['write', 'fn-exit'],
    );
    assert.throws(() => events.at(EVENTS.length), /event 9 is outside the trace \(0\.\.8\)/);
  });

  it('gives the call stack at an event: the functions entered in its task, and the one a continuation resumed', () => {
    const { events, trace } = load();
    using _ = trace;
    const stack = (i: number) =>
      events.stackAt(i).map((site) => `${site.kindName} ${site.functionName}:${site.line}`);
    assert.deepEqual(stack(0), []);
    assert.deepEqual(stack(2), ['function withdraw:3']);
    assert.deepEqual(stack(6), ['await withdraw:5']);
    assert.deepEqual(stack(8), ['await withdraw:5'], 'an exit still shows the frame it leaves');
  });

  it('travels in time: the last value written to each location as of an event', () => {
    const { events, trace } = load();
    using _ = trace;
    assert.deepEqual(events.stateAt(2), []);
    assert.deepEqual(
      events.stateAt(6).map((s) => [s.property, s.value, s.deleted, s.writtenAt]),
      [
        ['.status', '"pending"', false, 3],
        ['.balance', '70', false, 6],
      ],
    );
    const last = events.stateAt(EVENTS.length - 1);
    assert.deepEqual(
      last.map((s) => [s.property, s.value, s.deleted]),
      [
        ['.status', null, true],
        ['.balance', '70', false],
      ],
    );
    assert.equal(last[1]?.task, events.taskAt(6));
  });

  it('travels in time on a long trace, lists the latest writes, and locates a record by seq', () => {
    // Each event writes its own position, to .status when it is a multiple of 3, else to
    // .balance, so the answer at any event is known.
    const count = 10_000;
    const many: Event[] = [rec(EventKind.TaskBegin, 1, 0, 0, 0)];
    for (let i = 1; i < count; i++) {
      many.push(rec(EventKind.Write, 1, WRITE_SITE, i % 3 === 0 ? STATUS : BALANCE, i, ValueTag.Number));
    }
    const file = traceFile();
    const firstSeq = 2 ** 32 - 10; // wraps within the trace
    file.events = [
      {
        stream: STREAM,
        records: encodeRecords(many.slice(0, 500).map((e, i) => ({ ...e, seq: (firstSeq + i) >>> 0 }))),
      },
      {
        stream: STREAM,
        records: encodeRecords(many.slice(500).map((e, i) => ({ ...e, seq: (firstSeq + 500 + i) >>> 0 }))),
      },
    ];
    using trace = CausalTrace.create();
    for (const chunk of file.events) trace.ingest(chunk.stream, chunk.records);
    const events = TraceEvents.of({ file, trace });
    for (const at of [1, 2, 3, 4095, 4096, 8199, count - 1]) {
      const lastBalance = at % 3 === 0 ? at - 1 : at;
      const lastStatus = at - (at % 3);
      const state = events.stateAt(at);
      assert.equal(state[0]?.property, '.balance', `at ${at}`);
      assert.equal(state[0]?.value, String(lastBalance), `at ${at}`);
      assert.equal(state[1]?.value, at >= 3 ? String(lastStatus) : undefined, `at ${at}`);
      const recent = events.recentWrites(at, 5);
      assert.equal(recent.written, at >= 3 ? 2 : 1);
      assert.deepEqual(
        recent.locations.map((l) => l.writtenAt),
        at >= 3 ? [at, at % 3 === 0 ? lastBalance : lastStatus] : [at],
      );
    }
    assert.deepEqual(events.recentWrites(count - 1, 1).locations.length, 1);
    for (const at of [0, 9, 10, 499, 500, count - 1]) {
      assert.equal(events.locate(STREAM, (firstSeq + at) >>> 0), at);
    }
    assert.equal(events.locate(STREAM, (firstSeq + count) >>> 0), -1);
    assert.equal(events.locate(2, firstSeq), -1);
  });
});
