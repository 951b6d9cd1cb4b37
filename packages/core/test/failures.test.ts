import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildAnomalyReports,
  buildFailureReports,
  CausalTrace,
  EVENT_FORMAT_VERSION,
  EventKind,
  encodeRecords,
  type RecordFields,
  ResumeFlag,
  SiteIndex,
  SiteKind,
} from '../src/index.ts';

// Sites of one file: handler, processOrder, scheduleShipping, finalizeOrder, their awaits, a timer callback.
const [HANDLER, PROCESS, SHIP, FINALIZE, AWAIT_PROCESS, AWAIT_ALL, AWAIT_RACE, TIMER] = [
  1, 2, 3, 4, 5, 6, 7, 8,
];
const sites = new SiteIndex([
  {
    stream: 1,
    base: 1,
    table: {
      v: EVENT_FORMAT_VERSION,
      file: 'src/orders.ts',
      sites: [
        [SiteKind.Function, 1, 1, 'handler', ''],
        [SiteKind.Function, 10, 3, 'processOrder', ''],
        [SiteKind.Function, 20, 3, 'scheduleShipping', ''],
        [SiteKind.Function, 30, 3, 'finalizeOrder', ''],
        [SiteKind.Await, 2, 5, 'handler', ''],
        [SiteKind.Await, 11, 5, 'processOrder', ''],
        [SiteKind.Await, 21, 5, 'scheduleShipping', ''],
        [SiteKind.Function, 22, 7, 'scheduleShipping', ''],
      ],
    },
  },
]);

type Event = Omit<RecordFields, 'seq'>;
const rec = (kind: number, task: number, site: number, a = 0, b = 0, flags = 0): Event => ({
  kind,
  flags,
  task,
  site,
  a,
  b,
});

/** A request: handler → processOrder → scheduleShipping; a slow one's shipping await is rejected by a timer. */
function request(first: number, h: number, slow: boolean, at: number): Event[] {
  const [p, s, f] = [h + 1, h + 2, h + 3];
  const calls: Event[] = [
    rec(EventKind.TaskBegin, first, HANDLER, 0, at),
    rec(EventKind.FnEnter, first, HANDLER, h),
    rec(EventKind.FnEnter, first, PROCESS, p),
    rec(EventKind.FnEnter, first, SHIP, s),
    rec(EventKind.AwaitSuspend, first, AWAIT_RACE, s),
    rec(EventKind.AwaitSuspend, first, AWAIT_ALL, p),
    rec(EventKind.AwaitSuspend, first, AWAIT_PROCESS, h),
  ];
  if (!slow) {
    return calls.concat([
      rec(EventKind.AwaitResume, first + 2, AWAIT_RACE, s, at + 10),
      rec(EventKind.FnExit, first + 2, SHIP, s),
      rec(EventKind.AwaitResume, first + 3, AWAIT_ALL, p, at + 11),
      rec(EventKind.FnEnter, first + 3, FINALIZE, f),
      rec(EventKind.FnExit, first + 3, FINALIZE, f),
      rec(EventKind.FnExit, first + 3, PROCESS, p),
      rec(EventKind.AwaitResume, first + 4, AWAIT_PROCESS, h, at + 12),
      rec(EventKind.FnExit, first + 4, HANDLER, h),
    ]);
  }
  const rejected = ResumeFlag.Rejected;
  return calls.concat([
    rec(EventKind.TaskBegin, first + 1, TIMER, 0, at + 100),
    rec(EventKind.AwaitResume, first + 2, AWAIT_RACE, s, at + 100.5, rejected),
    rec(EventKind.FnThrow, first + 2, SHIP, s),
    rec(EventKind.FnExit, first + 2, SHIP, s),
    rec(EventKind.AwaitResume, first + 3, AWAIT_ALL, p, at + 101, rejected),
    rec(EventKind.FnThrow, first + 3, PROCESS, p),
    rec(EventKind.AwaitResume, first + 4, AWAIT_PROCESS, h, at + 102, rejected),
    rec(EventKind.FnThrow, first + 4, HANDLER, h),
  ]);
}

describe('CausalTrace failures', () => {
  it('follows a timeout from where it surfaced down to the rejected await, and names what never ran', () => {
    using trace = CausalTrace.create();
    const events = [
      rec(EventKind.TaskBegin, 1, 0),
      ...request(10, 100, false, 5),
      ...request(20, 200, true, 50),
    ];
    trace.ingest(1, encodeRecords(events.map((e, seq) => ({ ...e, seq }))));
    const steps = trace.failures();
    assert.deepEqual(
      steps.map((s) => [s.failure, s.depth, s.site, s.invocation, s.rejectedAwait?.site ?? null]),
      [
        [0, 0, HANDLER, 200, AWAIT_PROCESS],
        [0, 1, PROCESS, 201, AWAIT_ALL],
        [0, 2, SHIP, 202, AWAIT_RACE],
      ],
    );
    assert.deepEqual(
      steps.map((s) => s.neverCalled),
      [[], [FINALIZE], []],
    );

    const tasks = trace.tasks();
    const [report] = buildFailureReports(steps, tasks, sites);
    assert.equal(report?.title, 'Failure: handler (src/orders.ts:1:1) threw');
    const root = report?.calls[0];
    assert.equal(root?.function?.functionName, 'scheduleShipping');
    assert.equal(root?.rejectedAt?.line, 21);
    // Suspended in the task that began at T+50, resumed at T+150.5.
    assert.equal(root?.waitedMs, 100.5);
    assert.equal(root?.rejectedAfter?.site?.line, 22, 'the timer callback ran just before');
    assert.match(
      report?.story ?? '',
      /^Root cause: the await at src\/orders\.ts:21:5 in scheduleShipping was rejected after waiting 100\.5 ms/,
    );
    assert.match(report?.story ?? '', /processOrder never called finalizeOrder/);
  });

  it('reports nothing when every call returned', () => {
    using trace = CausalTrace.create();
    const events = [rec(EventKind.TaskBegin, 1, 0), ...request(10, 100, false, 5)];
    trace.ingest(1, encodeRecords(events.map((e, seq) => ({ ...e, seq }))));
    assert.deepEqual(trace.failures(), []);
  });

  it('names an await that never resumed, with its function, as an anomaly', () => {
    using trace = CausalTrace.create();
    // The slow request's shipping await is reached, and the recording ends before it resumes.
    const events = [rec(EventKind.TaskBegin, 1, 0), ...request(20, 200, true, 50).slice(0, 7)];
    trace.ingest(1, encodeRecords(events.map((e, seq) => ({ ...e, seq }))));
    const pending = trace.anomalies().filter((a) => a.kind === 'never-resumed');
    assert.deepEqual(
      pending.map((a) => [a.site, a.kind === 'never-resumed' ? a.functionSite : 0]),
      [
        [AWAIT_PROCESS, HANDLER],
        [AWAIT_ALL, PROCESS],
        [AWAIT_RACE, SHIP],
      ],
    );
    const [report] = buildAnomalyReports(pending.slice(2), trace.tasks(), sites, false);
    assert.match(
      report?.story ?? '',
      /^the await at src\/orders\.ts:21:5 in scheduleShipping, reached in task #1 \(reached at \+50\.0 ms\), never resumed before the recording stopped \(it did not finish\): the promise it waited for never settled, so the rest of scheduleShipping never ran\.$/,
    );
  });
});
