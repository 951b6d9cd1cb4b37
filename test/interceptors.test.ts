// End to end: applications run under `--import @causeway/instrumentation/register` with no
// Causeway code of their own; the interceptors make each HTTP request a task, and the core finds
// the lost update two concurrent requests cause.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  buildFindingReports,
  globalStream,
  type LoadedTrace,
  loadRecordings,
  loadTraceFile,
  SiteIndex,
  STREAMS_PER_FILE,
  StringIndex,
} from '@causeway/core';
import { decodeRecords, EdgeKind, EventKind } from '@causeway/core/event-format';
import pg from 'pg';
import { CONNECTION } from '../packages/instrumentation/test/postgres.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/bank/', import.meta.url));

export interface RunningApp {
  base: string;
  /** Resolves with the trace once the application has exited. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Starts a fixture app under register; it prints its port first. */
export async function startApp(
  entry: string,
  tracePath: string,
  env: Record<string, string> = {},
): Promise<RunningApp> {
  const child = spawn(process.execPath, ['--import', '@causeway/instrumentation/register', entry], {
    cwd: FIXTURES,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: tracePath, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n');
      if (line.length > 1) resolve(line[0] as string);
    });
    child.on('exit', () => reject(new Error(`the app exited before listening: ${stderr}`)));
  });
  return { base: `http://127.0.0.1:${port}`, exited };
}

/** Trace indices of the tasks HttpRequest records started. */
export function requestTasks({ file, trace }: LoadedTrace): number[] {
  const index = new Map(trace.tasks().map((task) => [`${task.stream}:${task.localId}`, task.index]));
  const tasks: number[] = [];
  for (const chunk of file.events) {
    for (const record of decodeRecords(chunk.records)) {
      if (record.kind === EventKind.HttpRequest)
        tasks.push(index.get(`${chunk.stream}:${record.task}`) as number);
    }
  }
  return tasks;
}

/** The request task that `task` is, or descends from. */
export function requestOf(loaded: LoadedTrace, requests: number[], task: number): number {
  const owners = requests.filter((r) => r === task || loaded.trace.happensBefore(r, task));
  assert.equal(owners.length, 1, `task ${task} belongs to exactly one request`);
  return owners[0] as number;
}

describe('interceptors, end to end', () => {
  it('finds the lost update of two concurrent Express requests, between the two request tasks', async () => {
    const tracePath = join(mkdtempSync(join(tmpdir(), 'causeway-intercept-')), 'bank.cwtrace');
    const app = await startApp('express-app.ts', tracePath);
    const answers = await Promise.all(
      [10, 30].map(async (amount) => {
        const response = await fetch(`${app.base}/withdraw?amount=${amount}`, { method: 'POST' });
        return ((await response.json()) as { balance: number }).balance;
      }),
    );
    // Both read 100: one withdrawal is lost.
    assert.deepEqual(answers.sort(), [70, 90]);
    const relayed = (await (await fetch(`${app.base}/relay`)).json()) as Record<string, string>;
    await fetch(`${app.base}/shutdown`, { method: 'POST' });
    const { code, stderr } = await app.exited;
    assert.equal(code, 0, stderr);

    const loaded = loadTraceFile(tracePath);
    try {
      // The app's own fetch carried headers naming this recording.
      const traceId = loaded.file.meta.traceId;
      assert.match(relayed.causeway ?? '', new RegExp(`^1-${traceId}-1-\\d+$`));
      assert.match(relayed.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      const requests = requestTasks(loaded);
      assert.equal(requests.length, 5, 'two withdrawals, the relay, its echo and the shutdown');
      const lost = loaded.trace.findings().filter((f) => f.class === 'lost-update');
      assert.equal(
        lost.length,
        1,
        `lost updates: ${lost.map((f) => f.accesses.map((a) => a.task).join(','))}`,
      );
      const finding = lost[0] as (typeof lost)[number];
      assert.equal(finding.evidence, 'observed');
      const owners = finding.accesses.map((access) => requestOf(loaded, requests, access.task));
      // first and second are one request's read and write; remote is the other request's write.
      assert.equal(owners[0], owners[2]);
      assert.notEqual(owners[0], owners[1]);
      assert.ok(loaded.trace.concurrent(owners[0] as number, owners[1] as number));
    } finally {
      loaded.trace.dispose();
    }
  });

  it('captures the headers and bodies of an outgoing fetch with CAUSEWAY_CAPTURE=on', async () => {
    const tracePath = join(mkdtempSync(join(tmpdir(), 'causeway-intercept-')), 'capture.cwtrace');
    const app = await startApp('express-app.ts', tracePath, { CAUSEWAY_CAPTURE: 'on' });
    const relayed = (await (await fetch(`${app.base}/relay`)).json()) as Record<string, string>;
    await fetch(`${app.base}/shutdown`, { method: 'POST' });
    const { code, stderr } = await app.exited;
    assert.equal(code, 0, stderr);
    const loaded = loadTraceFile(tracePath);
    try {
      const strings = new StringIndex(loaded.file.strings);
      const captures = new Map<string, Record<string, unknown>>();
      let echoExchange = -1;
      for (const chunk of loaded.file.events) {
        for (const r of decodeRecords(chunk.records)) {
          const low = strings.string(chunk.stream, r.a % 2 ** 32);
          const high = strings.string(chunk.stream, Math.floor(r.a / 2 ** 32));
          if (r.kind === EventKind.HttpClientRequest && high?.endsWith('/echo')) echoExchange = r.b;
          if (r.kind === EventKind.CustomEvent && low?.startsWith('causeway:')) {
            captures.set(low, JSON.parse(high ?? 'null') as Record<string, unknown>);
          }
        }
      }
      const body = captures.get('causeway:http.response.body');
      assert.equal(body?.exchange, echoExchange);
      assert.deepEqual(JSON.parse(String(body?.text)), relayed);
      const sent = captures.get('causeway:http.request.headers')?.headers as Record<string, string>;
      assert.equal(sent['x-causeway-trace'], relayed.causeway);
      const received = captures.get('causeway:http.response.headers')?.headers as Record<string, string>;
      assert.match(received['content-type'] ?? '', /^application\/json/);
    } finally {
      loaded.trace.dispose();
    }
  });

  it('records no interceptor records with CAUSEWAY_INTERCEPTORS=off', async () => {
    const tracePath = join(mkdtempSync(join(tmpdir(), 'causeway-intercept-')), 'off.cwtrace');
    const app = await startApp('express-app.ts', tracePath, { CAUSEWAY_INTERCEPTORS: 'off' });
    await fetch(`${app.base}/shutdown`, { method: 'POST' });
    const { code, stderr } = await app.exited;
    assert.equal(code, 0, stderr);
    const loaded = loadTraceFile(tracePath);
    try {
      const kinds = loaded.file.events.flatMap((chunk) => decodeRecords(chunk.records).map((r) => r.kind));
      assert.ok(kinds.includes(EventKind.FnEnter), 'the app itself is still recorded');
      assert.deepEqual(
        kinds.filter((kind) => kind >= EventKind.HttpRequest && kind < EventKind.Schedule),
        [],
      );
    } finally {
      loaded.trace.dispose();
    }
  });

  it('finds the lost update of two requests on a PostgreSQL row, and none when the row is locked', async (t) => {
    const admin = new pg.Client({ ...CONNECTION, connectionTimeoutMillis: 2000 });
    try {
      await admin.connect();
    } catch (error) {
      t.skip(`no PostgreSQL at 127.0.0.1:5432 (${(error as Error).message})`);
      return;
    }
    const schema = `causeway_e2e_${randomBytes(4).toString('hex')}`;
    const table = `${schema}.accounts`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, balance int NOT NULL)`);
    await admin.query(`INSERT INTO ${table} VALUES (1, 100), (2, 100)`);
    try {
      const tracePath = join(mkdtempSync(join(tmpdir(), 'causeway-intercept-')), 'bank-pg.cwtrace');
      const app = await startApp('pg-app.ts', tracePath, { BANK_TABLE: table });
      const withdraw = (path: string, amount: number) =>
        fetch(`${app.base}${path}?amount=${amount}`, { method: 'POST' }).then(
          async (response) => ((await response.json()) as { balance: number }).balance,
        );
      const unlocked = await Promise.all([withdraw('/withdraw/1', 10), withdraw('/withdraw/1', 30)]);
      const locked = await Promise.all([
        withdraw('/withdraw-locked/2', 10),
        withdraw('/withdraw-locked/2', 30),
      ]);
      await fetch(`${app.base}/shutdown`, { method: 'POST' });
      const { code, stderr } = await app.exited;
      assert.equal(code, 0, stderr);
      // Row 1 lost a withdrawal; row 2, locked, did not.
      assert.deepEqual(unlocked.sort(), [70, 90]);
      // Whichever went first, the second saw its write.
      assert.ok(
        [
          [60, 70],
          [60, 90],
        ].some((expected) => expected.join() === locked.sort().join()),
        `locked answers ${locked}`,
      );
      const balances = await admin.query(`SELECT id, balance FROM ${table} ORDER BY id`);
      assert.equal(balances.rows[1].balance, 60);

      const loaded = loadTraceFile(tracePath);
      try {
        const requests = requestTasks(loaded);
        assert.equal(requests.length, 5);
        const findings = loaded.trace.findings();
        const lost = findings.filter((f) => f.class === 'lost-update');
        assert.equal(lost.length, 1);
        const finding = lost[0] as (typeof lost)[number];
        const owners = finding.accesses.map((access) => requestOf(loaded, requests, access.task));
        assert.equal(owners[0], owners[2]);
        assert.notEqual(owners[0], owners[1]);
        const reports = buildFindingReports(
          findings,
          new SiteIndex(loaded.file.sites),
          new StringIndex(loaded.file.strings),
        );
        // The lost update is on row 1, and the locked row 2 has no finding at all. (The app's
        // in-memory gates race too, harmlessly: those findings name objects, not rows.)
        const lostReport = reports.find((report) => report.class === 'lost-update');
        assert.equal(lostReport?.location.name, `row ${table}[1]`);
        const rows = reports.map((report) => report.location.name).filter((name) => name.startsWith('row '));
        assert.deepEqual([...new Set(rows)], [`row ${table}[1]`]);
      } finally {
        loaded.trace.dispose();
      }
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('joins two services’ recordings: each request handled downstream happens after the request that sent it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-intercept-'));
    const paymentsTrace = join(dir, 'payments.cwtrace');
    const ordersTrace = join(dir, 'orders.cwtrace');
    const payments = await startApp('relay-service.ts', paymentsTrace);
    const orders = await startApp('relay-service.ts', ordersTrace, { UPSTREAM: payments.base });
    const answers = await Promise.all([1, 2].map(async () => (await fetch(`${orders.base}/call`)).text()));
    assert.deepEqual(answers, ['called: worked', 'called: worked']);
    for (const app of [orders, payments]) {
      await fetch(`${app.base}/shutdown`, { method: 'POST' });
      const { code, stderr } = await app.exited;
      assert.equal(code, 0, stderr);
    }

    // Receivers first: the loader must still ingest the sender first to draw the edges.
    const loaded = loadRecordings([paymentsTrace, ordersTrace]);
    try {
      assert.deepEqual(loaded.messages, { linked: 2, unlinked: 0 });
      const { trace } = loaded;
      const index = new Map(trace.tasks().map((task) => [`${task.stream}:${task.localId}`, task.index]));
      /** Request tasks of file `file` whose target is `target`. */
      const requests = (file: number, target: string): number[] => {
        const strings = new StringIndex(loaded.files[file]?.strings ?? []);
        return (loaded.files[file]?.events ?? []).flatMap((chunk) =>
          decodeRecords(chunk.records)
            .filter(
              (r) =>
                r.kind === EventKind.HttpRequest &&
                strings.string(chunk.stream, Math.floor(r.a / 2 ** 32)) === target,
            )
            .map((r) => index.get(`${globalStream(file, chunk.stream)}:${r.task}`) as number),
        );
      };
      const work = requests(0, '/work');
      const calls = requests(1, '/call');
      assert.equal(work.length, 2);
      assert.equal(calls.length, 2);
      // Each /work follows exactly one /call, the two /work are concurrent, and so are the /calls.
      for (const handled of work) {
        assert.equal(calls.filter((call) => trace.happensBefore(call, handled)).length, 1);
      }
      assert.ok(trace.concurrent(work[0] as number, work[1] as number));
      assert.ok(trace.concurrent(calls[0] as number, calls[1] as number));
      assert.equal(trace.edges().filter((edge) => edge.kind === EdgeKind.Message).length, 2);

      // Each response: from the payments task that wrote it to the orders continuation after
      // `await fetch(...)`, which follows the /call that sent the request.
      assert.deepEqual(loaded.responses, { linked: 2, unlinked: 0 });
      const tasks = trace.tasks();
      const fileOf = (task: number) => Math.floor((tasks[task]?.stream ?? -1) / STREAMS_PER_FILE);
      const responses = trace.edges().filter((edge) => edge.kind === EdgeKind.Response);
      assert.equal(responses.length, 2);
      for (const edge of responses) {
        assert.deepEqual([fileOf(edge.from), fileOf(edge.to)], [0, 1]);
        assert.equal(calls.filter((call) => trace.happensBefore(call, edge.to)).length, 1);
        assert.ok(trace.happensBefore(edge.from, edge.to));
      }
      assert.notEqual(responses[0]?.to, responses[1]?.to);
    } finally {
      loaded.trace.dispose();
    }
  });
});
