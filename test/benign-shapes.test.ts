// End to end: the benign shapes of docs/detectors.md ("Benign shapes"), each in a program recorded
// under `--import @causeway/instrumentation/register`, next to the harmful shape it resembles, which
// must still be reported.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildTraceReport, loadTraceFile } from '@causeway/core';

const REGISTER = fileURLToPath(import.meta.resolve('@causeway/instrumentation/register'));

/** Two flows started by timers of decreasing delay: nothing orders them (architecture.md, "Tasks"). */
const PAUSE = 'const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));';

/**
 * Runs `program` recorded, checks what it printed (unless `printed` is null: the order of timers
 * that a loaded machine can delay is not part of the test), and returns its findings as
 * `class property`.
 */
function findingsOf(program: string, printed: string | null): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-benign-'));
  writeFileSync(join(dir, 'main.ts'), `${PAUSE}\n${program}`);
  const traceFile = join(dir, 'main.cwtrace');
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  if (printed !== null) assert.equal(result.stdout, printed);
  const loaded = loadTraceFile(traceFile);
  const { findings } = buildTraceReport(traceFile, loaded);
  loaded.trace.dispose();
  return findings.map((f) => `${f.class} ${f.location.property}`);
}

const WITHDRAW = `
const account = { balance: 100 };
async function withdraw(amount: number) {
  const balance = account.balance;
  await pause(10);
  account.balance = balance - amount;
}`;

describe('benign shapes', () => {
  it('reports nothing for a flag-style lock, and its races when the check and the set are split by an await', () => {
    const lock = `
const state = { busy: false };
async function refresh(name: string) {
  if (state.busy) { console.log(name, 'skipped'); return; }
  state.busy = true;
  await pause(20);
  state.busy = false;
  console.log(name, 'ran');
}
setTimeout(() => refresh('a'), 10);
setTimeout(() => refresh('b'), 5);
setTimeout(() => refresh('c'), 60);
`;
    assert.deepEqual(findingsOf(lock, null), []);

    // The test and the set in different tasks: both flows pass the test before either sets the flag.
    const broken = lock.replace(
      'return; }\n  state.busy = true;',
      'return; }\n  await pause(10);\n  state.busy = true;',
    );
    assert.notEqual(broken, lock);
    const reported = findingsOf(broken, null);
    assert.ok(reported.length > 0 && reported.every((f) => f.endsWith('.busy')), reported.join(', '));
  });

  it('reports no lost update for a read, await, write inside a lock object, and an observed one without it', () => {
    const locked = `${WITHDRAW.replace('async function withdraw', 'async function unguarded')}
class Mutex {
  locked = false;
  async acquire(): Promise<void> {
    while (this.locked) await pause(1);
    this.locked = true;
  }
  release(): void {
    this.locked = false;
  }
}
const mutex = new Mutex();
async function withdraw(amount: number) {
  await mutex.acquire();
  try {
    await unguarded(amount);
  } finally {
    mutex.release();
  }
}
setTimeout(() => withdraw(30), 10);
setTimeout(() => withdraw(50), 5);
`;
    assert.deepEqual(findingsOf(locked, ''), []);

    const unlocked = `${WITHDRAW}
setTimeout(() => withdraw(30), 10);
setTimeout(() => withdraw(50), 5);
`;
    assert.deepEqual(findingsOf(unlocked, ''), ['lost-update .balance']);
  });

  it('reports a mutex made of a promise chain as a possible lost update (no resolve edges into reactions yet)', () => {
    const chained = `${WITHDRAW}
let queue: Promise<void> = Promise.resolve();
function serialized(run: () => Promise<void>): Promise<void> {
  const done = queue.then(run);
  queue = done.catch(() => {});
  return done;
}
setTimeout(() => serialized(() => withdraw(30)), 10);
setTimeout(() => serialized(() => withdraw(50)), 5);
`;
    const reported = findingsOf(chained, '');
    assert.ok(reported.includes('lost-update .balance'), reported.join(', '));
  });

  it('reports no race for concurrent writes of one value, and a write-write race for two values', () => {
    const program = `
const cache = { ready: false, mode: 'none' };
async function warm(mode: string) {
  await pause(1);
  cache.ready = true;
  cache.mode = mode;
}
setTimeout(() => warm('fast'), 10);
setTimeout(() => warm('safe'), 5);
`;
    assert.deepEqual(findingsOf(program, ''), ['write-write .mode']);
  });

  it('reports no race for concurrent increments, and a lost update for a total written back after an await', () => {
    const program = `
const stats = { hits: 0, total: 0 };
async function record(amount: number) {
  stats.hits += 1;
  await pause(1);
  stats.hits++;
  const total = stats.total;
  await pause(5);
  stats.total = total + amount;
}
setTimeout(() => record(3), 10);
setTimeout(() => record(4), 5);
`;
    assert.deepEqual(findingsOf(program, ''), ['lost-update .total']);
  });

  it('reports no race between Promise.all inputs and the code after it', () => {
    const program = `
const totals = { a: 0, b: 0 };
async function add(key: 'a' | 'b', amount: number) {
  await pause(amount);
  totals[key] = totals[key] + amount;
}
async function main() {
  await Promise.all([add('a', 3), add('b', 4)]);
  totals.a = totals.a + totals.b;
  console.log(totals.a);
}
main();
`;
    assert.deepEqual(findingsOf(program, '7\n'), []);
  });
});
