// The manual API: a no-op in this (unregistered) process, and recording under register in
// child processes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRecordings, loadTraceFile } from '@causeway/core';
import { decodeRecords, EdgeKind, EventKind, Queue, ValueTag } from '@causeway/core/event-format';
import { readTraceFile } from '@causeway/core/trace-file';
import { causeway, SESSION_KEY } from '../src/api.ts';

const REGISTER = import.meta.resolve('../src/register.ts');
const API = import.meta.resolve('../src/index.ts');

function runApp(dir: string, name: string, source: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, `${name}.ts`), `import { causeway } from ${JSON.stringify(API)};\n${source}`);
  const traceFile = join(dir, `${name}.cwtrace`);
  const result = spawnSync(process.execPath, ['--import', REGISTER, `${name}.ts`], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1', ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return { stdout: result.stdout, stderr: result.stderr, traceFile, source };
}

describe('manual API, not registered', () => {
  it('runs fn, returns its result and rethrows its error, and records nothing', () => {
    assert.equal((globalThis as Record<symbol, unknown>)[SESSION_KEY], undefined);
    assert.equal(
      causeway.trace('x', () => 7),
      7,
    );
    const promise = Promise.resolve(1);
    assert.equal(
      causeway.trace('x', () => promise),
      promise,
      'the same promise',
    );
    assert.throws(
      () =>
        causeway.trace('x', () => {
          throw new RangeError('inner');
        }),
      RangeError,
    );
    assert.equal(causeway.event('e', { a: 1 }), undefined);
    assert.deepEqual(causeway.serialize(), {});
    assert.equal(
      causeway.continueTrace(null, () => 'ran'),
      'ran',
    );
    assert.equal(causeway.trace('x', 'not a function' as unknown as () => void), undefined);
  });

  it('creates, reads and validates trace contexts', () => {
    const created = causeway.createTrace();
    assert.match(created.traceId, /^[0-9a-f]{32}$/);
    assert.match(created.parentId, /^[0-9a-f]{16}$/);
    const headers = {
      traceparent: `00-${'ab'.repeat(16)}-0000000100000007-01`,
      'X-Causeway-Trace': `1-${'ab'.repeat(16)}-1-7`,
    };
    assert.deepEqual(causeway.deserializeTrace(headers), {
      traceId: 'ab'.repeat(16),
      parentId: '0000000100000007',
      stream: 1,
      exchange: 7,
      sampled: true,
    });
    const w3c = causeway.deserializeTrace(`00-${'cd'.repeat(16)}-${'1'.repeat(16)}-01`);
    assert.equal(w3c?.traceId, 'cd'.repeat(16));
    assert.equal(w3c?.sampled, true);
    const unsampled = causeway.deserializeTrace(`00-${'cd'.repeat(16)}-${'1'.repeat(16)}-00`);
    assert.equal(unsampled?.sampled, false, 'the W3C sampled flag is read');
    for (const bad of [
      null,
      42,
      'garbage',
      { traceparent: '00-zz-01' },
      { 'x-causeway-trace': ['1-a-1-1'] },
    ]) {
      assert.equal(causeway.deserializeTrace(bad), null, `${JSON.stringify(bad)} is refused`);
    }
  });

  it('validates configure settings without throwing', () => {
    assert.equal(causeway.configure({ enabled: true, accesses: 'writes' }), true);
    assert.equal(causeway.configure({ enabled: 'yes' } as never), false);
    assert.equal(causeway.configure({ samplingRate: 0.5 }), true);
    assert.equal(causeway.configure({ samplingRate: 1.5 }), false);
    assert.equal(causeway.configure({ samplingRate: '0.5' } as never), false);
    assert.equal(
      causeway.configure({ enabled: 1n, accesses: 2n } as never),
      false,
      'a BigInt is refused, not thrown',
    );
    assert.equal(causeway.configure(null as never), false);
  });
});

describe('manual API, under register', () => {
  it('records spans, events and a context sent out of band and continued in another process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-api-'));
    const sender = runApp(
      dir,
      'sender',
      [
        'const o = { v: 0 };',
        "const r = causeway.trace('checkout', () => { o.v = 1; return 42; });",
        'o.v = 2;',
        "causeway.event('paid', { amount: 5, password: 'hunter2' });",
        "try { causeway.trace('failing', () => { throw new Error('inner'); }); } catch (e) { console.log('rethrown', (e as Error).message); }",
        'console.log(r);',
        'console.log(JSON.stringify(causeway.serialize()));',
      ].join('\n'),
    );
    const [rethrown, result, headers] = sender.stdout.trim().split('\n');
    assert.equal(rethrown, 'rethrown inner');
    assert.equal(result, '42');
    const file = readTraceFile(sender.traceFile);
    const strings = file.strings.flatMap((chunk) => chunk.strings);
    const records = file.events.flatMap((chunk) => decodeRecords(chunk.records));
    const spans = records.filter((r) => r.kind === EventKind.SpanBegin);
    assert.deepEqual(
      spans.map((r) => strings[(r.a % 2 ** 32) - 1]),
      ['checkout', 'failing'],
    );
    const custom = records.find((r) => r.kind === EventKind.CustomEvent);
    assert.ok(custom !== undefined);
    assert.equal(strings[(custom.a % 2 ** 32) - 1], 'paid');
    assert.equal(strings[Math.floor(custom.a / 2 ** 32) - 1], '{"amount":5,"password":"[redacted]"}');
    assert.ok(!strings.some((s) => s.includes('hunter2')));
    const { trace } = loadTraceFile(sender.traceFile);
    try {
      const byLocal = new Map(trace.tasks().map((t) => [t.localId, t.index]));
      const writer = (value: number) => {
        const write = records.find(
          (r) => r.kind === EventKind.Write && (r.flags & 7) === ValueTag.Number && r.b === value,
        );
        return byLocal.get(write?.task ?? -1) ?? -1;
      };
      const [span, after] = [writer(1), writer(2)];
      assert.ok(trace.edges().some((e) => e.from === 0 && e.to === span && e.kind === EdgeKind.Spawn));
      assert.ok(trace.happensBefore(span, after), 'the caller goes on after the span');
      assert.equal(trace.findings().length, 0);
    } finally {
      trace.dispose();
    }

    const receiver = runApp(
      dir,
      'receiver',
      [
        'const ctx = causeway.deserializeTrace(JSON.parse(process.env.HEADERS ?? "{}"));',
        'console.log(causeway.continueTrace(ctx, () => ctx?.traceId));',
      ].join('\n'),
      { HEADERS: headers ?? '' },
    );
    assert.equal(receiver.stdout.trim(), readTraceFile(sender.traceFile).meta.traceId);
    const joined = loadRecordings([sender.traceFile, receiver.traceFile]);
    try {
      assert.equal(joined.messages.linked, 1);
      assert.equal(joined.trace.edges().filter((e) => e.kind === EdgeKind.Message).length, 1);
    } finally {
      joined.trace.dispose();
    }
  });

  it('configure({ enabled: false }) stops the manual API and the scheduling wrappers; bad settings warn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-api-'));
    const run = runApp(
      dir,
      'off',
      [
        "console.log(causeway.configure({ samplingRate: 2, colour: 'red', enabled: 'no' } as never));",
        'console.log(causeway.configure({ enabled: false }));',
        "causeway.trace('quiet', () => {});",
        "causeway.event('quiet');",
        'setTimeout(() => {}, 1);',
        'console.log(JSON.stringify(causeway.serialize()));',
      ].join('\n'),
    );
    assert.equal(run.stdout, 'false\ntrue\n{}\n');
    assert.match(
      run.stderr,
      /CW_CONFIG_INVALID: causeway.configure: samplingRate must be a number from 0 to 1, not 2/,
    );
    assert.match(run.stderr, /unknown setting "colour"/);
    assert.match(run.stderr, /enabled must be true or false/);
    const records = readTraceFile(run.traceFile).events.flatMap((c) => decodeRecords(c.records));
    // Node's loader schedules promise jobs of its own before the app runs: only these kinds count.
    const recorded = records.filter(
      (r) =>
        r.kind === EventKind.SpanBegin ||
        r.kind === EventKind.CustomEvent ||
        r.kind === EventKind.MessageSent ||
        (r.kind === EventKind.Schedule && r.flags === Queue.Timeout),
    );
    assert.deepEqual(recorded, []);
    // The same program left enabled records all of them.
    const on = runApp(dir, 'on', run.source.replace('{ enabled: false }', '{ enabled: true }'));
    const kinds = readTraceFile(on.traceFile).events.flatMap((c) =>
      decodeRecords(c.records).map((r) => r.kind),
    );
    for (const kind of [
      EventKind.SpanBegin,
      EventKind.CustomEvent,
      EventKind.MessageSent,
      EventKind.Schedule,
    ]) {
      assert.ok(kinds.includes(kind), `kind ${kind} recorded when enabled`);
    }
  });
});

describe('manual API and sampling, under register', () => {
  const ID = `${'ab'.repeat(9)}${'0'.repeat(14)}`;
  it('samples continued contexts and top-level spans, and tells the receiver of an unsampled one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-api-'));
    const run = runApp(
      dir,
      'sampling',
      [
        'const o = { v: 0 };',
        // From a Causeway recording: recorded at any rate.
        `const recorded = causeway.deserializeTrace({ traceparent: '00-${ID}-0000000100000007-01', 'x-causeway-trace': '1-${ID}-1-7' });`,
        "causeway.continueTrace(recorded, () => { causeway.event('recorded'); o.v = 1; });",
        // Unsampled by its sender: not recorded, and what it sends on says so.
        `const unsampled = causeway.deserializeTrace('00-${ID}-${'1'.repeat(16)}-00');`,
        "console.log(JSON.stringify(causeway.continueTrace(unsampled, () => { causeway.event('unsampled'); o.v = 2; return causeway.serialize(); })));",
        // At rate 0 a new trace is never sampled, nor the process's own.
        "causeway.trace('span', () => { causeway.event('span'); o.v = 3; });",
        "causeway.continueTrace(causeway.createTrace(), () => { causeway.event('created'); });",
        "causeway.event('process');",
        'console.log(JSON.stringify(causeway.serialize()));',
      ].join('\n'),
      { CAUSEWAY_SAMPLING_RATE: '0' },
    );
    const [sent, fromProcess] = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(Object.keys(sent), ['traceparent']);
    assert.match(sent.traceparent, new RegExp(`^00-${ID}-[0-9a-f]{16}-00$`));
    assert.deepEqual(Object.keys(fromProcess), ['traceparent']);
    assert.match(fromProcess.traceparent, /-00$/);
    const file = readTraceFile(run.traceFile);
    const strings = file.strings.flatMap((chunk) => chunk.strings);
    const records = file.events.flatMap((chunk) => decodeRecords(chunk.records));
    const events = records
      .filter((r) => r.kind === EventKind.CustomEvent)
      .map((r) => strings[(r.a % 2 ** 32) - 1]);
    assert.deepEqual(events, ['recorded']);
    for (const name of ['unsampled', 'span', 'created', 'process']) {
      assert.ok(!strings.includes(name), `the unsampled event ${name} left no string behind`);
    }
    const written = records.filter((r) => r.kind === EventKind.Write).map((r) => r.b);
    assert.equal(written.length, 1, 'only the recorded context’s write');
  });
});
