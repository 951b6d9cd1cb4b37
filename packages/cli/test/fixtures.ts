// Traces and a fake Io for the CLI's tests: small trace files written with the core's writer.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventKind, encodeRecords, SiteKind, type SiteRow, ValueTag } from '@causeway/core/event-format';
import { TraceFileWriter } from '@causeway/core/trace-file';
import type { Io } from '../src/io.ts';
import { run } from '../src/main.ts';

export const BIN = fileURLToPath(import.meta.resolve('../bin/causeway.js'));

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'causeway-cli-'));
}

/** Runs the real executable in `cwd`, with CAUSEWAY_* variables cleared and `env` added. */
export function causewayIn(cwd: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('CAUSEWAY_')),
  );
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...clean, ...env } });
}

/** `run()` in-process with a buffering Io; CAUSEWAY_* variables are cleared for the call. */
export async function runIn(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out(text) {
      stdout += text;
    },
    err(text) {
      stderr += text;
    },
    errIsTTY: false,
  };
  const saved = { ...process.env };
  const savedCwd = process.cwd();
  for (const key of Object.keys(process.env)) if (key.startsWith('CAUSEWAY_')) delete process.env[key];
  Object.assign(process.env, env);
  process.chdir(cwd);
  try {
    const status = await run(args, io);
    return { status, stdout, stderr };
  } finally {
    process.chdir(savedCwd);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

export interface TraceOptions {
  traceId?: string;
  service?: string;
  startedAt?: string;
  /** Leave the END chunk out, like a crashed recording. */
  unfinished?: boolean;
  /** writeTrace: synchronous calls of `buy` the root task makes first (two records each), to make a long trace. */
  calls?: number;
}

function after(options: TraceOptions, ms: number): string {
  return new Date(Date.parse(options.startedAt ?? '2026-11-23T10:00:00.000Z') + ms).toISOString();
}

/** Creates `path` with META, one stream and one file's site table. */
function startTrace(
  path: string,
  options: TraceOptions,
  defaults: { traceId: string; service: string },
  file: string,
  sites: SiteRow[],
): TraceFileWriter {
  mkdirSync(join(path, '..'), { recursive: true });
  const writer = TraceFileWriter.create(path, {
    traceId: options.traceId ?? defaults.traceId,
    service: options.service ?? defaults.service,
    pid: 1,
    startedAt: options.startedAt ?? '2026-11-23T10:00:00.000Z',
    node: '24.0.0',
    causeway: '0.1.0',
  });
  writer.stream({ stream: 1, pid: 1, thread: 0, epochMs: 0 });
  writer.sites({ stream: 1, base: 1, table: { v: 1, file, sites } });
  return writer;
}

/** A small trace with no race: root task 1 suspends invocations 7 and 8; tasks 2 and 3 continue them. */
export function writeTrace(path: string, options: TraceOptions = {}): string {
  const writer = startTrace(
    path,
    options,
    { traceId: '0123456789abcdef0123456789abcdef', service: 'shop' },
    'src/shop.ts',
    [
      [SiteKind.Function, 3, 1, 'buy', ''],
      [SiteKind.Await, 4, 9, 'buy', ''],
    ],
  );
  let seq = 0;
  const r = (kind: number, task: number, site: number, a: number, b = 0) => ({
    kind,
    flags: 0,
    seq: seq++,
    task,
    site,
    a,
    b,
  });
  const begin = r(EventKind.TaskBegin, 1, 0, 0);
  const calls = Array.from({ length: options.calls ?? 0 }, (_, i) => [
    r(EventKind.FnEnter, 1, 1, 100 + i),
    r(EventKind.FnExit, 1, 1, 100 + i),
  ]).flat();
  writer.events(
    1,
    encodeRecords([
      begin,
      ...calls,
      r(EventKind.FnEnter, 1, 1, 7),
      r(EventKind.AwaitSuspend, 1, 2, 7),
      r(EventKind.FnEnter, 1, 1, 8),
      r(EventKind.AwaitSuspend, 1, 2, 8),
      r(EventKind.AwaitResume, 2, 2, 7, 1.5),
      r(EventKind.AwaitResume, 3, 2, 8, 2.25),
    ]),
  );
  if (!options.unfinished) writer.end({ records: seq, dropped: 0, endedAt: after(options, 1000) });
  return path;
}

/**
 * Two withdrawals (invocations 7 and 8) each await, read the balance, await, write it: one lost
 * update on object #1 .balance, tasks #2 (read 100), #3 (wrote 70), #4 (wrote 50).
 */
export function writeLostUpdateTrace(path: string, options: TraceOptions = {}): string {
  const writer = startTrace(
    path,
    options,
    { traceId: 'fedcba9876543210fedcba9876543210', service: 'bank' },
    'src/bank.ts',
    [
      [SiteKind.Function, 3, 1, 'withdraw', ''],
      [SiteKind.Await, 4, 9, 'withdraw', ''],
      [SiteKind.Read, 5, 20, 'withdraw', 'balance'],
      [SiteKind.Write, 6, 11, 'withdraw', 'balance'],
    ],
  );
  writer.strings({ stream: 1, first: 1, strings: ['balance'] });
  const balance = 1 + 1 * 2 ** 32; // object 1, key 1
  let seq = 0;
  const r = (kind: number, task: number, site: number, a: number, b = 0, flags = 0) => ({
    kind,
    flags,
    seq: seq++,
    task,
    site,
    a,
    b,
  });
  writer.events(
    1,
    encodeRecords([
      r(EventKind.TaskBegin, 1, 0, 0),
      r(EventKind.AwaitSuspend, 1, 2, 7),
      r(EventKind.AwaitSuspend, 1, 2, 8),
      r(EventKind.AwaitResume, 2, 2, 7, 1),
      r(EventKind.Read, 2, 3, balance, 100, ValueTag.Number),
      r(EventKind.AwaitSuspend, 2, 2, 7),
      r(EventKind.AwaitResume, 3, 2, 8, 2),
      r(EventKind.Read, 3, 3, balance, 100, ValueTag.Number),
      r(EventKind.AwaitSuspend, 3, 2, 8),
      r(EventKind.AwaitResume, 4, 2, 7, 3),
      r(EventKind.Write, 4, 4, balance, 70, ValueTag.Number),
      r(EventKind.AwaitResume, 5, 2, 8, 4),
      r(EventKind.Write, 5, 4, balance, 50, ValueTag.Number),
    ]),
  );
  if (!options.unfinished) writer.end({ records: seq, dropped: 0, endedAt: after(options, 1500) });
  return path;
}
