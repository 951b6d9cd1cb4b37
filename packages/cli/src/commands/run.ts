/**
 * `causeway run -- <command> [args]`: starts a program with on-the-fly instrumentation. Node
 * processes it starts load @causeway/instrumentation/register through NODE_OPTIONS and record into
 * the configured trace directory; the program's exit code is passed through.
 */

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readTraceMeta, TRACE_FILE_EXTENSION } from '@causeway/core';
import { parseCommandArgs } from '../args.ts';
import { loadConfig, runtimeEnvironment } from '../config.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

export const RUN_HELP = `Usage: causeway run [options] -- <command> [args...]

Starts <command> with Causeway recording: every Node.js process it starts loads
@causeway/instrumentation/register (through NODE_OPTIONS), which instruments the program's
modules as they load and writes a trace into the trace directory. When the command ends,
prints where the traces went, and exits with the command's exit code.

Options:
  --service NAME      the name traces are filed under (default: the entry file's name;
                      config service, CAUSEWAY_SERVICE)
  --trace-dir DIR     where traces are written (default .causeway/traces; config traceDir,
                      CAUSEWAY_TRACE_DIR)
  --accesses LEVEL    which property accesses to record: all (default), writes (cheaper; finds
                      write-write races only) or off (config accesses, CAUSEWAY_ACCESSES)
  --ring-records N    ring capacity in records, a power of two (config ringRecords,
                      CAUSEWAY_RING_RECORDS)
  --sampling-rate R   the fraction of traces recorded, 0 to 1, decided per trace id (default
                      1; config samplingRate, CAUSEWAY_SAMPLING_RATE)
  -h, --help          show this help

Examples:
  causeway run -- node server.js
  causeway run --service billing -- node --env-file=.env src/main.ts
  causeway run -- node --test test/transfer.test.ts && causeway analyze --trace-id latest

Exit code: the command's (128 + the signal's number when a signal ended it); 2 when it cannot start.
`;

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/** NODE_OPTIONS with the register hook added, keeping what the user had. */
export function nodeOptions(existing: string | undefined): string {
  const register = import.meta.resolve('@causeway/instrumentation/register');
  // A file URL has no spaces, so it needs no quoting inside NODE_OPTIONS.
  const ours = `--import=${register}`;
  return existing === undefined || existing.trim() === '' ? ours : `${existing} ${ours}`;
}

/** Trace files in `dir` written since `since` (ms since the epoch), oldest first. */
function tracesSince(dir: string, since: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith(TRACE_FILE_EXTENSION))
    .map((name) => join(dir, name))
    .map((path) => ({ path, mtime: statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .filter(({ mtime }) => mtime >= since)
    .sort((x, y) => x.mtime - y.mtime)
    .map(({ path }) => path);
}

export async function runCommand(args: string[], io: Io): Promise<number> {
  const separator = args.indexOf('--');
  const own = separator === -1 ? args : args.slice(0, separator);
  const { values, positionals } = parseCommandArgs('run', own, {
    service: { type: 'string' },
    'trace-dir': { type: 'string' },
    accesses: { type: 'string' },
    'ring-records': { type: 'string' },
    'sampling-rate': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(RUN_HELP);
    return ExitCode.Ok;
  }
  const command = separator === -1 ? positionals : [...positionals, ...args.slice(separator + 1)];
  const [program, ...programArgs] = command;
  if (program === undefined) {
    throw new UsageError(
      "run: missing the command to run, after '--'. Example: causeway run -- node server.js",
    );
  }
  const { config } = await loadConfig({
    flags: {
      service: values.service,
      traceDir: values['trace-dir'],
      accesses: values.accesses,
      ringRecords: values['ring-records'],
      samplingRate: values['sampling-rate'],
    },
  });
  const env = {
    ...process.env,
    ...runtimeEnvironment(config),
    NODE_OPTIONS: nodeOptions(process.env.NODE_OPTIONS),
  };
  // A trace file's mtime is at or after the program's start; allow for coarse file-system clocks.
  const started = Date.now() - 1000;
  const child = spawn(program, programArgs, { env, stdio: 'inherit' });
  // Ctrl-C reaches the program through the terminal; this process waits for it to finish its trace.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `run: cannot start '${program}' (${code === 'ENOENT' ? 'no such command on PATH' : (code ?? (error as Error).message)})`,
    );
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
  }

  const written = tracesSince(config.traceDir, started);
  if (written.length === 0) {
    io.err(
      `causeway: no trace was written to ${config.traceDir} (did the command start a Node.js process? Causeway records only those).\n`,
    );
  } else {
    for (const path of written) {
      const meta = readTraceMeta(path);
      io.err(`causeway: trace ${meta?.traceId ?? '?'} (${meta?.service ?? '?'}) written to ${path}\n`);
    }
    io.err("causeway: see the findings with 'causeway analyze --trace-id latest'\n");
  }
  if (exit.signal !== null) return 128 + (SIGNAL_NUMBERS[exit.signal] ?? 0);
  return exit.code ?? 0;
}
