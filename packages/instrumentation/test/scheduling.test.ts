// Spawn and FIFO edges for the event loop's scheduling APIs: small programs run under
// `--import @causeway/instrumentation/register` in child processes; the core orders their tasks.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeKind } from '@causeway/core/event-format';
import { has, run } from './recorded-program.ts';

const TWO_TIMEOUTS = [
  'const o = { v: 0 };',
  'function w(n: number): void { o.v = n; }',
  'setTimeout(() => w(1), 0);',
  'setTimeout(() => w(2), 0);',
].join('\n');

describe('scheduling edges', () => {
  it('orders two setTimeout(f, 0) callbacks: no write-write race between them', () => {
    const r = run(TWO_TIMEOUTS);
    const [first, second] = [r.taskWriting(1), r.taskWriting(2)];
    assert.ok(has(r, 0, first, EdgeKind.Spawn) && has(r, 0, second, EdgeKind.Spawn), 'spawned by the start');
    assert.ok(has(r, first, second, EdgeKind.Fifo));
    assert.equal(r.findings, 0);
    // Without the wrappers, the same program is reported (so the test above can fail).
    const unwrapped = run(TWO_TIMEOUTS, { CAUSEWAY_SCHEDULING: '0' });
    assert.ok(unwrapped.concurrent(unwrapped.taskWriting(1), unwrapped.taskWriting(2)));
    assert.equal(unwrapped.findings, 1);
  });

  it('orders callbacks of each queue Node runs in registration order', () => {
    const r = run(
      [
        'const o = { tick: 0, immediate: 0, micro: 0, reaction: 0, interval: 0, timer: 0, settled: 0, caught: 0 };',
        'process.nextTick(() => { o.tick = 1; });',
        'process.nextTick(() => { o.tick = 2; });',
        'setImmediate(() => { o.immediate = 3; });',
        'setImmediate(() => { o.immediate = 4; });',
        'queueMicrotask(() => { o.micro = 5; });',
        'queueMicrotask(() => { o.micro = 6; });',
        'const p = Promise.resolve(0);',
        'p.then(() => { o.reaction = 7; });',
        'p.then(() => { o.reaction = 8; }).catch(() => {});',
        'p.finally(() => { o.settled = 14; });',
        'Promise.reject(new Error()).catch(() => { o.caught = 15; });',
        'let n = 0;',
        'const i = setInterval(() => { n += 1; o.interval = 8 + n; if (n === 2) clearInterval(i); }, 1);',
        'setTimeout(() => { o.timer = 11; setTimeout(() => { o.timer = 12; }, 5); }, 5);',
        'setTimeout(() => { o.timer = 13; }, 5);',
      ].join('\n'),
    );
    for (const [a, b] of [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
      [9, 10],
      [11, 13],
      [13, 12],
    ] as const) {
      const [first, second] = [r.taskWriting(a), r.taskWriting(b)];
      assert.ok(r.happensBefore(first, second), `the write of ${a} happens before the write of ${b}`);
    }
    for (const value of [1, 3, 5, 7, 9, 11, 14, 15]) {
      assert.ok(
        has(r, 0, r.taskWriting(value), EdgeKind.Spawn),
        `the task writing ${value} is spawned by the start`,
      );
    }
    assert.ok(has(r, r.taskWriting(11), r.taskWriting(12), EdgeKind.Spawn), 'a timer set in a timer');
    assert.ok(has(r, r.taskWriting(9), r.taskWriting(10), EdgeKind.Fifo), 'successive interval firings');
    assert.equal(r.findings, 0);
  });

  it('keeps callbacks concurrent where Node promises no order', () => {
    // Two I/O callbacks (concurrent: nothing orders the reads' completions) each set a timer.
    const r = run(
      [
        "import { readFile } from 'node:fs';",
        'const o = { x: 0, y: 0 };',
        'readFile(import.meta.filename, () => { o.y = 1; setTimeout(() => { o.x = 3; }, 1); setTimeout(() => { o.x = 5; }, 4); });',
        'readFile(import.meta.filename, () => { o.y = 2; setTimeout(() => { o.x = 4; }, 2); setTimeout(() => { o.x = 6; }, 4); });',
      ].join('\n'),
    );
    assert.ok(r.concurrent(r.taskWriting(1), r.taskWriting(2)), 'the I/O callbacks');
    assert.ok(has(r, r.taskWriting(1), r.taskWriting(3), EdgeKind.Spawn));
    assert.ok(has(r, r.taskWriting(2), r.taskWriting(4), EdgeKind.Spawn));
    assert.ok(r.concurrent(r.taskWriting(3), r.taskWriting(4)), 'different delays, different requests');
    assert.ok(r.concurrent(r.taskWriting(5), r.taskWriting(6)), 'same delay, unordered registrations');
    assert.ok(r.findings >= 2, 'the races on o.x and o.y are reported');
  });

  it('orders a callback scheduled by a request after that request, and not after the other one', () => {
    const r = run(
      [
        "import { createServer } from 'node:http';",
        'const o = { seen: 0, last: 0 };',
        'const server = createServer((request, response) => {',
        '  const n = Number(request.url?.slice(1));',
        '  o.seen = n;',
        '  setTimeout(() => { o.last = n + 10; response.end(); }, 1);',
        '});',
        'server.listen(0, async () => {',
        '  const { port } = server.address() as { port: number };',
        '  await Promise.all([1, 2].map((n) => fetch(`http://127.0.0.1:${port}/${n}`).then((res) => res.text())));',
        '  server.close();',
        '});',
      ].join('\n'),
    );
    const [first, second] = [r.taskWriting(1), r.taskWriting(2)];
    const [timer1, timer2] = [r.taskWriting(11), r.taskWriting(12)];
    assert.ok(r.concurrent(first, second), 'two requests');
    assert.ok(has(r, first, timer1, EdgeKind.Spawn) && has(r, second, timer2, EdgeKind.Spawn));
    assert.ok(r.concurrent(timer1, timer2), 'registered by concurrent requests: no FIFO edge');
    assert.ok(r.concurrent(first, timer2) && r.concurrent(second, timer1));
  });

  it('orders a macrotask’s ticks before its microtasks, and a microtask’s microtasks before its ticks', () => {
    // Each location is written by a tick and by a microtask or reaction the same task queued:
    // Node fixes their order, so no race may be reported.
    const source = [
      'const o = { fromTimer: 0, reaction: 0, fromReaction: 0, fromTick: 0 };',
      'setTimeout(() => {',
      '  queueMicrotask(() => { o.fromTimer = 2; });',
      '  Promise.resolve().then(() => { o.reaction = 3; });',
      '  process.nextTick(() => { o.fromTimer = 1; });',
      '}, 1);',
      'setTimeout(() => {',
      '  Promise.resolve().then(() => {',
      '    process.nextTick(() => { o.fromReaction = 5; });',
      '    queueMicrotask(() => { o.fromReaction = 4; });',
      '  });',
      '}, 2);',
      'setTimeout(() => {',
      '  process.nextTick(() => {',
      '    queueMicrotask(() => { o.fromTick = 7; });',
      '    process.nextTick(() => { o.fromTick = 6; });',
      '  });',
      '}, 3);',
    ].join('\n');
    const r = run(source);
    for (const [a, b] of [
      [1, 2],
      [1, 3],
      [4, 5],
      [6, 7],
    ] as const) {
      assert.ok(r.happensBefore(r.taskWriting(a), r.taskWriting(b)), `${a} happens before ${b}`);
    }
    assert.equal(r.findings, 0);
  });

  it('keeps an emitter’s listeners in the task of the emit', () => {
    const r = run(
      [
        "import { EventEmitter } from 'node:events';",
        'const o = { a: 0 };',
        'const e = new EventEmitter();',
        "e.on('x', () => { o.a = 2; });",
        "e.on('x', () => { o.a = 3; });",
        "setTimeout(() => { o.a = 1; e.emit('x'); }, 1);",
        'setTimeout(() => { o.a = 4; }, 1);',
      ].join('\n'),
    );
    const emitter = r.taskWriting(1);
    assert.equal(r.taskWriting(2), emitter);
    assert.equal(r.taskWriting(3), emitter);
    assert.ok(r.happensBefore(emitter, r.taskWriting(4)));
    assert.equal(r.findings, 0);
  });
});

describe('scheduling wrappers keep Node’s semantics', () => {
  const PROGRAM = [
    "import { promisify } from 'node:util';",
    "import { setTimeout as sleep, setImmediate as immediate } from 'node:timers/promises';",
    "import * as timers from 'node:timers';",
    'const out: string[] = [];',
    'function add(s: string): void { out[out.length] = s; }',
    'const t = setTimeout(function (this: unknown, a: number, b: string) { add(`timeout this=${this === t} args=${a},${b}`); }, 1, 7, "x");',
    'add(`hasRef ${t.hasRef()} unref ${t.unref() === t} ref ${t.ref() === t} id ${typeof t[Symbol.toPrimitive]()}`);',
    "const u = setTimeout(() => add('cleared by id ran'), 1);",
    'clearTimeout(+u as unknown as NodeJS.Timeout);',
    "const v = setTimeout(() => add('cleared ran'), 1);",
    'clearTimeout(v);',
    "const i = setInterval(() => { add('interval'); clearInterval(i); }, 1);",
    'setImmediate((x: number) => add(`immediate ${x}`), 3);',
    'add(`same in node:timers ${timers.setTimeout === setTimeout} name ${setTimeout.name} ${Promise.prototype.then.name}`);',
    'process.nextTick((a: number) => add(`tick ${a}`), 5);',
    "const r = setTimeout(() => add('refreshed ran'), 1);",
    'r.refresh();',
    "const caught = Promise.reject(new Error('no')).catch((e: Error) => e.message);",
    "process.on('uncaughtException', (e) => add(`uncaught ${e.message}`));",
    "setTimeout(() => { throw new Error('boom'); }, 2);",
    'await promisify(setTimeout)(3);',
    "add(`${await sleep(2, 'slept')} ${await immediate('imm')} ${await caught} ${await Promise.resolve(1).finally(() => 2)}`);",
    "setTimeout(() => console.log(out.join('\\n')), 10);",
  ].join('\n');

  it('gives the same results with and without Causeway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-semantics-'));
    writeFileSync(join(dir, 'app.ts'), PROGRAM);
    const plain = spawnSync(process.execPath, ['app.ts'], { cwd: dir, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    const recorded = run(PROGRAM);
    // Whether the first 1 ms timers run before the first immediate depends on the clock in Node.
    const lines = (text: string) => text.trim().split('\n').sort();
    assert.deepEqual(lines(recorded.stdout), lines(plain.stdout));
    assert.match(
      recorded.stdout,
      /^hasRef true unref true ref true id number\nsame in node:timers true name setTimeout then\ntick 5\n/,
    );
    // The immediate may run after the 2 ms timer too, on a machine slow to enter the event loop.
    assert.match(recorded.stdout.replace(/^immediate 3\n/m, ''), /uncaught boom\nslept imm no 1$/m);
    assert.doesNotMatch(recorded.stdout, /cleared/);
  });
});
