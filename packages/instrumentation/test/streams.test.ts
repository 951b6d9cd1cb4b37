// Readable streams' listeners (src/runtime/streams.ts) and AsyncResource scopes
// (src/runtime/async-scopes.ts): small programs run under `register` in child processes; the core
// orders their tasks.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeKind, EventKind, Queue } from '@causeway/core/event-format';
import { has, type Run, run } from './recorded-program.ts';

/** `send(port, path, parts)`: a POST whose body goes out in `parts`, 20 ms apart (so in several reads). */
const SEND = [
  "import { request } from 'node:http';",
  'function send(port: number, path: string, parts: string[], type = "text/plain"): Promise<string> {',
  '  return new Promise((resolve, reject) => {',
  "    const r = request({ port, path, method: 'POST', headers: { 'content-type': type } }, (res) => {",
  "      const got: string[] = []; res.setEncoding('utf8');",
  "      res.on('data', (c: string) => { got.push(c); }); res.on('end', () => resolve(got.join('')));",
  '    });',
  "    r.on('error', reject);",
  '    let i = 0;',
  '    const next = (): void => { if (i < parts.length) { r.write(parts[i++]); setTimeout(next, 20); } else r.end(); };',
  '    next();',
  '  });',
  '}',
].join('\n');

/** A handler reads its body with 'data' and 'end' listeners, each chunk a read and a plain write. */
const BODY = [
  SEND,
  "import { createServer } from 'node:http';",
  "const o = { started: 0, chunks: 1000, body: '', ended: 0 };",
  'const server = createServer((req, res) => {',
  '  o.started = 50;',
  "  req.on('data', (chunk) => { o.body = o.body + chunk; o.chunks = o.chunks + 1; });",
  "  req.on('end', () => { o.ended = 100; res.end(o.body); });",
  '});',
  'server.listen(0, async () => {',
  '  const { port } = server.address() as { port: number };',
  "  console.log(await send(port, '/', ['a', 'b', 'c']));",
  '  server.close();',
  '});',
].join('\n');

const emitterSchedules = (r: Run) =>
  r.records.filter((record) => record.kind === EventKind.Schedule && record.flags === Queue.Emitter);

describe('stream edges', () => {
  it("orders a request body's 'data' listeners one after the other and before 'end': no race on the body", () => {
    const r = run(BODY);
    assert.equal(r.stdout, 'abc\n');
    const [request, first, second, third, end] = [50, 1001, 1002, 1003, 100].map((n) => r.taskWriting(n)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    for (const [a, b] of [
      [request, first],
      [first, second],
      [second, third],
      [third, end],
    ] as const) {
      assert.ok(r.happensBefore(a, b), `task ${a} happens before task ${b}`);
    }
    assert.ok(has(r, second, third, EdgeKind.Fifo), 'chunks read by the event loop follow each other');
    assert.ok(emitterSchedules(r).length > 0);
    assert.equal(r.findings, 0);
    // Without the wrappers the listeners' tasks have no recorded cause, and the body races.
    const unwrapped = run(BODY, { CAUSEWAY_SCHEDULING: '0' });
    assert.ok(unwrapped.concurrent(unwrapped.taskWriting(1002), unwrapped.taskWriting(1003)));
    assert.ok(unwrapped.findings > 0);
    assert.deepEqual(emitterSchedules(unwrapped), []);
  });

  it("keeps a stream's emissions apart from another stream's, and from a request that did not read it", () => {
    const r = run(
      [
        SEND,
        "import { createServer } from 'node:http';",
        'const o = { started: 0, last: 0 };',
        'const server = createServer((req, res) => {',
        '  const n = Number(req.url?.slice(1));',
        '  o.started = n + 100;',
        "  req.on('data', () => { o.last = n + 200; });",
        "  req.on('end', () => res.end());",
        '});',
        'server.listen(0, async () => {',
        '  const { port } = server.address() as { port: number };',
        "  await Promise.all([1, 2].map((n) => send(port, `/${n}`, ['x', 'y'])));",
        '  server.close();',
        '});',
      ].join('\n'),
    );
    const [one, two, fromOne, fromTwo] = [101, 102, 201, 202].map((n) => r.taskWriting(n)) as [
      number,
      number,
      number,
      number,
    ];
    assert.ok(r.concurrent(one, two), 'two requests');
    assert.ok(r.happensBefore(one, fromOne) && r.happensBefore(two, fromTwo));
    assert.ok(r.concurrent(fromOne, fromTwo), "two requests' bodies");
    assert.ok(r.concurrent(one, fromTwo) && r.concurrent(two, fromOne));
    assert.ok(r.findings >= 1, 'the race on o.last between the two requests is reported');
  });

  it('records nothing for a stream read in an unsampled trace', () => {
    const r = run(BODY, { CAUSEWAY_SAMPLING_RATE: '0' });
    assert.equal(r.stdout, 'abc\n');
    assert.deepEqual(
      r.records.map((record) => record.kind),
      [EventKind.TaskBegin],
    );
  });

  it('leaves sockets alone', () => {
    const r = run(
      [
        "import { createServer, connect } from 'node:net';",
        'const o = { n: 0 };',
        "const server = createServer((socket) => { socket.end('hello'); });",
        'server.listen(0, () => {',
        '  const { port } = server.address() as { port: number };',
        "  const socket = connect(port, '127.0.0.1');",
        "  socket.on('data', () => { o.n = 1; });",
        "  socket.on('close', () => { o.n = 2; server.close(); });",
        '});',
      ].join('\n'),
    );
    assert.ok(r.taskWriting(1) >= 0 && r.taskWriting(2) >= 0);
    assert.deepEqual(emitterSchedules(r), []);
  });
});

describe('Express', () => {
  const APP = [
    SEND,
    "import express from 'express';",
    'const o = { last: 0 };',
    'const app = express();',
    'app.use(express.json());',
    "app.post('/transfers', (req, res) => { o.last = req.body.n; res.json({ n: req.body.n }); });",
    'const server = app.listen(0, async () => {',
    '  const { port } = server.address() as { port: number };',
    "  const sent = [301, 302].map((n) => send(port, '/transfers', ['{\"n\":', String(n), '}'], 'application/json'));",
    "  console.log((await Promise.all(sent)).join(' '));",
    '  server.close();',
    '});',
  ].join('\n');

  /** The request task of each POST, in order, and the task each handler wrote `o.last` in. */
  function requestsAndHandlers(r: Run): { requests: number[]; handlers: number[] } {
    const local = new Map(r.tasks.map((task) => [task.localId, task.index]));
    const requests = r.records
      .filter((record) => record.kind === EventKind.HttpRequest)
      .map((record) => local.get(record.task) ?? -1);
    return { requests, handlers: [r.taskWriting(301), r.taskWriting(302)] };
  }

  it('runs the handler after express.json() in a task its request happens before, and still reports two requests racing', () => {
    const r = run(APP, {}, true);
    assert.equal(r.stdout, '{"n":301} {"n":302}\n');
    const { requests, handlers } = requestsAndHandlers(r);
    assert.equal(requests.length, 2);
    // Which request's handler runs first is up to the network: match each handler to its request.
    const [h1, h2] = handlers as [number, number];
    const ownRequest = (handler: number) => requests.filter((request) => r.happensBefore(request, handler));
    assert.equal(ownRequest(h1).length, 1, 'exactly one request happens before the first handler');
    assert.equal(ownRequest(h2).length, 1, 'and one before the second');
    assert.notEqual(ownRequest(h1)[0], ownRequest(h2)[0]);
    assert.ok(r.concurrent(h1, h2), 'the two handlers stay concurrent');
    assert.equal(r.findings, 1, 'the write-write race on o.last');
    // Without the wrappers the handler has no recorded cause: no request happens before it.
    const unwrapped = run(APP, { CAUSEWAY_SCHEDULING: '0' }, true);
    const before = requestsAndHandlers(unwrapped);
    for (const handler of before.handlers) {
      assert.ok(before.requests.every((request) => !unwrapped.happensBefore(request, handler)));
    }
  });
});

describe('stream wrappers keep Node’s semantics', () => {
  const PROGRAM = [
    "import { createReadStream } from 'node:fs';",
    "import { Readable } from 'node:stream';",
    'const out: string[] = [];',
    'function add(s: string): void { out[out.length] = s; }',
    'const f = (): void => {};',
    'const g = (): void => {};',
    'const s = createReadStream(import.meta.filename, { highWaterMark: 64 });',
    "s.on('data', f);",
    "add(`listeners ${s.listeners('data')[0] === f} raw ${s.rawListeners('data')[0] === f} count ${s.listenerCount('data')}`);",
    "s.removeListener('data', f);",
    "s.once('end', g);",
    "const raw = s.rawListeners('end')[0] as { listener?: unknown };",
    "add(`after remove ${s.listenerCount('data')} once ${s.listeners('end')[0] === g} raw ${raw.listener === g}`);",
    "s.off('end', g);",
    "add(`off ${s.listenerCount('end')} same ${Readable.prototype.on === Readable.prototype.addListener} names ${s.on.name} ${s.emit.name} ${s.prependListener.name}`);",
    'let chunks = 0;',
    'let ends = 0;',
    "s.on('data', () => { chunks += 1; });",
    "s.once('end', () => { ends += 1; add(`ends ${ends} chunks>1 ${chunks > 1} again ${s.emit('end')}`); });",
    "s.prependOnceListener('close', () => add('close first'));",
    "s.on('close', () => add(`close then ${s.listenerCount('close')}`));",
    'const t = createReadStream(import.meta.filename, { highWaterMark: 64 });',
    "t.on('data', () => { t.destroy(); throw new Error('from data'); });",
    "process.on('uncaughtException', (e) => add(`uncaught ${e.message}`));",
    'const r = new Readable({ read() {} });',
    "try { r.emit('error', new Error('no listener')); } catch (e) { add(`thrown ${(e as Error).message}`); }",
    "add(`emit returns ${r.emit('data', 'x')} ${r.emit('end')}`);",
    "setTimeout(() => console.log(out.join('\\n')), 200);",
  ].join('\n');

  it('gives the same results with and without Causeway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-streams-'));
    writeFileSync(join(dir, 'app.ts'), PROGRAM);
    const plain = spawnSync(process.execPath, ['app.ts'], { cwd: dir, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    const recorded = run(PROGRAM);
    assert.equal(recorded.stdout, plain.stdout);
    assert.match(
      recorded.stdout,
      /^listeners true raw true count 1\nafter remove 0 once true raw true\noff 0 same true names  emit prependListener\n/,
    );
    assert.match(recorded.stdout, /^thrown no listener\nemit returns false false$/m);
    assert.match(recorded.stdout, /^uncaught from data$/m);
    assert.match(recorded.stdout, /^ends 1 chunks>1 true again false\nclose first\nclose then 1$/m);
    assert.ok(emitterSchedules(recorded).length > 0, 'the streams were noted');
  });
});

describe('AsyncResource scopes', () => {
  it('keeps code run by runInAsyncScope in the task that called it', () => {
    const source = [
      "import { AsyncResource } from 'node:async_hooks';",
      'const o = { a: 0, b: 0 };',
      "const resource = new AsyncResource('example');",
      'o.a = 1;',
      'const got = resource.runInAsyncScope(function (this: unknown, x: number) { o.a = 2; return [this, x]; }, o, 7);',
      'const bound = resource.bind(() => { o.b = 4; });',
      'setTimeout(() => { o.b = 3; bound(); console.log(got[0] === o, got[1]); }, 1);',
      "try { resource.runInAsyncScope(() => { throw new Error('out'); }); } catch (e) { console.log((e as Error).message); }",
    ].join('\n');
    const r = run(source);
    assert.equal(r.stdout, 'out\ntrue 7\n');
    assert.equal(r.taskWriting(2), r.taskWriting(1));
    assert.equal(r.taskWriting(4), r.taskWriting(3));
    const unwrapped = run(source, { CAUSEWAY_SCHEDULING: '0' });
    assert.notEqual(unwrapped.taskWriting(2), unwrapped.taskWriting(1));
  });
});
