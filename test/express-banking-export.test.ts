// End to end, issue 10: record express-banking's racy transfers, export the run as a test with
// `causeway export --format test`, and run that test with `node --test`: it fails on every run
// against the racy transfer and passes on every run against the atomic one (BANK_TRANSFERS=atomic).

import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { CONNECTION, postgresAbsent } from '../packages/instrumentation/test/postgres.ts';

const noPostgres = await postgresAbsent();
const DATABASE_URL = `postgres://${CONNECTION.user}@${CONNECTION.host}:${CONNECTION.port}/${CONNECTION.database}`;
const EXAMPLE = fileURLToPath(new URL('../examples/express-banking/', import.meta.url));
const CAUSEWAY = fileURLToPath(new URL('../packages/cli/bin/causeway.js', import.meta.url));
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = promisify(execFile);
/** Runs of the exported test per variant: the issue asks 100, measured by hand (docs/export-test.md). */
const RUNS = 10;
/** Runs of the Vitest variant (each starts Vitest: slower). */
const VITEST_RUNS = 3;

/**
 * Records the walkthrough: the bank instrumented (with the server options and environment given),
 * test-race's 10 concurrent transfers, a clean stop.
 */
async function recordRacyRun(
  args: string[] = [],
  env: Record<string, string> = {},
  amount = 10,
): Promise<string> {
  const traceFile = join(mkdtempSync(join(tmpdir(), 'causeway-export-test-')), 'bank.cwtrace');
  const bank = spawn(
    process.execPath,
    ['--import', '@causeway/instrumentation/register', 'src/server.ts', '--port', '0', ...args],
    {
      cwd: EXAMPLE,
      env: { ...process.env, ...env, CAUSEWAY_TRACE_FILE: traceFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      bank.stdout?.on('data', (chunk) => {
        output += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      bank.once('exit', (code) =>
        reject(new Error(`the bank exited (${code}) before listening:\n${output}`)),
      );
    });
    const { stdout } = await run(
      process.execPath,
      ['test-race.ts', '--url', url, '--transfers', '10', '--amount', String(amount)],
      { cwd: EXAMPLE },
    );
    // 10 transfers of 300 from two payers of 1000 each: the racy code accepts them all.
    if (amount === 10) assert.match(stdout, /went missing/, 'the recorded run lost money');
    else assert.match(stdout, /10 accepted/, 'the racy code accepted every transfer');
    const exited = once(bank, 'exit');
    bank.kill('SIGTERM');
    await exited;
    return traceFile;
  } finally {
    bank.kill('SIGKILL');
  }
}

describe('causeway export --format test on express-banking', () => {
  // Inside the example, so that the test resolves @causeway/instrumentation and the app's modules.
  const dir = join(EXAMPLE, '.causeway', `export-test-${process.pid}`);
  const testFile = join(dir, 'transfers.test.ts');
  const vitestFile = join(dir, 'transfers.vitest.test.ts');
  before(async () => {
    mkdirSync(dir, { recursive: true });
    const traceFile = await recordRacyRun();
    for (const [out, framework] of [
      [testFile, 'node'],
      [vitestFile, 'vitest'],
    ] as const) {
      const exported = spawnSync(
        process.execPath,
        [
          CAUSEWAY,
          'export',
          traceFile,
          '--format',
          'test',
          '--framework',
          framework,
          '--app',
          'src/replay-target.ts',
          '--out',
          out,
        ],
        { cwd: EXAMPLE, encoding: 'utf8' },
      );
      assert.equal(exported.status, 0, exported.stderr);
      assert.match(exported.stdout, /wrote test of trace .* to .*transfers(\.vitest)?\.test\.ts/);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function runExported(env: Record<string, string>) {
    // Without NODE_TEST_CONTEXT, which would make the child report to this runner, not print.
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    return spawnSync(process.execPath, ['--test', '--test-reporter=spec', testFile], {
      cwd: EXAMPLE,
      encoding: 'utf8',
      env: { ...inherited, ...env },
    });
  }

  it('the generated test imports the app and the replay harness and holds the recording as data', () => {
    const text = readFileSync(testFile, 'utf8');
    assert.match(text, /^import \{ replayTarget \} from "\.\.\/\.\.\/src\/replay-target\.ts";$/m);
    assert.match(text, /from "@causeway\/instrumentation\/replay";$/m);
    assert.match(text, /^\/\/ {3}step {3}1 {2}request 1 \(GET \/accounts\), MemoryAccountStore\.all #1$/m);
    assert.match(text, /^ {2}\/\/ carol\.balance: 1000( \+10){10} = 1100$/m);
  });

  it(`fails on each of ${RUNS} runs against the racy transfer, naming the lost update`, () => {
    for (let i = 0; i < RUNS; i++) {
      const result = runExported({ BANK_TRANSFERS: 'racy' });
      assert.notEqual(result.status, 0, `run ${i + 1} passed against the racy transfer:\n${result.stdout}`);
      assert.match(
        result.stdout,
        /\.balance should be 1000 [-+]10 .* but is \d+ \(the recorded run ended at \d+\): an update was lost/,
        `run ${i + 1}`,
      );
      assert.doesNotMatch(result.stdout, /trace diverged/, `run ${i + 1}`);
    }
  });

  function runVitest(env: Record<string, string>) {
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    // Vitest's root is the example (it finds the file there); no config file, no watch.
    return spawnSync(process.execPath, [VITEST, 'run', '--root', EXAMPLE, vitestFile], {
      cwd: EXAMPLE,
      encoding: 'utf8',
      env: { ...inherited, CI: '1', ...env },
    });
  }

  it(`the Vitest variant, run by Vitest: fails on each of ${VITEST_RUNS} runs against the racy transfer, passes on each against the atomic one`, () => {
    const text = readFileSync(vitestFile, 'utf8');
    assert.match(text, /^import \{ test \} from 'vitest';$/m);
    for (let i = 0; i < VITEST_RUNS; i++) {
      const racy = runVitest({ BANK_TRANSFERS: 'racy' });
      const output = `${racy.stdout}${racy.stderr}`;
      assert.notEqual(racy.status, 0, `run ${i + 1} passed against the racy transfer:\n${output}`);
      assert.match(
        output,
        /\.balance should be 1000 [-+]10 .* but is \d+ \(the recorded run ended at \d+\): an update was lost/,
      );
      assert.doesNotMatch(output, /trace diverged/, `run ${i + 1}`);
      const atomic = runVitest({ BANK_TRANSFERS: 'atomic' });
      assert.equal(
        atomic.status,
        0,
        `run ${i + 1} failed against the atomic transfer:\n${atomic.stdout}${atomic.stderr}`,
      );
      assert.match(atomic.stdout, /1 passed/);
    }
  });

  it(`passes on each of ${RUNS} runs against the atomic transfer (BANK_TRANSFERS=atomic)`, () => {
    for (let i = 0; i < RUNS; i++) {
      const result = runExported({ BANK_TRANSFERS: 'atomic' });
      assert.equal(result.status, 0, `run ${i + 1} failed against the atomic transfer:\n${result.stdout}`);
      // The fix calls adjust instead of find and save: the replay says so rather than hiding it.
      assert.match(result.stdout, /made MemoryAccountStore\.adjust #1, MemoryAccountStore\.adjust #2/);
    }
  });
});

describe('causeway export --format test on express-banking: a fix that refuses some transfers', () => {
  // 10 transfers of 300 from alice and bob (1000 each): the racy code accepts all 10 (each reads
  // 1000), the atomic one accepts 3 per payer and answers the others 409 (insufficient funds).
  const dir = join(EXAMPLE, '.causeway', `export-test-refused-${process.pid}`);
  const testFile = join(dir, 'transfers.test.ts');
  before(async () => {
    mkdirSync(dir, { recursive: true });
    const traceFile = await recordRacyRun([], {}, 300);
    const exported = spawnSync(
      process.execPath,
      [CAUSEWAY, 'export', traceFile, '--format', 'test', '--app', 'src/replay-target.ts', '--out', testFile],
      { cwd: EXAMPLE, encoding: 'utf8' },
    );
    assert.equal(exported.status, 0, exported.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function runExported(env: Record<string, string>) {
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    return spawnSync(process.execPath, ['--test', '--test-reporter=spec', testFile], {
      cwd: EXAMPLE,
      encoding: 'utf8',
      env: { ...inherited, ...env },
    });
  }

  it('passes against the atomic transfer: the refused transfers (409) are noted and their changes not counted', () => {
    for (let i = 0; i < 3; i++) {
      const result = runExported({ BANK_TRANSFERS: 'atomic' });
      assert.equal(result.status, 0, `run ${i + 1} failed against the atomic transfer:\n${result.stdout}`);
      assert.match(result.stdout, /request \d+ was refused: answered 409 \(recorded 200\)/);
      assert.doesNotMatch(result.stdout, /trace diverged/);
    }
  });

  it('fails against the racy transfer with the lost update, every change counted', () => {
    const result = runExported({ BANK_TRANSFERS: 'racy' });
    assert.notEqual(result.status, 0, `passed against the racy transfer:\n${result.stdout}`);
    assert.match(
      result.stdout,
      /\.balance should be 1000 ([-+]300 )+= -?\d+ \(every request's change applied\), but is \d+ \(the recorded run ended at \d+\): an update was lost/,
    );
    assert.doesNotMatch(result.stdout, /trace diverged| was refused/);
  });
});

describe('causeway export --format test on express-banking with PostgreSQL', {
  skip: noPostgres ?? false,
}, () => {
  const table = `bank_export_${randomBytes(4).toString('hex')}`;
  const dir = join(EXAMPLE, '.causeway', `export-test-pg-${process.pid}`);
  const testFile = join(dir, 'transfers.test.ts');
  /** Runs per variant: each replays against a table of its own. */
  const PG_RUNS = 5;
  before(async () => {
    mkdirSync(dir, { recursive: true });
    // CAUSEWAY_CAPTURE=on: the rows the queries returned are what the replay reads balances from.
    const traceFile = await recordRacyRun(
      ['--store', 'postgres', '--database-url', DATABASE_URL, '--table', table],
      { CAUSEWAY_CAPTURE: 'on' },
    );
    const exported = spawnSync(
      process.execPath,
      [CAUSEWAY, 'export', traceFile, '--format', 'test', '--app', 'src/replay-target.ts', '--out', testFile],
      { cwd: EXAMPLE, encoding: 'utf8' },
    );
    assert.equal(exported.status, 0, exported.stderr);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await client.end();
    }
  });

  function runExported(env: Record<string, string>) {
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    return spawnSync(process.execPath, ['--test', '--test-reporter=spec', testFile], {
      cwd: EXAMPLE,
      encoding: 'utf8',
      env: { ...inherited, DATABASE_URL, ...env },
    });
  }

  it('the lost update on a row is exported: the store class is the one whose methods made the queries, balances come from the captured rows', () => {
    const text = readFileSync(testFile, 'utf8');
    assert.match(text, /^\/\/ Finding \d+:$/m);
    assert.match(text, /"gatedClass": "PostgresAccountStore"/);
    assert.match(
      text,
      /^\/\/ {3}step +\d+ {2}request \d+ \(POST \/transfers\), PostgresAccountStore\.save #1$/m,
    );
    // Recorded with CAUSEWAY_CAPTURE=on: each transfer's body is in the recording, sent as it was.
    assert.match(text, /"body": "\{\\"from\\":\\"(alice|bob)\\",\\"to\\":\\"carol\\",\\"amount\\":10\}"/);
    // The row's column is the invariant's property, its first value read from a captured row.
    assert.match(text, /^ {2}\/\/ (alice|bob|carol)\.balance: 1000( [-+]10)+ = \d+$/m);
  });

  it(`fails on each of ${PG_RUNS} runs against the racy transfer on PostgreSQL, passes on each against the atomic one`, () => {
    for (let i = 0; i < PG_RUNS; i++) {
      const racy = runExported({ BANK_TRANSFERS: 'racy' });
      assert.notEqual(racy.status, 0, `run ${i + 1} passed against the racy transfer:\n${racy.stdout}`);
      assert.match(
        racy.stdout,
        /\.balance should be 1000 [-+]10 .* but is \d+ \(the recorded run ended at \d+\): an update was lost/,
      );
      assert.doesNotMatch(racy.stdout, /trace diverged/, `run ${i + 1}`);
      const atomic = runExported({ BANK_TRANSFERS: 'atomic' });
      assert.equal(atomic.status, 0, `run ${i + 1} failed against the atomic transfer:\n${atomic.stdout}`);
      assert.match(atomic.stdout, /made PostgresAccountStore\.adjust #1, PostgresAccountStore\.adjust #2/);
    }
  });
});
