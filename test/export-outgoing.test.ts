// End to end, issue 10's outgoing calls: a shop whose purchases ask a pricing partner (fetch) and a
// fee table (pg) is recorded with CAUSEWAY_CAPTURE=on while purchases race; the exported test
// replays it with the partner gone and the table dropped, every answer taken from the recording by
// (request, kind, ordinal), and still loses the update; with the atomic charge it passes. Recorded
// without captured bodies, the replay says which answer it lacks.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CONNECTION, postgresAbsent } from '../packages/instrumentation/test/postgres.ts';

const SHOP = fileURLToPath(new URL('./fixtures/shop/', import.meta.url));
const CAUSEWAY = fileURLToPath(new URL('../packages/cli/bin/causeway.js', import.meta.url));
const noPostgres = await postgresAbsent();

async function sql(text: string): Promise<void> {
  const client = new pg.Client(CONNECTION);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Runs the shop instrumented, makes `purchases` purchases at once, stops it; returns the trace. */
async function recordPurchases(
  env: Record<string, string>,
  purchases: number,
): Promise<{ traceFile: string; sentAt: number }> {
  const traceFile = join(mkdtempSync(join(tmpdir(), 'causeway-shop-')), 'shop.cwtrace');
  const shop = spawn(process.execPath, ['--import', '@causeway/instrumentation/register', 'server.ts'], {
    cwd: SHOP,
    env: { ...process.env, ...env, CAUSEWAY_TRACE_FILE: traceFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    const port = await new Promise<string>((resolve, reject) => {
      shop.stdout?.on('data', (chunk) => {
        output += chunk;
        const line = /^(\d+)\n/.exec(output);
        if (line?.[1] !== undefined) resolve(line[1]);
      });
      shop.once('exit', (code) => reject(new Error(`the shop exited (${code}) before listening`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const sentAt = Date.now();
    const answers = await Promise.all(
      Array.from({ length: purchases }, () => fetch(`${base}/buy`, { method: 'POST' })),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      answers.map(() => 200),
    );
    const exited = once(shop, 'exit');
    await fetch(`${base}/shutdown`, { method: 'POST' });
    await exited;
    return { traceFile, sentAt };
  } finally {
    shop.kill('SIGKILL');
  }
}

describe('causeway export --format test: outgoing calls answered from the recording', {
  skip: noPostgres ?? false,
}, () => {
  const feeTable = `shop_fees_${randomBytes(4).toString('hex')}`;
  const dir = join(SHOP, `.export-${process.pid}`);
  const captured = join(dir, 'captured.test.ts');
  const uncaptured = join(dir, 'uncaptured.test.ts');
  let partnerUrl = '';
  let sentAt = 0;

  function exportTo(traceFile: string, out: string): void {
    const result = spawnSync(
      process.execPath,
      [CAUSEWAY, 'export', traceFile, '--format', 'test', '--app', 'replay-target.ts', '--out', out],
      { cwd: SHOP, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
  }

  before(async () => {
    mkdirSync(dir, { recursive: true });
    await sql(`CREATE TABLE ${feeTable} (kind text PRIMARY KEY, fee integer NOT NULL)`);
    await sql(`INSERT INTO ${feeTable} VALUES ('standard', 2)`);
    // The partner: answers after a while, so that the purchases' reads of the balance all come first.
    const partner = createServer((_req, res) => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end('{"price":7}');
      }, 20);
    });
    await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
    partnerUrl = `http://127.0.0.1:${(partner.address() as AddressInfo).port}`;
    try {
      const env = { PARTNER_URL: partnerUrl, FEE_TABLE: feeTable };
      const recorded = await recordPurchases({ ...env, CAUSEWAY_CAPTURE: 'on' }, 3);
      sentAt = recorded.sentAt;
      exportTo(recorded.traceFile, captured);
      exportTo((await recordPurchases({ ...env, CAUSEWAY_CAPTURE: 'headers' }, 3)).traceFile, uncaptured);
    } finally {
      // Gone before any replay: what the replays get can only come from the recordings.
      partner.closeAllConnections();
      partner.close();
      await sql(`DROP TABLE ${feeTable}`);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function runExported(file: string, env: Record<string, string>) {
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    return spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], {
      cwd: SHOP,
      encoding: 'utf8',
      env: { ...inherited, PARTNER_URL: partnerUrl, FEE_TABLE: feeTable, ...env },
    });
  }

  it("the recording holds each purchase's fetch and query, with the body and rows captured", () => {
    const text = readFileSync(captured, 'utf8');
    assert.match(
      text,
      /"kind": "http",\s+"ordinal": 1,\s+"method": "GET",\s+"url": "http:\/\/127\.0\.0\.1:\d+\/quote"/,
    );
    assert.match(text, /"body": "\{\\"price\\":7\}"/);
    assert.match(
      text,
      /"kind": "db",\s+"ordinal": 1,\s+"statement": "SELECT fee FROM shop_fees_\w+ WHERE kind = \$1"/,
    );
    assert.match(text, /"rows": \[\s*\[\s*\["fee", 2\]/);
  });

  it('the recorded clock is the wall clock of the recorded run: each request arrived, and each step ran, just after the purchases were sent', () => {
    const text = readFileSync(captured, 'utf8');
    const json = text.slice(text.indexOf('= {') + 2, text.indexOf('};\n\ntest(') + 1);
    const recording = JSON.parse(json) as {
      clock: { originMs: number };
      requests: { atMs: number }[];
      steps: { atMs: number }[];
    };
    const { originMs } = recording.clock;
    for (const { atMs } of [...recording.requests, ...recording.steps]) {
      const wall = originMs + atMs;
      assert.ok(wall >= sentAt - 50 && wall < sentAt + 5000, `${wall} is not just after ${sentAt}`);
    }
    const arrivals = Math.min(...recording.requests.map(({ atMs }) => atMs));
    assert.ok(recording.steps.every(({ atMs }) => atMs >= arrivals));
  });

  it('replayed with the partner gone and the table dropped: fails with the lost update against the racy charge, passes against the atomic one', () => {
    for (let i = 0; i < 3; i++) {
      const racy = runExported(captured, {});
      assert.notEqual(racy.status, 0, racy.stdout);
      assert.match(
        racy.stdout,
        /main\.balance should be 100 -9 -9 -9 = 73 \(every request's change applied\), but is 91/,
      );
      assert.doesNotMatch(racy.stdout, /trace diverged|not captured/);
      const atomic = runExported(captured, { SHOP_CHARGES: 'atomic' });
      assert.equal(atomic.status, 0, atomic.stdout);
    }
  });

  it('recorded without bodies (CAUSEWAY_CAPTURE=headers): the replay fails, naming the answer it lacks', () => {
    const result = runExported(uncaptured, {});
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(
      result.stdout,
      /trace diverged .*request \d, http #1: GET http:\/\/127\.0\.0\.1:\d+\/quote: its body was not captured: the replay cannot answer it \(record the run with CAUSEWAY_CAPTURE=on\)/,
    );
  });
});
