import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REPORT_VERSION } from '@causeway/core';
import { EventKind, encodeRecords, SiteKind, ValueTag } from '@causeway/core/event-format';
import { TraceFileWriter } from '@causeway/core/trace-file';
import { ExitCode } from '../src/errors.ts';

const BIN = fileURLToPath(import.meta.resolve('../bin/causeway.js'));
const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-'));

function causeway(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir });
}

/** A small trace: root task 1 suspends invocations 7 and 8; tasks 2 and 3 continue them. */
function writeTrace(name: string): string {
  const path = join(dir, name);
  const writer = TraceFileWriter.create(path, {
    traceId: '0123456789abcdef0123456789abcdef',
    service: 'shop',
    pid: 1,
    startedAt: '2026-11-23T10:00:00.000Z',
    node: '24.0.0',
    causeway: '0.1.0',
  });
  writer.stream({ stream: 1, pid: 1, thread: 0, epochMs: 0 });
  writer.sites({
    stream: 1,
    base: 1,
    table: {
      v: 1,
      file: 'src/shop.ts',
      sites: [
        [1, 3, 1, 'buy', ''],
        [2, 4, 9, 'buy', ''],
      ],
    },
  });
  writer.events(
    1,
    encodeRecords([
      { kind: EventKind.TaskBegin, flags: 0, seq: 0, task: 1, site: 0, a: 0, b: 0 },
      { kind: EventKind.FnEnter, flags: 0, seq: 1, task: 1, site: 1, a: 7, b: 0 },
      { kind: EventKind.AwaitSuspend, flags: 0, seq: 2, task: 1, site: 2, a: 7, b: 0 },
      { kind: EventKind.FnEnter, flags: 0, seq: 3, task: 1, site: 1, a: 8, b: 0 },
      { kind: EventKind.AwaitSuspend, flags: 0, seq: 4, task: 1, site: 2, a: 8, b: 0 },
      { kind: EventKind.AwaitResume, flags: 0, seq: 5, task: 2, site: 2, a: 7, b: 1.5 },
      { kind: EventKind.AwaitResume, flags: 0, seq: 6, task: 3, site: 2, a: 8, b: 2.25 },
    ]),
  );
  writer.end({ records: 7, dropped: 0, endedAt: '2026-11-23T10:00:01.000Z' });
  return path;
}

describe('causeway --help', () => {
  it('lists the commands', () => {
    const result = causeway('--help');
    assert.equal(result.status, ExitCode.Ok);
    assert.match(result.stdout, /^Usage: causeway <command>/);
    assert.match(result.stdout, /analyze <trace-file>/);
  });

  it('rejects an unknown command on one line', () => {
    const result = causeway('frobnicate');
    assert.equal(result.status, ExitCode.Usage);
    assert.equal(
      result.stderr,
      "causeway: unknown command 'frobnicate'. Run 'causeway --help' for the commands.\n",
    );
  });
});

describe('causeway analyze', () => {
  it('describes itself with --help', () => {
    const result = causeway('analyze', '--help');
    assert.equal(result.status, ExitCode.Ok);
    assert.match(result.stdout, /^Usage: causeway analyze <trace-file> \[--json\]/);
    assert.match(result.stdout, /happens-before/);
  });

  it('prints tasks and the edges the core computed', () => {
    const result = causeway('analyze', writeTrace('shop.cwtrace'));
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.match(result.stdout, /service shop/);
    assert.match(result.stdout, /7 records, 0 dropped · 3 tasks in 2 chains/);
    assert.match(result.stdout, /#1 +0\.2 +\+1\.50 ms +1 +await src\/shop\.ts:4:9 in buy/);
    assert.match(result.stdout, /#0 -> #1 +await +src\/shop\.ts:4:9 in buy/);
    assert.match(result.stdout, /#0 -> #2 +await/);
    assert.doesNotMatch(result.stdout, /#1 -> #2/);
  });

  it('gives the same as JSON with --json', () => {
    const result = causeway('analyze', writeTrace('shop-json.cwtrace'), '--json');
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.reportVersion, REPORT_VERSION);
    assert.deepEqual(report.findings, []);
    assert.equal(report.meta.service, 'shop');
    assert.deepEqual(
      report.tasks.map((t: { localId: number; startedBy: string }) => [t.localId, t.startedBy]),
      [
        [1, 'root'],
        [2, 'await'],
        [3, 'await'],
      ],
    );
    assert.deepEqual(report.tasks[1].site, {
      id: 2,
      kind: 2,
      kindName: 'await',
      file: 'src/shop.ts',
      line: 4,
      column: 9,
      functionName: 'buy',
      name: '',
    });
    assert.deepEqual(report.edges, [
      { from: 0, to: 1, kind: 'await' },
      { from: 0, to: 2, kind: 'await' },
    ]);
  });

  it('tells a lost update in words, with the values and the code sites', () => {
    const path = join(dir, 'lost.cwtrace');
    const writer = TraceFileWriter.create(path, {
      traceId: '0123456789abcdef0123456789abcdef',
      service: 'bank',
      pid: 1,
      startedAt: '2026-11-23T10:00:00.000Z',
      node: '24.0.0',
      causeway: '0.1.0',
    });
    writer.stream({ stream: 1, pid: 1, thread: 0, epochMs: 0 });
    writer.sites({
      stream: 1,
      base: 1,
      table: {
        v: 1,
        file: 'src/bank.ts',
        sites: [
          [SiteKind.Function, 3, 1, 'withdraw', ''],
          [SiteKind.Await, 4, 9, 'withdraw', ''],
          [SiteKind.Read, 5, 20, 'withdraw', 'balance'],
          [SiteKind.Write, 6, 11, 'withdraw', 'balance'],
        ],
      },
    });
    writer.strings({ stream: 1, first: 1, strings: ['balance'] });
    // Two withdrawals (invocations 7 and 8) each await, read the balance, await, write it.
    const balance = 1 + 1 * 2 ** 32; // object 1, key 1
    let seq = 0;
    const r = (kind: number, task: number, site: number, a: number, b = 0, flags = 0) => ({
      kind,
      flags,
      seq: seq++,
      task,
      site,
      a,
      b,
    });
    writer.events(
      1,
      encodeRecords([
        r(EventKind.TaskBegin, 1, 0, 0),
        r(EventKind.AwaitSuspend, 1, 2, 7),
        r(EventKind.AwaitSuspend, 1, 2, 8),
        r(EventKind.AwaitResume, 2, 2, 7, 1),
        r(EventKind.Read, 2, 3, balance, 100, ValueTag.Number),
        r(EventKind.AwaitSuspend, 2, 2, 7),
        r(EventKind.AwaitResume, 3, 2, 8, 2),
        r(EventKind.Read, 3, 3, balance, 100, ValueTag.Number),
        r(EventKind.AwaitSuspend, 3, 2, 8),
        r(EventKind.AwaitResume, 4, 2, 7, 3),
        r(EventKind.Write, 4, 4, balance, 70, ValueTag.Number),
        r(EventKind.AwaitResume, 5, 2, 8, 4),
        r(EventKind.Write, 5, 4, balance, 50, ValueTag.Number),
      ]),
    );
    writer.end({ records: seq, dropped: 0, endedAt: '2026-11-23T10:00:01.000Z' });

    const result = causeway('analyze', path);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.match(result.stdout, /^Findings \(1\)$/m);
    assert.match(result.stdout, /^1\. Lost update on object #1 \.balance/m);
    assert.match(result.stdout, /evidence: observed in this run/);
    assert.match(
      result.stdout,
      /task #2 read object #1 \.balance = 100 at src\/bank\.ts:5:20 \(withdraw\); then task #3 wrote 70 .*; then task #4 wrote 50 .*, so the write of task #3 is lost\./,
    );
    assert.match(result.stdout, /^ {3}fix: Make the read-modify-write atomic/m);
  });

  const badInputs: [string, () => string, RegExp][] = [
    [
      'a missing file',
      () => join(dir, 'nope.cwtrace'),
      /nope\.cwtrace: cannot read the trace file \(no such file\)/,
    ],
    [
      'a file that is not a trace',
      () => {
        writeFileSync(join(dir, 'notes.txt'), 'hello, this is text\n');
        return join(dir, 'notes.txt');
      },
      /notes\.txt: not a Causeway trace/,
    ],
    [
      'a truncated trace',
      () => {
        const whole = readFileSync(writeTrace('whole.cwtrace'));
        writeFileSync(join(dir, 'cut.cwtrace'), whole.subarray(0, whole.length - 200));
        return join(dir, 'cut.cwtrace');
      },
      /cut\.cwtrace: byte \d+: .* the recording was cut off/,
    ],
    [
      'an empty file',
      () => {
        writeFileSync(join(dir, 'empty.cwtrace'), '');
        return join(dir, 'empty.cwtrace');
      },
      /empty\.cwtrace: the file is empty/,
    ],
  ];
  for (const [what, make, message] of badInputs) {
    it(`rejects ${what} with one line naming the file`, () => {
      const result = causeway('analyze', make());
      assert.equal(result.status, ExitCode.BadInput);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^causeway: [^\n]+\n$/);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\bat .*:\d+:\d+/, 'no stack trace');
    });
  }

  it('rejects a missing argument and unknown options as usage errors', () => {
    const missing = causeway('analyze');
    assert.equal(missing.status, ExitCode.Usage);
    assert.equal(
      missing.stderr,
      "causeway: analyze: missing <trace-file>. Run 'causeway analyze --help' for usage.\n",
    );
    const unknown = causeway('analyze', 'x.cwtrace', '--jsno');
    assert.equal(unknown.status, ExitCode.Usage);
    assert.match(
      unknown.stderr,
      /^causeway: analyze: Unknown option '--jsno'\. Run 'causeway analyze --help' for usage\.\n$/,
    );
  });
});
