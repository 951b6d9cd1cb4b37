/**
 * Where the commands that read traces get them: the trace directory (FileTraceSource) or, later,
 * a Causeway server. A trace is named by a file path or by a trace id, which matches a file's
 * name (without `.cwtrace`) or the traceId in its META chunk (a unique prefix is enough).
 */

import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import {
  buildTraceReport,
  type LoadedTrace,
  loadTraceFile,
  readTraceMeta,
  TRACE_FILE_EXTENSION,
  type TraceMeta,
  type TraceReport,
} from '@causeway/core';
import type { CausewayConfig } from './config.ts';
import { CliErrorCode, InputError, UsageError } from './errors.ts';
import { type Io, Progress } from './io.ts';

/** One line of `causeway traces`. */
export interface TraceSummary {
  traceId: string;
  service: string;
  startedAt: string;
  /** From the start to the END chunk, or to the last task's start when the recording did not finish. */
  durationMs: number | null;
  records: number;
  dropped: number;
  findings: number;
  finished: boolean;
  file: string;
}

/** What a command names: a path, or a trace id to look up. */
export type TraceRef = { path: string } | { traceId: string };

export interface TraceSource {
  /** Every trace, newest first. */
  list(io: Io): Promise<TraceSummary[]>;
  /** Loads one trace into the core; the caller disposes `loaded.trace`. */
  open(ref: TraceRef, io: Io): Promise<{ path: string; loaded: LoadedTrace }>;
}

/** Loading a trace bigger than this shows a progress line (on a terminal). */
const PROGRESS_BYTES = 4 * 1024 * 1024;

function isTraceFile(name: string): boolean {
  return extname(name) === TRACE_FILE_EXTENSION;
}

export class FileTraceSource implements TraceSource {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The trace files of the directory with their META, skipping files that are not traces. */
  #entries(): { path: string; meta: TraceMeta }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return [];
      throw new InputError(
        CliErrorCode.FILE,
        `${this.dir}: cannot read the trace directory (${code ?? (error as Error).message})`,
      );
    }
    const entries: { path: string; meta: TraceMeta }[] = [];
    for (const name of names.filter(isTraceFile).sort()) {
      const path = join(this.dir, name);
      const meta = readTraceMeta(path);
      if (meta !== null) entries.push({ path, meta });
    }
    return entries;
  }

  /** The file a trace id names; `latest` names the trace that started last. */
  resolve(traceId: string): string {
    const entries = this.#entries();
    if (entries.length === 0) {
      throw new InputError(
        CliErrorCode.TRACE_NOT_FOUND,
        `${this.dir}: no traces here. Record one with 'causeway run -- node app.js', or set traceDir (--trace-dir).`,
      );
    }
    if (traceId === 'latest') {
      const newest = [...entries].sort((x, y) => y.meta.startedAt.localeCompare(x.meta.startedAt))[0];
      return (newest as { path: string }).path;
    }
    const byName = entries.filter(({ path }) => basename(path, TRACE_FILE_EXTENSION) === traceId);
    if (byName.length === 1) return (byName[0] as { path: string }).path;
    const wanted = traceId.toLowerCase();
    const exact = entries.filter(({ meta }) => meta.traceId === wanted);
    const matches = exact.length > 0 ? exact : entries.filter(({ meta }) => meta.traceId.startsWith(wanted));
    if (matches.length === 1) return (matches[0] as { path: string }).path;
    if (matches.length > 1) {
      throw new InputError(
        CliErrorCode.TRACE_NOT_FOUND,
        `trace id '${traceId}' matches ${matches.length} traces in ${this.dir} (${matches
          .slice(0, 3)
          .map(({ path }) => basename(path))
          .join(', ')}${matches.length > 3 ? ', ...' : ''}); give more of the id`,
      );
    }
    throw new InputError(
      CliErrorCode.TRACE_NOT_FOUND,
      `no trace '${traceId}' in ${this.dir} (by file name or trace id). Run 'causeway traces' to list them.`,
    );
  }

  async open(ref: TraceRef, io: Io): Promise<{ path: string; loaded: LoadedTrace }> {
    const path = 'path' in ref ? ref.path : this.resolve(ref.traceId);
    const progress = new Progress(io);
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      // loadTraceFile says what is wrong with the path.
    }
    if (size > PROGRESS_BYTES) progress.update(`loading ${path} (${(size / 2 ** 20).toFixed(1)} MiB)...`);
    try {
      return { path, loaded: loadTraceFile(path) };
    } finally {
      progress.done();
    }
  }

  async list(io: Io): Promise<TraceSummary[]> {
    const entries = this.#entries();
    const progress = new Progress(io);
    const summaries: TraceSummary[] = [];
    try {
      entries.forEach(({ path }, i) => {
        progress.update(`reading traces ${i + 1}/${entries.length}: ${basename(path)}`);
        let loaded: LoadedTrace;
        try {
          loaded = loadTraceFile(path);
        } catch (error) {
          // One unusable file (a recording still being written, a truncated copy) does not hide the others.
          io.err(`causeway: skipped ${(error as Error).message}\n`);
          return;
        }
        try {
          summaries.push(summarize(path, buildTraceReport(path, loaded)));
        } finally {
          loaded.trace.dispose();
        }
      });
    } finally {
      progress.done();
    }
    return summaries.sort((x, y) => y.startedAt.localeCompare(x.startedAt) || x.file.localeCompare(y.file));
  }
}

export function summarize(path: string, report: TraceReport): TraceSummary {
  const started = Date.parse(report.meta.startedAt);
  const ended = report.end === null ? Number.NaN : Date.parse(report.end.endedAt);
  const lastStart = Math.max(...report.tasks.map((task) => task.beganMs ?? 0), 0);
  const durationMs = Number.isFinite(ended - started)
    ? ended - started
    : report.tasks.length > 0
      ? lastStart
      : null;
  return {
    traceId: report.meta.traceId,
    service: report.meta.service,
    startedAt: report.meta.startedAt,
    durationMs,
    records: report.stats.records,
    dropped: report.stats.dropped,
    findings: report.findings.length,
    finished: report.end !== null,
    file: path,
  };
}

/** The source a command reads from, per its settings. */
export function traceSource(config: CausewayConfig): FileTraceSource {
  if (config.server !== null) {
    throw new UsageError(
      `reading traces from a server (--server ${config.server}) is not available yet; ` +
        'read the trace directory instead (unset CAUSEWAY_SERVER / the config key server, or pass a trace file).',
    );
  }
  return new FileTraceSource(config.traceDir);
}

/**
 * Opens the trace a command was pointed at. A file path is read as it is, wherever the settings
 * say traces live; a trace id is looked up in the configured source.
 */
export function openTrace(
  config: CausewayConfig,
  ref: TraceRef,
  io: Io,
): Promise<{ path: string; loaded: LoadedTrace }> {
  const source = 'path' in ref ? new FileTraceSource(config.traceDir) : traceSource(config);
  return source.open(ref, io);
}

/** The trace a command was pointed at: a positional path, or --trace-id. */
export function traceRef(command: string, path: string | undefined, traceId: string | undefined): TraceRef {
  if (path !== undefined && traceId !== undefined) {
    throw new UsageError(
      `${command}: give a trace file or --trace-id, not both. Run 'causeway ${command} --help' for usage.`,
    );
  }
  if (traceId !== undefined) return { traceId };
  if (path !== undefined) return { path };
  throw new UsageError(
    `${command}: missing <trace-file> or --trace-id. Run 'causeway ${command} --help' for usage.`,
  );
}
