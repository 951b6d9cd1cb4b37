// Runs a small program under `--import @causeway/instrumentation/register` in a child process and
// answers questions about the tasks the core built from its recording (the scheduling and stream
// tests' helper).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTraceFile } from '@causeway/core';
import { decodeRecords, EventKind, type RecordFields, ValueTag } from '@causeway/core/event-format';

const REGISTER = import.meta.resolve('../src/register.ts');
/** Where a program that imports the workspace's packages (`express`) is written: inside the repository, git-ignored. */
const IN_REPOSITORY = fileURLToPath(new URL('../../../.causeway/programs/', import.meta.url));

export interface Run {
  stdout: string;
  /** The core's task index of the task that wrote the number `value` (each test writes distinct numbers). */
  taskWriting(value: number): number;
  edges: { from: number; to: number; kind: number }[];
  happensBefore(a: number, b: number): boolean;
  concurrent(a: number, b: number): boolean;
  findings: number;
  /** Every record of the trace, decoded. */
  records: RecordFields[];
  /** The core's tasks, with their local ids, in index order. */
  tasks: { index: number; localId: number }[];
}

/** Runs `source` as app.ts; with `imports`, somewhere it can import the workspace's packages from. */
export function run(source: string, env: Record<string, string> = {}, imports = false): Run {
  if (imports) mkdirSync(IN_REPOSITORY, { recursive: true });
  const dir = mkdtempSync(imports ? IN_REPOSITORY : join(tmpdir(), 'causeway-program-'));
  writeFileSync(join(dir, 'app.ts'), source);
  const traceFile = join(dir, 'app.cwtrace');
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'app.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1', ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  const { file, trace } = loadTraceFile(traceFile);
  try {
    const byLocal = new Map(trace.tasks().map((task) => [task.localId, task.index]));
    const writers = new Map<number, number>();
    const records = file.events.flatMap((chunk) => decodeRecords(chunk.records));
    for (const record of records) {
      if (record.kind === EventKind.Write && (record.flags & 7) === ValueTag.Number) {
        writers.set(record.b, byLocal.get(record.task) ?? -1);
      }
    }
    const edges = trace.edges();
    const tasks = trace.tasks().length;
    const before: boolean[][] = [];
    for (let a = 0; a < tasks; a++) {
      before.push([]);
      for (let b = 0; b < tasks; b++) before[a]?.push(trace.happensBefore(a, b));
    }
    const findings = trace.findings().length;
    return {
      stdout: result.stdout,
      taskWriting(value) {
        const task = writers.get(value);
        assert.ok(task !== undefined && task >= 0, `a task wrote ${value}`);
        return task;
      },
      edges,
      happensBefore: (a, b) => before[a]?.[b] === true,
      concurrent: (a, b) => a !== b && before[a]?.[b] !== true && before[b]?.[a] !== true,
      findings,
      records,
      tasks: trace.tasks().map(({ index, localId }) => ({ index, localId })),
    };
  } finally {
    trace.dispose();
  }
}

export const has = (r: Run, from: number, to: number, kind: number) =>
  r.edges.some((e) => e.from === from && e.to === to && e.kind === kind);
