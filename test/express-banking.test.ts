// End to end, the walkthrough of examples/express-banking: start the bank instrumented, fire
// concurrent transfers with its test-race script, stop it, and ask the core what went wrong.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildTraceReport, type FindingReport, loadTraceFile, type TaskReport } from '@causeway/core';
import pg from 'pg';
import { CONNECTION, postgresAbsent } from '../packages/instrumentation/test/postgres.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/express-banking/', import.meta.url));
const run = promisify(execFile);
const DATABASE_URL = `postgres://${CONNECTION.user}@${CONNECTION.host}:${CONNECTION.port}/${CONNECTION.database}`;
const noPostgres = await postgresAbsent();

async function dropTable(table: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
  } finally {
    await client.end();
  }
}

interface Bank {
  url: string;
  process: ChildProcess;
  traceFile: string;
}

async function startBank(args: string[]): Promise<Bank> {
  const traceFile = join(mkdtempSync(join(tmpdir(), 'causeway-bank-')), 'bank.cwtrace');
  const bank = spawn(
    process.execPath,
    ['--import', '@causeway/instrumentation/register', 'src/server.ts', '--port', '0', ...args],
    {
      cwd: EXAMPLE,
      env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  bank.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    bank.stdout?.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    bank.once('exit', (code) => reject(new Error(`the bank exited (${code}) before listening:\n${output}`)));
  });
  return { url, process: bank, traceFile };
}

async function stopBank(bank: Bank): Promise<void> {
  const exited = once(bank.process, 'exit');
  bank.process.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0, 'the bank stops cleanly on SIGTERM');
}

/** Runs the walkthrough against a fresh bank and returns test-race's output and the findings. */
async function walkthrough(
  args: string[],
): Promise<{ said: string; findings: FindingReport[]; tasks: TaskReport[] }> {
  const bank = await startBank(args);
  try {
    const { stdout } = await run(process.execPath, ['test-race.ts', '--url', bank.url, '--transfers', '10'], {
      cwd: EXAMPLE,
    });
    await stopBank(bank);
    const loaded = loadTraceFile(bank.traceFile);
    try {
      const { findings, tasks } = buildTraceReport(bank.traceFile, loaded);
      return { said: stdout, findings, tasks };
    } finally {
      loaded.trace.dispose();
    }
  } finally {
    bank.process.kill('SIGKILL');
  }
}

describe('express-banking', () => {
  it("npm run example (walkthrough.ts) runs the README's commands and prints the lost update", async () => {
    const traceDir = mkdtempSync(join(tmpdir(), 'causeway-walkthrough-'));
    const { stdout } = await run(process.execPath, ['walkthrough.ts'], {
      cwd: EXAMPLE,
      env: { ...process.env, CAUSEWAY_TRACE_DIR: traceDir },
    });
    assert.match(stdout, /went missing/);
    assert.match(stdout, /^\$ npx causeway analyze --trace-id [0-9a-f]{32}$/m);
    assert.match(stdout, /^1\. Lost update on object #\d+ \.balance/m);
    assert.match(stdout, /had read \d+ as well: its change of [+-]10 is what was lost\./);
  });

  it('a slow shipping partner times an order out: the cascade is rooted in the shipping await, and finalizeOrder never ran', async () => {
    const bank = await startBank([]);
    let report: ReturnType<typeof buildTraceReport>;
    try {
      const ok = await fetch(`${bank.url}/orders/1/process`, { method: 'POST' });
      assert.equal(ok.status, 200);
      const slow = await fetch(`${bank.url}/orders/2/process?shippingMs=500`, { method: 'POST' });
      assert.equal(slow.status, 504);
      assert.match(((await slow.json()) as { error: string }).error, /shipping did not answer for order '2'/);
      await stopBank(bank);
      const loaded = loadTraceFile(bank.traceFile);
      report = buildTraceReport(bank.traceFile, loaded);
      loaded.trace.dispose();
    } finally {
      bank.process.kill('SIGKILL');
    }
    assert.equal(report.failures.length, 1, JSON.stringify(report.failures.map((f) => f.story)));
    const [failure] = report.failures;
    const names = failure?.calls.map((call) => call.function?.functionName);
    assert.deepEqual(names?.slice(0, 2), ['OrderService.scheduleShipping', 'OrderService.processOrder']);
    const [root, processOrder] = failure?.calls ?? [];
    assert.equal(root?.rejectedAt?.file, 'src/orders.ts');
    // The likeliest rejecter: the deadline's timer callback, defined in scheduleShipping.
    assert.equal(root?.rejectedAfter?.site?.file, 'src/orders.ts');
    assert.ok(
      (root?.rejectedAfter?.site?.line ?? 0) > (root?.function?.line ?? Infinity),
      'inside scheduleShipping',
    );
    assert.ok(
      (root?.waitedMs ?? 0) >= 90,
      `the shipping await waited ${root?.waitedMs} ms, about the 100 ms deadline`,
    );
    assert.deepEqual(
      processOrder?.neverCalled.map((site) => site.functionName),
      ['OrderService.finalizeOrder'],
    );
    assert.match(failure?.story ?? '', /never called OrderService\.finalizeOrder/);
  });

  it("an order whose shipping is slow, though in time, shows as a slow await against its site's usual", async () => {
    const bank = await startBank([]);
    let report: ReturnType<typeof buildTraceReport>;
    try {
      for (let i = 1; i <= 9; i++) {
        assert.equal((await fetch(`${bank.url}/orders/${i}/process`, { method: 'POST' })).status, 200);
      }
      assert.equal(
        (await fetch(`${bank.url}/orders/10/process?shippingMs=80`, { method: 'POST' })).status,
        200,
      );
      await stopBank(bank);
      const loaded = loadTraceFile(bank.traceFile);
      report = buildTraceReport(bank.traceFile, loaded);
      loaded.trace.dispose();
    } finally {
      bank.process.kill('SIGKILL');
    }
    const shipping = report.anomalies.find(
      (a) => a.kind === 'slow-await' && a.site?.functionName === 'OrderService.scheduleShipping',
    );
    assert.ok(shipping, JSON.stringify(report.anomalies.map((a) => a.story)));
    assert.ok((shipping.durationMs ?? 0) >= 70, `${shipping.durationMs} ms: about the 80 ms asked for`);
    assert.ok((shipping.medianMs ?? Infinity) < 40, `usual ${shipping.medianMs} ms`);
    assert.equal(shipping.samples, 10);
    assert.match(
      shipping.story,
      /^the await at src\/orders\.ts:\d+:\d+ in OrderService\.scheduleShipping took/,
    );
    assert.deepEqual(report.failures, [], 'nothing failed');
  });

  it('racy transfers lose money, and Causeway names the lost update on the balance with both sites', async () => {
    const { said, findings, tasks } = await walkthrough([]);
    assert.match(said, /carol should have received 100 but received \d+: \d+ went missing/);
    // Each transfer is a request task of its own (the interceptors), next to test-race's balance reads.
    const requests = tasks.filter((task) => task.startedBy === 'request').map((task) => task.request);
    assert.equal(requests.filter((request) => request === 'POST /transfers').length, 10);
    assert.equal(requests.filter((request) => request === 'GET /accounts').length, 2);

    const lost = findings.filter((f) => f.class === 'lost-update');
    assert.ok(lost.length >= 1, `no lost update among ${findings.map((f) => f.class).join(', ')}`);
    // A balance read once, then written from that stale read after another transfer wrote it.
    const stale = lost.find((f) => {
      const [read, , second] = f.accesses;
      return Math.abs(Number(second?.value) - Number(read?.value)) === 10;
    });
    assert.ok(stale, JSON.stringify(lost.map((f) => f.story)));
    assert.equal(stale.evidence, 'observed');
    assert.equal(stale.location.property, '.balance');
    const [read, remote, second] = stale.accesses;
    assert.deepEqual([read?.kind, remote?.kind, second?.kind], ['read', 'write', 'write']);
    assert.equal(read?.site?.functionName, 'MemoryAccountStore.find');
    assert.equal(remote?.site?.functionName, 'MemoryAccountStore.save');
    assert.equal(second?.site?.functionName, 'MemoryAccountStore.save');
    assert.notEqual(read?.task, remote?.task);
    assert.match(stale.recommendation, /atomic/);
    // Both transfers read the same balance; the lost write moved it by the amount of one transfer.
    assert.equal(stale.lost?.read.value, read?.value);
    assert.equal(Math.abs(stale.lost?.change ?? 0), 10);
    assert.match(stale.story, /had read \d+ as well: its change of [+-]10 is what was lost\./);
  });

  it('atomic transfers keep every cent, and no race is reported', async () => {
    const { said, findings } = await walkthrough(['--fixed']);
    assert.match(said, /every transfer arrived: no money went missing/);
    assert.deepEqual(
      findings.map((f) => f.story),
      [],
    );
  });

  describe('with PostgreSQL', { skip: noPostgres ?? false }, () => {
    const table = `bank_e2e_${randomBytes(4).toString('hex')}`;
    const postgres = ['--store', 'postgres', '--database-url', DATABASE_URL, '--table', table];
    after(() => dropTable(table));

    it('racy transfers lose money, and the lost update is about the database row', async () => {
      const { said, findings } = await walkthrough(postgres);
      assert.match(said, /went missing/);
      const lost = findings.filter((f) => f.class === 'lost-update');
      assert.ok(lost.length >= 1, `no lost update among ${findings.map((f) => f.class).join(', ')}`);
      const row = lost.find((f) => f.location.name === `row ${table}["carol"]`);
      assert.ok(row, JSON.stringify(lost.map((f) => f.location.name)));
      assert.equal(row.evidence, 'observed');
      const [read, remote, second] = row.accesses;
      assert.deepEqual([read?.kind, remote?.kind, second?.kind], ['read', 'write', 'write']);
      assert.match(
        read?.site?.functionName ?? '',
        new RegExp(`^SELECT id, owner, balance FROM ${table} WHERE id = \\$1`),
      );
      assert.match(
        second?.site?.functionName ?? '',
        new RegExp(`^UPDATE ${table} SET balance = \\$1 WHERE id = \\$2`),
      );
    });

    it('atomic UPDATE ... SET balance = balance + $1 transfers keep every cent and report no race', async () => {
      const { said, findings } = await walkthrough([...postgres, '--fixed']);
      assert.match(said, /every transfer arrived: no money went missing/);
      assert.deepEqual(
        findings.map((f) => f.story),
        [],
      );
    });
  });
});
