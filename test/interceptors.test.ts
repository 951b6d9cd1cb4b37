// End to end: applications run under `--import @causeway/instrumentation/register` with no
// Causeway code of their own; the interceptors make each HTTP request a task, and the core finds
// the lost update two concurrent requests cause.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LoadedTrace, loadTraceFile } from '@causeway/core';
import { decodeRecords, EventKind } from '@causeway/core/event-format';

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
    await fetch(`${app.base}/shutdown`, { method: 'POST' });
    const { code, stderr } = await app.exited;
    assert.equal(code, 0, stderr);

    const loaded = loadTraceFile(tracePath);
    try {
      const requests = requestTasks(loaded);
      assert.equal(requests.length, 3, 'two withdrawals and the shutdown');
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
});
