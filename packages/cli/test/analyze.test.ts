import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPORT_VERSION } from '@causeway/core';
import { ExitCode } from '../src/errors.ts';
import { causewayIn, runIn, tempDir, writeLostUpdateTrace, writeTrace as writeTraceAt } from './fixtures.ts';

const dir = tempDir();

function causeway(...args: string[]) {
  return causewayIn(dir, args);
}

function writeTrace(name: string): string {
  return writeTraceAt(join(dir, name));
}

describe('causeway --help', () => {
  it('lists the commands', () => {
    const result = causeway('--help');
    assert.equal(result.status, ExitCode.Ok);
    assert.match(result.stdout, /^Usage: causeway <command>/);
    assert.match(result.stdout, /^ {2}analyze <trace> \| --trace-id ID +the findings/m);
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
    assert.match(
      result.stdout,
      /^Usage: causeway analyze <trace-file>\.\.\. \[options\]\n +causeway analyze --trace-id ID/,
    );
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

  it('reports several trace files as one, each task with its service', () => {
    const shop = writeTrace('several-shop.cwtrace');
    const bank = writeLostUpdateTrace(join(dir, 'several-bank.cwtrace'));
    const result = causeway('analyze', shop, bank);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.match(result.stdout, /^2 recordings joined by their HTTP exchanges: shop, bank$/m);
    assert.match(result.stdout, /0 requests and 0 responses joined across services/);
    assert.match(result.stdout, /#1 +shop +0\.2 +\+1\.50 ms +1 +await src\/shop\.ts:4:9 in buy/);
    assert.match(result.stdout, /^ {2}#\d+ +bank /m);
    const json = JSON.parse(causeway('analyze', shop, bank, '--json').stdout);
    assert.deepEqual(
      json.recordings.map((r: { service: string; streams: number[] }) => [r.service, r.streams]),
      [
        ['shop', [1]],
        ['bank', [65537]],
      ],
    );
    const both = causeway('analyze', shop, bank, '--trace-id', 'x');
    assert.equal(both.status, ExitCode.Usage);
    // export takes the same: one graph over both recordings; a test reproduces one recording only.
    const exported = JSON.parse(causeway('export', shop, bank).stdout);
    assert.equal(exported.recordings.length, 2);
    assert.ok(exported.events.some((e: { stream: number }) => e.stream >= 65536));
    const test = causeway('export', shop, bank, '--format', 'test');
    assert.equal(test.status, ExitCode.Usage);
    assert.match(test.stderr, /give one trace file/);
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
    const path = writeLostUpdateTrace(join(dir, 'lost.cwtrace'));

    const result = causeway('analyze', path);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.match(result.stdout, /^Findings \(1\)$/m);
    assert.match(result.stdout, /^1\. Lost update on object #1 \.balance/m);
    assert.match(
      result.stdout,
      /^ {3}type: RACE_CONDITION \/ lost update\n {3}confidence: high \(evidence: observed in this run\) · severity: high$/m,
    );
    assert.match(
      result.stdout,
      /task #2 read object #1 \.balance = 100 at src\/bank\.ts:5:20 \(withdraw\); then task #3 wrote 70 .*; then task #4 wrote 50 .*, so the write of task #3 is lost\./,
    );
    // Both code locations, and the accesses in time order with their values and T+ offsets.
    assert.match(
      result.stdout,
      /^ {3}code:\n {5}read +src\/bank\.ts:5:20 in withdraw\n {5}write +src\/bank\.ts:6:11 in withdraw$/m,
    );
    assert.match(
      result.stdout,
      /^ {5}T\+2\.00ms +first +task #2 +read object #1 \.balance = 100 +src\/bank\.ts:5:20 in withdraw\n {5}T\+3\.00ms +meanwhile +task #3 +wrote object #1 \.balance = 70 .*\n {5}T\+4\.00ms +then +task #4 +wrote object #1 \.balance = 50 /m,
    );
    assert.match(result.stdout, /^ {3}recommendation: Make the read-modify-write atomic/m);
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
      "causeway: analyze: missing <trace-file> or --trace-id. Run 'causeway analyze --help' for usage.\n",
    );
    const unknown = causeway('analyze', 'x.cwtrace', '--jsno');
    assert.equal(unknown.status, ExitCode.Usage);
    assert.match(
      unknown.stderr,
      /^causeway: analyze: Unknown option '--jsno'\. Run 'causeway analyze --help' for usage\.\n$/,
    );
  });
});

describe('causeway analyze --trace-id and --fail-on', () => {
  const project = tempDir();
  const traces = join(project, '.causeway', 'traces');
  writeLostUpdateTrace(join(traces, 'bank-run.cwtrace'));
  writeTraceAt(join(traces, 'shop-run.cwtrace'));

  it('finds a trace by file name, by trace id and by a unique id prefix', async () => {
    for (const id of ['bank-run', 'fedcba9876543210fedcba9876543210', 'FEDCBA98']) {
      const result = await runIn(project, ['analyze', '--trace-id', id]);
      assert.equal(result.status, ExitCode.Ok, result.stderr);
      assert.match(result.stdout, /service bank/, id);
    }
  });

  it('says when no trace matches, or the directory is empty (exit 2)', async () => {
    const missing = await runIn(project, ['analyze', '--trace-id', 'abc123']);
    assert.equal(missing.status, ExitCode.BadInput);
    assert.match(
      missing.stderr,
      /^causeway: no trace 'abc123' in .*\.causeway\/traces \(by file name or trace id\)\. Run 'causeway traces' to list them\.\n$/,
    );
    const empty = await runIn(tempDir(), ['analyze', '--trace-id', 'abc123']);
    assert.equal(empty.status, ExitCode.BadInput);
    assert.match(empty.stderr, /no traces here/);
  });

  it('refuses a file and --trace-id together', async () => {
    const both = await runIn(project, ['analyze', 'x.cwtrace', '--trace-id', 'bank-run']);
    assert.equal(both.status, ExitCode.Usage);
    assert.match(both.stderr, /give a trace file or --trace-id, not both/);
  });

  it('exits 1 when a finding matches --fail-on, and 0 when none does', async () => {
    for (const selector of ['lost-update', 'race', 'high', 'write-write,lost-update']) {
      const result = await runIn(project, ['analyze', '--trace-id', 'bank-run', '--fail-on', selector]);
      assert.equal(result.status, ExitCode.FindingsMatched, selector);
      assert.match(result.stderr, new RegExp(`1 finding matched --fail-on ${selector}`));
      assert.match(result.stdout, /^1\. Lost update/m, 'the report is still printed');
    }
    const other = await runIn(project, ['analyze', '--trace-id', 'bank-run', '--fail-on', 'write-write']);
    assert.equal(other.status, ExitCode.Ok);
    const clean = await runIn(project, ['analyze', '--trace-id', 'shop-run', '--fail-on', 'race']);
    assert.equal(clean.status, ExitCode.Ok);
  });

  it('takes --fail-on from the config file and CAUSEWAY_FAIL_ON, through the real executable', () => {
    const configured = tempDir();
    writeLostUpdateTrace(join(configured, '.causeway', 'traces', 'bank.cwtrace'));
    writeFileSync(join(configured, 'causeway.config.json'), '{ "failOn": ["lost-update"] }');
    const fromFile = causewayIn(configured, ['analyze', '--trace-id', 'bank', '--json']);
    assert.equal(fromFile.status, ExitCode.FindingsMatched);
    const report = JSON.parse(fromFile.stdout);
    assert.equal(report.findings[0].confidence, 'high');
    assert.equal(report.findings[0].severity, 'high');
    const fromEnv = causewayIn(configured, ['analyze', '--trace-id', 'bank'], {
      CAUSEWAY_FAIL_ON: 'read-write',
    });
    assert.equal(fromEnv.status, ExitCode.Ok, 'the variable overrides the file');
  });
});
