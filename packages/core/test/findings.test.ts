import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AccessFlag,
  CausalTrace,
  EventKind,
  encodeRecords,
  loadCore,
  type RaceAccess,
  type RecordFields,
  ValueTag,
} from '../src/index.ts';
import { FINDING_ROW_WORDS } from '../src/wasm/exports.ts';

const FN = 10;
const READ_SITE = 30;
const WRITE_SITE = 31;
/** `account.balance`: object 1, key 5. */
const OBJECT = 1;
const KEY = 5;
const BALANCE = OBJECT + KEY * 2 ** 32;

type Event = Omit<RecordFields, 'seq'>;

/** Records of one stream, numbered in sequence like the runtime numbers them. */
function stream(events: Event[]): Uint8Array {
  return encodeRecords(events.map((e, seq) => ({ ...e, seq })));
}

const begin = (task: number): Event => ({ kind: EventKind.TaskBegin, flags: 0, task, site: 0, a: 0, b: 0 });
const call = (task: number, invocation: number): Event[] => [
  { kind: EventKind.FnEnter, flags: 0, task, site: FN, a: invocation, b: 0 },
  { kind: EventKind.AwaitSuspend, flags: 0, task, site: FN + 1, a: invocation, b: 0 },
];
const suspend = (task: number, invocation: number): Event => ({
  kind: EventKind.AwaitSuspend,
  flags: 0,
  task,
  site: FN + 1,
  a: invocation,
  b: 0,
});
const resume = (task: number, invocation: number): Event => ({
  kind: EventKind.AwaitResume,
  flags: 0,
  task,
  site: FN + 1,
  a: invocation,
  b: 1,
});
const read = (task: number, value: number, site = READ_SITE, a = BALANCE): Event => ({
  kind: EventKind.Read,
  flags: ValueTag.Number,
  task,
  site,
  a,
  b: value,
});
const write = (task: number, value: number, site = WRITE_SITE, a = BALANCE): Event => ({
  kind: EventKind.Write,
  flags: ValueTag.Number,
  task,
  site,
  a,
  b: value,
});

/** The essentials of an access, for comparing. */
function brief(access: RaceAccess) {
  return { role: access.role, task: access.task, site: access.site, kind: access.kind, value: access.value };
}

describe('CausalTrace findings', () => {
  it('reports two concurrent withdrawals as an observed lost update, with the values', () => {
    using trace = CausalTrace.create();
    // The first task starts two withdrawals. A reads 100 (task 2), B reads 100 (task 3), A writes
    // 100 - 30 = 70 (task 4), B writes 100 - 50 = 50 (task 5): A's withdrawal is lost.
    trace.ingest(
      1,
      stream([
        begin(1),
        ...call(1, 100),
        ...call(1, 200),
        resume(2, 100),
        read(2, 100),
        suspend(2, 100),
        resume(3, 200),
        read(3, 100),
        suspend(3, 200),
        resume(4, 100),
        write(4, 70),
        resume(5, 200),
        write(5, 50),
      ]),
    );

    const findings = trace.findings();
    assert.equal(
      findings.length,
      1,
      JSON.stringify(findings, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
    );
    const [lost] = findings;
    assert.ok(lost);
    assert.equal(lost.class, 'lost-update');
    assert.equal(lost.evidence, 'observed');
    assert.deepEqual([lost.stream, lost.objectId, lost.keyId], [1, OBJECT, KEY]);
    assert.equal(lost.occurrences, 2);
    // The read-write and write-write races between the same sites are folded in.
    assert.equal(lost.related, 2);
    // Task indices: the first task is 0, local task n is n - 1.
    assert.deepEqual(lost.accesses.map(brief), [
      { role: 'first', task: 2, site: READ_SITE, kind: 'read', value: 100 },
      { role: 'remote', task: 3, site: WRITE_SITE, kind: 'write', value: 70 },
      { role: 'second', task: 4, site: WRITE_SITE, kind: 'write', value: 50 },
    ]);
    const second = lost.accesses[2] as RaceAccess;
    assert.equal(second.valueTag, ValueTag.Number);
    const bits = new DataView(new ArrayBuffer(8));
    bits.setFloat64(0, 50, true);
    assert.equal(second.valueBits, bits.getBigUint64(0, true));
    assert.equal(second.seq, 14);

    const stats = trace.stats();
    assert.deepEqual([stats.accesses, stats.locations, stats.lateAccesses], [4, 1, 0]);
  });

  it('reports nothing for withdrawals awaited one after the other', () => {
    using trace = CausalTrace.create();
    trace.ingest(
      1,
      stream([
        begin(1),
        ...call(1, 100),
        resume(2, 100),
        read(2, 100),
        suspend(2, 100),
        resume(3, 100),
        write(3, 70),
        ...call(3, 200),
        resume(4, 200),
        read(4, 70),
        suspend(4, 200),
        resume(5, 200),
        write(5, 20),
      ]),
    );
    assert.deepEqual(trace.findings(), []);
    assert.equal(trace.stats().accesses, 4);
  });

  it('decodes every kind of captured value, and ranks concurrent pairs above possible violations', () => {
    using trace = CausalTrace.create();
    const at = (key: number) => OBJECT + key * 2 ** 32;
    const tagged = (task: number, key: number, site: number, flags: number, b: number): Event => ({
      kind: EventKind.Write,
      flags,
      task,
      site,
      a: at(key),
      b,
    });
    trace.ingest(
      1,
      stream([
        begin(1),
        ...call(1, 100),
        ...call(1, 200),
        resume(2, 100),
        // One key per pair of concurrent writes, each with other values.
        tagged(2, 1, 40, ValueTag.Object, 7),
        tagged(2, 2, 41, ValueTag.String, 3),
        tagged(2, 3, 42, ValueTag.True, 0),
        tagged(2, 4, 43, ValueTag.Null, 0),
        tagged(2, 5, 44, AccessFlag.Delete, 0),
        read(2, 1, READ_SITE, at(6)),
        suspend(2, 100),
        resume(3, 200),
        tagged(3, 1, 50, ValueTag.Object, 8),
        tagged(3, 2, 51, ValueTag.String, 4),
        tagged(3, 3, 52, ValueTag.False, 0),
        tagged(3, 4, 53, ValueTag.Undefined, 0),
        tagged(3, 5, 54, AccessFlag.Update | ValueTag.Number, 2),
        resume(4, 100),
        // Flow A wrote key 6 after reading it: B's later write (below) could have come between.
        write(4, 2, WRITE_SITE, at(6)),
        resume(5, 200),
        write(5, 3, WRITE_SITE, at(6)),
      ]),
    );
    const findings = trace.findings();
    assert.deepEqual(
      findings.map((f) => [f.class, f.evidence, f.keyId]),
      [
        ['write-write', 'concurrent', 1],
        ['write-write', 'concurrent', 2],
        ['write-write', 'concurrent', 3],
        ['write-write', 'concurrent', 4],
        ['write-write', 'concurrent', 5],
        ['lost-update', 'possible', 6],
      ],
    );
    const values = findings.slice(0, 5).map((f) => f.accesses.map((a) => [a.valueTag, a.value]));
    assert.deepEqual(values, [
      [
        [ValueTag.Object, 7],
        [ValueTag.Object, 8],
      ],
      [
        [ValueTag.String, 3],
        [ValueTag.String, 4],
      ],
      [
        [ValueTag.True, true],
        [ValueTag.False, false],
      ],
      [
        [ValueTag.Null, null],
        [ValueTag.Undefined, undefined],
      ],
      [
        [ValueTag.None, undefined],
        [ValueTag.Number, 2],
      ],
    ]);
    const update = findings[4]?.accesses[1];
    assert.equal(update?.kind, 'write');
    assert.equal((update?.flags ?? 0) & AccessFlag.Update, AccessFlag.Update);
  });

  it('refuses findings rows of the wrong shape', () => {
    const core = loadCore();
    /** A core whose cw_findings returns `words` as they are. */
    const giving = (words: number[]) => {
      const ptr = core.cw_alloc(words.length * 4);
      new Uint32Array(core.memory.buffer, ptr, words.length).set(words);
      return CausalTrace.create({ ...core, cw_findings: () => words.length, cw_result_ptr: () => ptr });
    };
    const row = new Array<number>(FINDING_ROW_WORDS).fill(0);
    assert.throws(() => giving([...row, 0]).findings(), /cw_findings gave 34 words/);
    row[8] = 4;
    assert.throws(() => giving(row).findings(), /a finding of 4 accesses/);
  });
});
