// Generators, `for await` and destructuring writes under the real runtime: a read-modify-write
// split by a `for await` over an async generator is a lost update the core finds, also when the
// write is a destructuring target; a sync generator's slices run in the task of the code that
// resumed them, so state it changes for one caller, between yields, races with nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadTraceFile } from '@causeway/core';
import { EdgeKind } from '@causeway/core/event-format';

const REGISTER = import.meta.resolve('../src/register.ts');

function recordTrace(source: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-generators-'));
  writeFileSync(join(dir, 'main.ts'), source);
  const traceFile = join(dir, 'out.cwtrace');
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1', ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return { stdout: result.stdout, loaded: loadTraceFile(traceFile) };
}

function findingClasses(source: string): { stdout: string; classes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-generators-'));
  writeFileSync(join(dir, 'main.ts'), source);
  const traceFile = join(dir, 'out.cwtrace');
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  const loaded = loadTraceFile(traceFile);
  try {
    return { stdout: result.stdout, classes: loaded.trace.findings().map((finding) => finding.class) };
  } finally {
    loaded.trace.dispose();
  }
}

const TICKS = `
async function* ticks(n: number) {
  for (let i = 0; i < n; i++) { await new Promise((resolve) => setTimeout(resolve, 1)); yield i; }
}
`;

describe('generators under the runtime', () => {
  it('find a lost update across a for await over an async generator', () => {
    const { stdout, classes } = findingClasses(`${TICKS}
      const account = { balance: 100 };
      async function withdraw(amount: number) {
        const seen = account.balance;
        for await (const _ of ticks(2)) {}
        account.balance = seen - amount;
      }
      await Promise.all([withdraw(10), withdraw(20)]);
      console.log(account.balance);
    `);
    assert.equal(stdout.trim(), '80');
    assert.ok(classes.includes('lost-update'), String(classes));
  });

  it('find a lost update whose write is a destructuring target', () => {
    const { stdout, classes } = findingClasses(`${TICKS}
      const account = { balance: 100, log: [] as number[] };
      async function withdraw(amount: number) {
        const seen = account.balance;
        for await (const _ of ticks(1)) {}
        [account.balance] = [seen - amount];
      }
      await Promise.all([withdraw(10), withdraw(20)]);
      console.log(account.balance);
    `);
    assert.equal(stdout.trim(), '80');
    assert.ok(classes.includes('lost-update'), String(classes));
  });

  it('order an async generator resumed by next() after the code that called it', () => {
    // The timer's task writes state.v, then calls next(): the generator resumes at its yield
    // inside that call and updates state.v. Without the edge from the caller, the timer's write
    // and the generator's update would look concurrent (a write-write race).
    const source = `
      const state = { v: 0 };
      async function* counter() {
        while (true) {
          yield state.v;
          state.v += 1;
        }
      }
      const it = counter();
      await it.next();
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          state.v = 10;
          it.next().then(() => {
            console.log(state.v);
            resolve();
          });
        }, 1);
      });
    `;
    const { stdout, loaded } = recordTrace(source);
    try {
      assert.equal(stdout.trim(), '11');
      assert.deepEqual(
        loaded.trace.findings().map((finding) => finding.class),
        [],
      );
      const spawns = loaded.trace.edges().filter((edge) => edge.kind === EdgeKind.Spawn);
      const resumed = loaded.trace.tasks().filter((task) => spawns.some((edge) => edge.to === task.index));
      // The timer's callback (spawned by the start) and the generator's continuation (by the timer).
      assert.ok(
        resumed.some((task) => task.beginSite !== 0),
        'a continuation spawned by its caller',
      );
    } finally {
      loaded.trace.dispose();
    }
    // Without the scheduling wrappers (CAUSEWAY_SCHEDULING=0) the caller is not known: the same
    // program then reports the write-write race the edge removes.
    const unordered = recordTrace(source, { CAUSEWAY_SCHEDULING: '0' });
    try {
      assert.ok(unordered.loaded.trace.findings().length > 0);
    } finally {
      unordered.loaded.trace.dispose();
    }
  });

  it('report nothing for a sync generator stepped by one flow, and for awaits in order', () => {
    const { stdout, classes } = findingClasses(`${TICKS}
      const counter = { value: 0 };
      function* steps() { while (true) { counter.value += 1; yield counter.value; } }
      async function run() {
        const it = steps();
        for await (const _ of ticks(2)) it.next();
        counter.value = it.next().value ?? 0;
      }
      await run();
      console.log(counter.value);
    `);
    assert.equal(stdout.trim(), '3');
    assert.deepEqual(classes, []);
  });
});
