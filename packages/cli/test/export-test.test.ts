// `causeway export --format test` (docs/export-test.md): what it takes from a trace, that hostile
// recorded values reach the generated file only as data, and one clear line for bad input.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from '@babel/parser';
import type { FindingReport, TraceEvent, TraceReport } from '@causeway/core';
import { ExitCode } from '../src/errors.ts';
import { commentText, TEST_FRAMEWORKS, toTestFile } from '../src/export/test-file.ts';
import { recordingOf } from '../src/export/test-recording.ts';
import { runIn, tempDir, writeLostUpdateTrace, writeTrace } from './fixtures.ts';

/** Quotes, backticks, a template placeholder, comment ends, line terminators, NUL and unicode. */
const HOSTILE = `"'\`\${globalThis.pwned = 1}*/ /* \\"); process.exit(7); ("\n\r\u2028\u2029\u0000 é 🙂 ${'`'}`;
const HOSTILE_KEY = `carol*/\`\${globalThis.pwned}\`\n`;
const HOSTILE_FN = `Store.find*/\${globalThis.pwned}\n// `;
const HOSTILE_SQL = `SELECT balance FROM accounts WHERE id = '?' /* */ \${globalThis.pwned} ${HOSTILE}`;

/** An event list, and what appends an event of stream 1 to it (index and seq in order). */
function eventList(): {
  events: TraceEvent[];
  push: (task: number, kindName: string, extra?: Partial<TraceEvent>) => void;
} {
  const events: TraceEvent[] = [];
  const push = (task: number, kindName: string, extra: Partial<TraceEvent> = {}) => {
    events.push({
      index: events.length,
      stream: 1,
      seq: events.length,
      kind: 0,
      kindName,
      flags: 0,
      task,
      site: null,
      timeMs: null,
      invocation: null,
      access: null,
      exchange: null,
      ...extra,
    });
  };
  return { events, push };
}

/** A trace, as the core reports it, where two requests read a balance and both write it back. */
function racyTrace(): { report: TraceReport; events: TraceEvent[] } {
  const tasks = [1, 2, 3].map((n) => ({
    id: n - 1,
    stream: 1,
    localId: n,
    chain: n,
    position: 1,
    beganMs: n === 1 ? 20.25 : n === 2 ? 21.25 : n,
    records: 0,
    startedBy: 'request',
    site: null,
    request: n === 3 ? 'POST /orders/2/process' : `POST /transfers/${HOSTILE}`,
  }));
  const site = (functionName: string) => ({
    id: 1,
    kind: 3 as const,
    kindName: 'read',
    file: 'src/store.ts',
    line: 1,
    column: 1,
    functionName,
    name: '',
  });
  const { events, push } = eventList();
  const access = (kind: 'read' | 'write', objectId: number, property: string, value: string | null) => ({
    access: { kind, objectId, keyId: 1, property, valueTag: 0 as never, value },
  });
  // Startup stores the account under its key: that names the location.
  push(-1, 'write', access('write', 4, `[${JSON.stringify(HOSTILE_KEY)}]`, 'object #7'));
  for (const task of [0, 1, 2]) push(task, 'http-request', { timeMs: 10.5 + task });
  // The first request's headers and body, captured (CAUSEWAY_CAPTURE=on); the second's body was cut.
  for (const task of [0, 1]) {
    const incoming = (name: string, data: unknown) =>
      push(task, 'custom-event', {
        exchange: {
          id: 0,
          name,
          text: JSON.stringify({ exchange: 0, request: task + 1, ...(data as object) }),
          count: null,
        },
      });
    incoming('causeway:http.server.request.headers', {
      headers: { 'content-type': 'application/json', [HOSTILE_KEY]: HOSTILE, cookie: '[redacted]' },
    });
    incoming('causeway:http.server.request.body', {
      bytes: 5000,
      text: `{"memo":${JSON.stringify(HOSTILE)}}`,
      ...(task === 1 ? { truncated: true } : {}),
    });
  }
  for (const task of [0, 1]) {
    push(task, 'fn-enter', { site: site(HOSTILE_FN), invocation: 10 + task });
    push(task, 'await-suspend', { site: site(HOSTILE_FN), invocation: 10 + task });
  }
  // Each request's outgoing calls: an HTTP request and database queries, with what was captured.
  for (const task of [0, 1]) {
    const base = 100 * (task + 1);
    const exchange = (id: number, name: string | null, text: string | null, count: number | null) => ({
      exchange: { id, name, text, count },
    });
    const capture = (name: string, data: unknown) =>
      push(task, 'custom-event', exchange(0, name, JSON.stringify(data), null));
    push(task, 'http-client-request', exchange(base, 'POST', `http://shipping/${HOSTILE}`, null));
    push(task, 'db-query', exchange(base + 1, null, HOSTILE_SQL, null));
    push(task, 'http-client-response', exchange(base, null, null, 200));
    capture('causeway:http.response.headers', {
      exchange: base,
      headers: { 'content-type': 'application/json', [HOSTILE_KEY]: HOSTILE, authorization: '[redacted]' },
    });
    // The second request's body was cut at the capture bound: not captured.
    capture('causeway:http.response.body', {
      exchange: base,
      bytes: 9000,
      text: HOSTILE,
      ...(task === 1 ? { truncated: true } : {}),
    });
    push(task, 'db-result', exchange(base + 1, null, null, 1));
    // The second request's rows were not captured (recorded without CAUSEWAY_CAPTURE=on).
    if (task === 0) {
      capture('causeway:db.rows', {
        exchange: base + 1,
        rows: [
          JSON.parse(
            `{"__proto__":{"polluted":true},${JSON.stringify(HOSTILE)}:${JSON.stringify(HOSTILE)},"password":"[redacted]","balance":1000}`,
          ),
        ],
      });
    }
    push(task, 'db-query', exchange(base + 2, null, 'UPDATE accounts SET balance = $1 WHERE id = $2', null));
    push(task, 'db-result', exchange(base + 2, null, null, 1));
  }
  for (const task of [0, 1]) {
    push(task, 'await-resume', { site: site(HOSTILE_FN), invocation: 10 + task, timeMs: 20.25 + task });
    push(task, 'read', access('read', 7, '.owner', JSON.stringify(HOSTILE)));
    push(task, 'read', access('read', 7, '.secret', null));
    push(task, 'read', access('read', 7, '.balance', '1000'));
    push(task, 'fn-exit', { site: site(HOSTILE_FN), invocation: 10 + task });
  }
  for (const task of [0, 1]) push(task, 'write', access('write', 7, '.balance', String(1010 + 10 * task)));
  for (const task of [0, 1]) push(task, 'http-response', { invocation: 200 * 2 ** 32 + task + 1 });
  // A request that never touched the store (an order that timed out) is left out of the replay.
  push(2, 'http-response', { invocation: 504 * 2 ** 32 + 3 });
  const finding = {
    class: 'lost-update',
    title: 'Lost update',
    location: { stream: 1, objectId: 7, property: '.balance', name: 'object #7 .balance' },
    accesses: [{ role: 'first', task: 0, kind: 'read', site: site(HOSTILE_FN), value: '1000' }],
    story: `story ${HOSTILE}`,
  } as unknown as FindingReport;
  const report = {
    meta: { traceId: '0123456789abcdef0123456789abcdef' },
    streams: [{ stream: 1, pid: 1, thread: 0, epochMs: 1_700_000_000_000.5 }],
    edges: [],
    findings: [finding],
    tasks,
  } as unknown as TraceReport;
  return { report, events };
}

/**
 * Two requests whose store methods query a PostgreSQL row: each reads carol's balance, then
 * writes it back changed; the second write loses the first's change. As the pg interceptor writes
 * them, a query's records come after its call suspended; each handler begins in a body parser's
 * callback joined to its request by no edge, and resumes (after the driver's socket answered) in
 * another chain, joined by an await edge.
 */
function pgRaceTrace(
  rows: boolean,
  /** Request 1's SELECT, sent first, is answered after request 2's UPDATE: it reads 1020. */
  firstAnsweredLate = false,
): { report: TraceReport; events: TraceEvent[] } {
  const tasks = [0, 1, 2, 3, 4, 5, 6, 7].map((id) => ({
    id,
    stream: 1,
    localId: id + 1,
    chain: id,
    position: 1,
    beganMs: 10 + id,
    records: 0,
    startedBy: id % 4 === 0 ? 'request' : 'await',
    site: null,
    request: id % 4 === 0 ? 'POST /transfers' : null,
  }));
  const fnSite = (functionName: string) => ({
    id: 1,
    kind: 1 as const,
    kindName: 'function',
    file: 'src/pg-store.ts',
    line: 1,
    column: 1,
    functionName,
    name: '',
  });
  const rowSite = (statement: string) => ({ ...fnSite(statement), file: '<postgres>', kindName: 'read' });
  const SELECT = 'SELECT id, balance FROM accounts WHERE id = $1';
  const UPDATE = 'UPDATE accounts SET balance = $1 WHERE id = $2';
  const { events, push } = eventList();
  const row = (task: number, kind: 'read' | 'write', statement: string, value: string | null) =>
    push(task, kind, {
      site: rowSite(statement),
      access: { kind, objectId: 9, keyId: 2, property: '["carol"]', valueTag: 0 as never, value },
    });
  const query = (task: number, id: number, statement: string) =>
    push(task, 'db-query', { exchange: { id, name: null, text: statement, count: null } });
  const fn = (task: number, kindName: string, name: string, invocation: number, timeMs?: number) =>
    push(task, kindName, { site: fnSite(name), invocation, timeMs: timeMs ?? null });
  push(0, 'http-request', { timeMs: 10 });
  push(4, 'http-request', { timeMs: 14 });
  // Both finds start and suspend; then the driver sends their queries (records in their tasks).
  for (const [task, base] of [
    [1, 10],
    [5, 20],
  ] as const) {
    fn(task, 'fn-enter', 'PgStore.find', base);
    fn(task, 'await-suspend', 'PgStore.find', base);
  }
  // The reads' records follow the order the queries were sent; the rows, the order they were answered in.
  query(1, 1, SELECT);
  row(1, 'read', SELECT, null);
  query(5, 2, SELECT);
  row(5, 'read', SELECT, null);
  const answers = [
    [1, 1, firstAnsweredLate ? 1020 : 1000],
    [5, 2, 1000],
  ] as const;
  for (const [task, id, balance] of firstAnsweredLate ? [...answers].reverse() : answers) {
    push(task, 'db-result', { exchange: { id, name: null, text: null, count: 1 } });
    if (rows) {
      const data = JSON.stringify({ exchange: id, rows: [{ id: 'carol', balance }] });
      push(task, 'custom-event', { exchange: { id: 0, name: 'causeway:db.rows', text: data, count: null } });
    }
  }
  for (const [task, base, id, balance] of [
    [2, 10, 3, '1010'],
    [6, 20, 4, '1020'],
  ] as const) {
    fn(task, 'await-resume', 'PgStore.find', base, 20 + task);
    fn(task, 'fn-exit', 'PgStore.find', base);
    fn(task, 'fn-enter', 'PgStore.save', base + 1);
    query(task, id, UPDATE);
    row(task, 'write', UPDATE, balance);
    fn(task, 'await-suspend', 'PgStore.save', base + 1);
  }
  for (const [task, base, request] of [
    [3, 11, 0],
    [7, 21, 4],
  ] as const) {
    fn(task, 'await-resume', 'PgStore.save', base, 30 + task);
    fn(task, 'fn-exit', 'PgStore.save', base);
    push(task, 'http-response', { invocation: 200 * 2 ** 32 + request + 1 });
  }
  const edges = [
    { from: 1, to: 2, kind: 'await' },
    { from: 2, to: 3, kind: 'await' },
    { from: 5, to: 6, kind: 'await' },
    { from: 6, to: 7, kind: 'await' },
  ];
  const finding = {
    class: 'lost-update',
    title: 'Lost update',
    location: { stream: 1, objectId: 9, property: '["carol"]', name: 'row accounts["carol"]' },
    accesses: [{ role: 'first', task: 1, kind: 'read', site: rowSite(SELECT), value: null }],
    story: 'story',
  } as unknown as FindingReport;
  const report = {
    meta: { traceId: '0123456789abcdef0123456789abcdef' },
    streams: [{ stream: 1, pid: 1, thread: 0, epochMs: 1_700_000_000_000 }],
    edges,
    findings: [finding],
    tasks,
  } as unknown as TraceReport;
  return { report, events };
}

describe('export --format test: a lost update on a PostgreSQL row', () => {
  it('gates the class whose methods made the queries; row reads are the captured rows, writes the column SET', () => {
    const { report, events } = pgRaceTrace(true);
    const recording = recordingOf(report, events, 'trace.cwtrace');
    assert.equal(recording.gatedClass, 'PgStore');
    assert.deepEqual(
      recording.requests.map(({ request, calls }) => [request, calls]),
      [1, 2].map((request) => [
        request,
        [
          {
            method: 'PgStore.find',
            ordinal: 1,
            reads: [
              ['id', 'carol'],
              ['balance', 1000],
            ],
            writes: [],
          },
          { method: 'PgStore.save', ordinal: 1, reads: [], writes: [['balance', 1000 + 10 * request]] },
        ],
      ]),
    );
    assert.deepEqual(
      recording.steps.map(({ request, method }) => `${request} ${method}`),
      ['1 PgStore.find', '2 PgStore.find', '1 PgStore.save', '2 PgStore.save'],
    );
    const [invariant] = recording.invariants;
    assert.deepEqual(
      [invariant?.key, invariant?.property, invariant?.initial, invariant?.changes, invariant?.expected],
      [
        'carol',
        'balance',
        1000,
        [
          { request: 1, change: 10 },
          { request: 2, change: 20 },
        ],
        1030,
      ],
    );
    assert.equal(invariant?.recordedFinal, 1020);
  });

  it("a row's first value is what the query answered first returned, not the first query sent", () => {
    // Request 1's SELECT was sent first but answered after request 2's UPDATE (1020): the row
    // started at 1000, what request 2's SELECT, answered first, returned.
    const { report, events } = pgRaceTrace(true, true);
    const [invariant] = recordingOf(report, events, 'trace.cwtrace').invariants;
    assert.equal(invariant?.initial, 1000);
    assert.deepEqual(invariant?.changes, [
      { request: 1, change: -10 },
      { request: 2, change: 20 },
    ]);
  });

  it('without captured rows (CAUSEWAY_CAPTURE other than on) it has no values: nothing to reproduce', () => {
    const { report, events } = pgRaceTrace(false);
    assert.throws(
      () => recordingOf(report, events, 'trace.cwtrace'),
      /^InputError: trace\.cwtrace: the values of row accounts\["carol"\] were not captured \(the trace does not hold the rows its queries returned\): record the run with CAUSEWAY_CAPTURE=on$/,
    );
  });
});

describe('export --format test: the recording', () => {
  it('keys requests, calls and the invariant by causal identity, values as recorded', () => {
    const { report, events } = racyTrace();
    const recording = recordingOf(report, events, 'trace.cwtrace');
    assert.equal(recording.gatedClass, 'Store');
    assert.deepEqual(
      recording.requests.map(({ request, method, path, status }) => [request, method, path, status]),
      [
        [1, 'POST', `/transfers/${HOSTILE}`, 200],
        [2, 'POST', `/transfers/${HOSTILE}`, 200],
      ],
    );
    assert.deepEqual(recording.leftOut, ['POST /orders/2/process']);
    // Incoming headers and body as captured, joined to their request by its task.
    assert.deepEqual(
      recording.requests.map(({ headers, body }) => [headers, body]),
      [
        [
          [
            ['content-type', 'application/json'],
            [HOSTILE_KEY, HOSTILE],
            ['cookie', { notCaptured: true }],
          ],
          `{"memo":${JSON.stringify(HOSTILE)}}`,
        ],
        [
          [
            ['content-type', 'application/json'],
            [HOSTILE_KEY, HOSTILE],
            ['cookie', { notCaptured: true }],
          ],
          { notCaptured: true },
        ],
      ],
    );
    assert.deepEqual(recording.requests[0]?.calls, [
      {
        method: HOSTILE_FN,
        ordinal: 1,
        reads: [
          ['owner', HOSTILE],
          // A value the trace did not capture (a secret's) stays uncaptured.
          ['secret', { notCaptured: true }],
          ['balance', 1000],
        ],
        writes: [],
      },
    ]);
    // Each step at the time its task started; the clock's origin is the stream's epoch.
    assert.deepEqual(recording.steps, [
      { request: 1, method: HOSTILE_FN, ordinal: 1, atMs: 20.25 },
      { request: 2, method: HOSTILE_FN, ordinal: 1, atMs: 21.25 },
    ]);
    assert.deepEqual(recording.clock, { originMs: 1_700_000_000_000.5 });
    assert.deepEqual(
      recording.requests.map(({ atMs }) => atMs),
      [10.5, 11.5],
    );
    const [invariant] = recording.invariants;
    assert.deepEqual(
      [invariant?.key, invariant?.property, invariant?.initial, invariant?.changes, invariant?.expected],
      [
        HOSTILE_KEY,
        'balance',
        1000,
        [
          { request: 1, change: 10 },
          { request: 2, change: 20 },
        ],
        1030,
      ],
    );
    assert.equal(invariant?.recordedFinal, 1020);
  });

  it("carries each request's outgoing calls by (request, kind, ordinal), uncaptured values marked", () => {
    const { report, events } = racyTrace();
    const [first, second] = recordingOf(report, events, 'trace.cwtrace').requests;
    const notCaptured = { notCaptured: true };
    const http = (body: unknown) => ({
      kind: 'http',
      ordinal: 1,
      method: 'POST',
      url: `http://shipping/${HOSTILE}`,
      status: 200,
      error: null,
      headers: [
        ['content-type', 'application/json'],
        [HOSTILE_KEY, HOSTILE],
        ['authorization', notCaptured],
      ],
      body,
    });
    const update = {
      kind: 'db',
      ordinal: 2,
      statement: 'UPDATE accounts SET balance = $1 WHERE id = $2',
      rowCount: 1,
      failed: false,
      rows: [],
    };
    assert.deepEqual(first?.outgoing, [
      http(HOSTILE),
      {
        kind: 'db',
        ordinal: 1,
        statement: HOSTILE_SQL,
        rowCount: 1,
        failed: false,
        // Column names stay data (pairs); an object value is its JSON text; a redacted one is not captured.
        rows: [
          [
            ['__proto__', { json: '{"polluted":true}' }],
            [HOSTILE, HOSTILE],
            ['password', notCaptured],
            ['balance', 1000],
          ],
        ],
      },
      update,
    ]);
    assert.deepEqual(second?.outgoing, [
      http(notCaptured),
      { kind: 'db', ordinal: 1, statement: HOSTILE_SQL, rowCount: 1, failed: false, rows: notCaptured },
      update,
    ]);
  });
});

for (const framework of TEST_FRAMEWORKS)
  describe(`export --format test: the generated file (${framework})`, () => {
    const { report, events } = racyTrace();
    const recording = recordingOf(report, events, 'trace.cwtrace');
    const target = `./app ${HOSTILE}.ts`;
    const code = toTestFile(recording, { target, replay: '@causeway/instrumentation/replay' }, framework);
    const ast = parse(code, { sourceType: 'module', plugins: ['typescript'] });

    it('parses as TypeScript, with the imports, the recording and one test, nothing else', () => {
      assert.deepEqual(
        ast.program.body.map((node) => node.type),
        [
          'ImportDeclaration',
          'ImportDeclaration',
          'ImportDeclaration',
          'VariableDeclaration',
          'ExpressionStatement',
        ],
      );
      const sources = ast.program.body.flatMap((node) =>
        node.type === 'ImportDeclaration' ? [node.source.value] : [],
      );
      assert.deepEqual(sources, [
        framework === 'node' ? 'node:test' : 'vitest',
        '@causeway/instrumentation/replay',
        target,
      ]);
    });

    it('holds the recorded values as data: the recording parses back as the same JSON', () => {
      const declaration = ast.program.body[3];
      assert.equal(declaration?.type, 'VariableDeclaration');
      const init = declaration.type === 'VariableDeclaration' ? declaration.declarations[0]?.init : null;
      assert.equal(init?.type, 'ObjectExpression');
      assert.deepEqual(JSON.parse(code.slice(init?.start ?? 0, init?.end ?? 0)), recording);
    });

    it('writes short arrays and objects on one line: a read or write pair, a step, a call without much in it', () => {
      const lines = code.split('\n');
      assert.match(code, /\["balance", \d+\]/, 'a [name, value] pair on one line');
      assert.match(
        code,
        /\{ "request": 1, "method": "Store\.[^"]+", "ordinal": 1, "atMs": [\d.]+ \}/,
        'a step on one line',
      );
      // No line holds a lone bracket pair element: `[` then the name, the value and `]` on lines of their own.
      for (let i = 0; i + 1 < lines.length; i++) {
        assert.ok(
          !(/^\s*\[$/.test(lines[i] ?? '') && /^\s*"[^"]*",$/.test(lines[i + 1] ?? '')),
          `a pair spread over lines at ${i + 1}:\n${lines.slice(i, i + 4).join('\n')}`,
        );
      }
    });

    it('is inert: outside the recording and the comments, no recorded text appears in the code', () => {
      const declaration = ast.program.body[3];
      const init = declaration?.type === 'VariableDeclaration' ? declaration.declarations[0]?.init : null;
      let rest = `${code.slice(0, init?.start ?? 0)}${code.slice(init?.end ?? 0)}`;
      for (const comment of [...(ast.comments ?? [])].reverse()) {
        assert.equal(comment.type, 'CommentLine', 'every comment is a // line');
        rest = rest.replace(`//${comment.value}`, '');
      }
      // The one exception, the --app specifier, is a JSON string in the import.
      rest = rest.replace(JSON.stringify(target), '');
      for (const fragment of [
        'pwned',
        'process.exit',
        '🙂',
        'carol',
        'Store.find',
        'polluted',
        'shipping',
        'SELECT',
      ]) {
        assert.ok(!rest.includes(fragment), `'${fragment}' reached the code:\n${rest}`);
      }
      assert.match(code, /^\/\/ Left out, as they made no call of Store: POST \/orders\/2\/process\.$/m);
      // The comments show the recorded names, flattened onto their line.
      assert.match(
        code,
        /^\/\/ {3}step {3}1 {2}request 1 \(POST \/transfers\/"'`\$\{globalThis\.pwned = 1\}\*\/ /m,
      );
    });
  });

describe('export --format test: comments', () => {
  it('flattens line terminators and control characters out of comment text', () => {
    assert.equal(commentText('a\nb\r\u2028c\u2029d\u0000e\u0085f é 🙂'), 'a b  c d e f é 🙂');
  });
});

describe('causeway export --format test: bad input', () => {
  const project = tempDir();
  const traces = join(project, '.causeway', 'traces');
  mkdirSync(traces, { recursive: true });
  writeTrace(join(traces, 'quiet.cwtrace'));
  writeLostUpdateTrace(join(traces, 'bank.cwtrace'));
  writeFileSync(join(project, 'replay-target.ts'), 'export const replayTarget = {};\n');
  // A module without the export (the app itself), and one that does not parse.
  writeFileSync(join(project, 'app.ts'), 'export const app = {};\nconst replayTarget = 1;\n');
  writeFileSync(join(project, 'broken.ts'), 'export const replayTarget = {;\n');
  for (const [file, text] of [
    ['function.ts', 'export async function replayTarget() {}\n'],
    ['renamed.ts', 'const target = {};\nexport { target as replayTarget };\n'],
    ['reexport.ts', "export { replayTarget } from './replay-target.ts';\n"],
  ])
    writeFileSync(join(project, file), text);
  const exportTest = (traceId: string, ...extra: string[]) =>
    runIn(project, [
      'export',
      '--trace-id',
      traceId,
      '--format',
      'test',
      '--app',
      'replay-target.ts',
      ...extra,
    ]);

  function oneLine(result: { status: number; stdout: string; stderr: string }, pattern: RegExp): void {
    assert.equal(result.status, ExitCode.BadInput, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
    assert.match(result.stderr, pattern);
  }

  it('an unknown trace', async () => {
    oneLine(await exportTest('nope'), /^causeway: no trace 'nope' in .*traces/);
  });

  it('a trace with no lost update to reproduce', async () => {
    oneLine(await exportTest('quiet'), /quiet\.cwtrace: no lost update to reproduce \(no findings\)/);
  });

  it('a lost update outside any class, whose calls cannot be gated', async () => {
    oneLine(
      await exportTest('bank'),
      /bank\.cwtrace: the accesses of object #1 \.balance are not in methods of a class/,
    );
  });

  it('an unwritable --out, refused before the trace is read', async () => {
    oneLine(
      await exportTest('bank', '--out', join(project, 'no', 'such', 'dir', 'race.test.ts')),
      /race\.test\.ts: cannot write the export \(ENOENT\)/,
    );
  });

  it('accepts each way of exporting replayTarget (the check is static: the module is not run)', async () => {
    for (const app of ['function.ts', 'renamed.ts', 'reexport.ts']) {
      // Past the --app check, the export stops at the trace (its lost update is outside a class).
      const result = await runIn(project, ['export', '--trace-id', 'bank', '--format', 'test', '--app', app]);
      assert.match(result.stderr, /not in methods of a class/, app);
    }
  });

  it('warns, in one line, when the test is written where @causeway/instrumentation does not resolve', async () => {
    const outside = await exportTest('bank', '--out', join(project, 'race.test.ts'));
    const [warning, error, ...rest] = outside.stderr.split('\n').filter(Boolean);
    assert.match(
      warning ?? '',
      /^causeway: warning: @causeway\/instrumentation\/replay does not resolve from .*: the generated test imports it; put the test inside the app's project/,
    );
    assert.match(error ?? '', /not in methods of a class/);
    assert.deepEqual(rest, []);
    // Inside this repository, where it resolves: no warning (the export stops at the trace, writing nothing).
    const inside = await exportTest('bank', '--out', join(import.meta.dirname, 'never-written.test.ts'));
    assert.doesNotMatch(inside.stderr, /warning/);
  });

  it('a framework that is not offered, and a missing --app module', async () => {
    oneLine(
      await exportTest('bank', '--framework', 'jest'),
      /--framework jest is not offered: Jest cannot load the TypeScript ES modules .* use node or vitest/,
    );
    oneLine(
      await exportTest('bank', '--framework', 'mocha'),
      /--framework mocha is not offered: node \(node:test\) or vitest/,
    );
    oneLine(
      await runIn(project, ['export', '--trace-id', 'bank', '--format', 'test', '--app', 'missing.ts']),
      /missing\.ts: no such module/,
    );
    oneLine(
      await runIn(project, ['export', '--trace-id', 'bank', '--format', 'test', '--app', 'app.ts']),
      /^causeway: app\.ts: exports no replayTarget \(--app names the module exporting the app's replayTarget/,
    );
    oneLine(
      await runIn(project, ['export', '--trace-id', 'bank', '--format', 'test', '--app', 'broken.ts']),
      /^causeway: broken\.ts: cannot be read as a module \(.*\); --app names the TypeScript or JavaScript module exporting replayTarget/,
    );
    oneLine(
      await runIn(project, ['export', '--trace-id', 'bank', '--format', 'dot', '--app', 'replay-target.ts']),
      /--app and --framework are options of --format test, not of --format dot/,
    );
  });
});
