// The runtime's transport to `causeway serve`: retries, a bounded spool, refused batches, and a
// recorded application whose trace reaches a real server (node:sqlite) complete with its END.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildTraceReport, loadTraceFile } from '@causeway/core';
import { EventKind, encodeRecords } from '@causeway/core/event-format';
import { readTraceFile } from '@causeway/core/trace-file';
import { decodeBatch } from '@causeway/core/wire-format';
import { createServer, TraceStore } from '@causeway/server';
import { ServerTransport } from '../src/runtime/transport.ts';

const META = {
  traceId: 'ab'.repeat(16),
  service: 'svc',
  pid: 7,
  startedAt: '2026-11-23T10:00:00.000Z',
  node: '24.0.0',
  causeway: '0.1.0',
};
const STREAM = { stream: 1, pid: 7, thread: 0, epochMs: 0 };

function recordsFrom(seq: number, count: number): Uint8Array {
  return encodeRecords(
    Array.from({ length: count }, (_, i) => ({
      kind: EventKind.FnEnter,
      flags: 0,
      seq: seq + i,
      task: 1,
      site: 1,
      a: 0,
      b: 0,
    })),
  );
}

/** A fetch that answers from a script of statuses and keeps what it was sent. */
function scriptedFetch(statuses: (number | 'network')[]) {
  const sent: { status: number | 'network'; body: Uint8Array }[] = [];
  const fake = (async (_url: string, init: RequestInit) => {
    const status = statuses.shift() ?? 200;
    sent.push({ status, body: new Uint8Array(init.body as Uint8Array) });
    if (status === 'network') throw new TypeError('fetch failed');
    return new Response(status === 200 ? '{}' : '{"code":"CW_X","message":"no"}', { status });
  }) as unknown as typeof fetch;
  return { fake, sent };
}

const settle = (transport: ServerTransport) => transport.idle(10_000);

describe('ServerTransport', () => {
  it('sends the stream, tables and records in numbered batches, and retries after failures', async () => {
    const { fake, sent } = scriptedFetch(['network', 503, 200, 200]);
    const transport = new ServerTransport({
      server: 'http://127.0.0.1:9',
      apiKey: 'k',
      meta: META,
      stream: STREAM,
      fetch: fake,
    });
    transport.strings({ stream: 1, first: 1, strings: ['balance'] });
    transport.records(recordsFrom(0, 3));
    transport.flush();
    await settle(transport);
    transport.records(recordsFrom(3, 2));
    transport.flush({ records: 5, dropped: 0, endedAt: '2026-11-23T10:00:01.000Z' });
    await settle(transport);
    assert.deepEqual(
      sent.map((s) => s.status),
      ['network', 503, 200, 200],
    );
    const first = decodeBatch(sent[2]?.body as Uint8Array);
    assert.equal(first.meta.batch, 1);
    assert.deepEqual(first.streams, [STREAM]);
    assert.deepEqual(first.strings, [{ stream: 1, first: 1, strings: ['balance'] }]);
    assert.equal(first.events[0]?.records.byteLength, 3 * 32);
    const second = decodeBatch(sent[3]?.body as Uint8Array);
    assert.equal(second.meta.batch, 2);
    assert.deepEqual(second.streams, []);
    assert.equal(second.end?.records, 5);
    assert.equal(transport.acknowledged, 5);
    assert.equal(transport.dropped, 0);
  });

  it('drops records, not tables, when the spool is full, and drops a refused batch', async () => {
    const { fake, sent } = scriptedFetch(['network', 400, 200]);
    const transport = new ServerTransport({
      server: 'http://127.0.0.1:9',
      apiKey: null,
      meta: META,
      stream: STREAM,
      spoolBytes: 4096,
      fetch: fake,
    });
    transport.records(recordsFrom(0, 50)); // 1,600 bytes: fits
    transport.flush();
    transport.strings({ stream: 1, first: 1, strings: ['x'] });
    transport.records(recordsFrom(50, 100)); // 3,200 bytes more: over the limit
    transport.flush();
    assert.equal(transport.dropped, 100);
    await settle(transport);
    // The first batch was refused (400) after one network failure; the second arrived without records.
    assert.deepEqual(
      sent.map((s) => s.status),
      ['network', 400, 200],
    );
    const kept = decodeBatch(sent[2]?.body as Uint8Array);
    assert.deepEqual(kept.strings, [{ stream: 1, first: 1, strings: ['x'] }]);
    assert.deepEqual(kept.events, []);
    assert.equal(transport.dropped, 150);
    assert.equal(transport.acknowledged, 0);
  });
});

const BANK = [
  'const account = { balance: 100 };',
  'async function withdraw(amount: number): Promise<void> {',
  '  const balance = account.balance;',
  '  await new Promise((resolve) => setTimeout(resolve, 5));',
  '  account.balance = balance - amount;',
  '}',
  'await Promise.all([withdraw(30), withdraw(50)]);',
  "console.log('balance', account.balance);",
].join('\n');

/** Runs bank.ts recorded into `dir`/bank.cwtrace with `env`; its stdout and stderr together. */
async function runBank(dir: string, env: Record<string, string>): Promise<{ code: unknown; output: string }> {
  writeFileSync(join(dir, 'bank.ts'), BANK);
  const child = spawn(process.execPath, ['--import', import.meta.resolve('../src/register.ts'), 'bank.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: join(dir, 'bank.cwtrace'), CAUSEWAY_QUIET: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  return { code, output };
}

describe('a recorded application with CAUSEWAY_SERVER', () => {
  it('runs and writes its trace file as usual when the server is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-transport-'));
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const { code, output } = await runBank(dir, { CAUSEWAY_SERVER: 'http://127.0.0.1:9' });
    assert.equal(code, 0, output);
    assert.match(output, /^balance 50$/m);
    assert.match(
      output,
      /causeway: warning CW_TRANSPORT_FAILED: cannot send to the server at http:\/\/127\.0\.0\.1:9/,
    );
    const file = readTraceFile(join(dir, 'bank.cwtrace'));
    assert.ok(file.end !== null && file.end.records > 0, 'the trace file is complete');
  });

  it('sends its whole trace to the server, which finds what the trace file shows', async () => {
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0 });
    const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-transport-'));
      const traceFile = join(dir, 'bank.cwtrace');
      const { code, output } = await runBank(dir, { CAUSEWAY_SERVER: base });
      assert.equal(code, 0, output);
      assert.equal(output, 'balance 50\n');

      const file = readTraceFile(traceFile);
      const stored = await store.getTrace(file.meta.traceId);
      assert.ok(stored !== null, 'the trace reached the server');
      assert.equal(stored.records, file.end?.records);
      assert.equal(stored.ended, true, 'the END chunk was sent');
      const served = async (path: string) =>
        (await (await fetch(`${base}/v1/traces/${file.meta.traceId}${path}`)).json()) as Record<
          string,
          unknown
        >;
      const loaded = loadTraceFile(traceFile);
      try {
        // What the server serves is what `causeway analyze --json` prints for the trace file.
        const report = buildTraceReport(traceFile, loaded);
        assert.ok(
          report.findings.some((f) => f.class === 'lost-update'),
          report.findings.map((f) => f.class).join(),
        );
        assert.deepEqual((await served('/findings')).findings, report.findings);
        const graph = await served('/graph');
        assert.deepEqual([graph.tasks, graph.edges], [report.tasks, report.edges]);
        assert.deepEqual((await served('')).stats, report.stats);
      } finally {
        loaded.trace.dispose();
      }
    } finally {
      await server.app.close();
      await store.close();
    }
  });
});
