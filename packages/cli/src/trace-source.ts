/**
 * Where the commands that read traces get them: the trace directory (FileTraceSource) or a
 * Causeway server's REST API (ServerTraceSource, docs/rest-api.md). A trace is named by a file
 * path or by a trace id: a file's name (without `.cwtrace`), the traceId of its META chunk (a
 * unique prefix is enough), or `latest`. Several recordings of one distributed trace (one file
 * per service, joined by their HTTP exchanges: docs/propagation.md) open as one report.
 */

import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import {
  type AnomalyReport,
  buildRecordingsReport,
  buildTraceReport,
  type FailureReport,
  type FindingReport,
  type LoadedRecordings,
  type LoadedTrace,
  loadRecordings,
  loadTraceFile,
  mergedFile,
  REPORT_VERSION,
  readTraceFile,
  readTraceMeta,
  senderTraceIds,
  TRACE_FILE_EXTENSION,
  type TraceEvent,
  TraceEvents,
  type TraceMeta,
  type TraceReport,
} from '@causeway/core';
import type { RestClient, ServerTraceSummary } from '@causeway/tui';
import type { CausewayConfig } from './config.ts';
import { CliErrorCode, InputError, UsageError } from './errors.ts';
import { type Io, Progress } from './io.ts';

/** One line of `causeway traces`. */
export interface TraceSummary {
  traceId: string;
  service: string;
  startedAt: string;
  /**
   * From the start to the END chunk, or to the last task's start when the recording did not
   * finish. null when unknown (always, from a server: its list does not carry the end).
   */
  durationMs: number | null;
  records: number;
  dropped: number;
  /** null when a server has not analysed the trace since records last arrived. */
  findings: number | null;
  finished: boolean;
  /** The file, or the trace's URL on the server. */
  file: string;
}

/** What a command names: a path, or a trace id to look up. */
export type TraceRef = { path: string } | { traceId: string };

export interface OpenedTrace {
  /** The file, or the trace's URL. */
  where: string;
  report: TraceReport;
  /** Every event, when asked for. */
  events: TraceEvent[] | null;
}

export interface TraceSource {
  /** Where traces come from, for messages. */
  readonly where: string;
  /** Every trace, newest first. */
  list(io: Io): Promise<TraceSummary[]>;
  open(ref: TraceRef, io: Io, options?: { events?: boolean }): Promise<OpenedTrace>;
}

/** Loading a trace bigger than this shows a progress line (on a terminal). */
const PROGRESS_BYTES = 4 * 1024 * 1024;

function notFound(traceId: string, where: string): InputError {
  return new InputError(
    CliErrorCode.TRACE_NOT_FOUND,
    `no trace '${traceId}' in ${where} (by file name or trace id). Run 'causeway traces' to list them.`,
  );
}

/** The one trace among `candidates` that `traceId` names (by name, id, id prefix or `latest`). */
function pick<T extends { name: string; traceId: string; startedAt: string }>(
  candidates: readonly T[],
  traceId: string,
  where: string,
): T {
  if (candidates.length === 0) {
    throw new InputError(
      CliErrorCode.TRACE_NOT_FOUND,
      `${where}: no traces here. Record one with 'causeway run -- node app.js', or set traceDir (--trace-dir).`,
    );
  }
  if (traceId === 'latest') {
    return [...candidates].sort((x, y) => y.startedAt.localeCompare(x.startedAt))[0] as T;
  }
  const byName = candidates.filter((candidate) => candidate.name === traceId);
  if (byName.length === 1) return byName[0] as T;
  const wanted = traceId.toLowerCase();
  const exact = candidates.filter((candidate) => candidate.traceId === wanted);
  const matches =
    exact.length > 0 ? exact : candidates.filter((candidate) => candidate.traceId.startsWith(wanted));
  if (matches.length === 1) return matches[0] as T;
  if (matches.length > 1) {
    throw new InputError(
      CliErrorCode.TRACE_NOT_FOUND,
      `trace id '${traceId}' matches ${matches.length} traces in ${where} (${matches
        .slice(0, 3)
        .map((match) => match.name)
        .join(', ')}${matches.length > 3 ? ', ...' : ''}); give more of the id`,
    );
  }
  throw notFound(traceId, where);
}

export class FileTraceSource implements TraceSource {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get where(): string {
    return this.dir;
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
    for (const name of names.filter((file) => extname(file) === TRACE_FILE_EXTENSION).sort()) {
      const path = join(this.dir, name);
      const meta = readTraceMeta(path);
      if (meta !== null) entries.push({ path, meta });
    }
    return entries;
  }

  /** The file a trace id names; `latest` names the trace that started last. */
  resolve(traceId: string): string {
    const candidates = this.#entries().map(({ path, meta }) => ({
      path,
      name: basename(path, TRACE_FILE_EXTENSION),
      traceId: meta.traceId,
      startedAt: meta.startedAt,
    }));
    return pick(candidates, traceId, this.dir).path;
  }

  /**
   * The file `traceId` names and every file of the directory joined to it by HTTP exchanges:
   * recordings that handled requests it (or one of them) sent, and recordings that sent requests
   * it handled, transitively. The named file first, the others in directory order. Only files
   * whose recording overlaps in time with a linked one are read.
   */
  resolveLinked(traceId: string): string[] {
    const first = this.resolve(traceId);
    const entries = this.#entries();
    const senders = new Map<string, Set<string>>();
    const sendersOf = (path: string): Set<string> => {
      let ids = senders.get(path);
      if (ids === undefined) {
        try {
          ids = senderTraceIds(readTraceFile(path));
        } catch {
          // An unreadable file joins nothing; opening the named one reports its own errors.
          ids = new Set();
        }
        senders.set(path, ids);
      }
      return ids;
    };
    const idOf = new Map(entries.map(({ path, meta }) => [path, meta.traceId]));
    // Joined recordings ran at the same time (one sent while the other handled), so only files
    // whose recording overlaps a linked one's, from its start to the file's last write, are read:
    // the rest of a large directory is not.
    const spans = new Map(
      entries.map(({ path, meta }) => [
        path,
        [Date.parse(meta.startedAt), statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Number.NaN],
      ]),
    );
    const overlaps = (a: string, b: string): boolean => {
      const [startA = Number.NaN, endA = Number.NaN] = spans.get(a) ?? [];
      const [startB = Number.NaN, endB = Number.NaN] = spans.get(b) ?? [];
      // Unknown times do not exclude a file.
      return !(startA > endB || startB > endA);
    };
    const linked = [first];
    const ids = new Set([idOf.get(first)]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const { path, meta } of entries) {
        if (linked.includes(path) || !linked.some((other) => overlaps(path, other))) continue;
        const joins =
          [...sendersOf(path)].some((id) => ids.has(id)) ||
          linked.some((other) => sendersOf(other).has(meta.traceId));
        if (joins) {
          linked.push(path);
          ids.add(meta.traceId);
          grew = true;
        }
      }
    }
    return linked;
  }

  /** Loads several recordings into one trace and reports on it. */
  openRecordings(paths: readonly string[], io: Io, options: { events?: boolean } = {}): OpenedTrace {
    const progress = new Progress(io);
    const size = paths.reduce((sum, path) => sum + (statSync(path, { throwIfNoEntry: false })?.size ?? 0), 0);
    if (size > PROGRESS_BYTES)
      progress.update(`loading ${paths.length} traces (${(size / 2 ** 20).toFixed(1)} MiB)...`);
    let loaded: LoadedRecordings;
    try {
      loaded = loadRecordings(paths);
    } finally {
      progress.done();
    }
    try {
      const report = buildRecordingsReport(paths, loaded);
      let events: TraceEvent[] | null = null;
      if (options.events) {
        const all = TraceEvents.of({ file: mergedFile(loaded), trace: loaded.trace });
        events = all.slice(0, all.length);
      }
      return { where: paths.join(' '), report, events };
    } finally {
      loaded.trace.dispose();
    }
  }

  /** Loads one trace into the core; the caller disposes `loaded.trace`. */
  load(ref: TraceRef, io: Io): { path: string; loaded: LoadedTrace } {
    const path = 'path' in ref ? ref.path : this.resolve(ref.traceId);
    const progress = new Progress(io);
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    if (size > PROGRESS_BYTES) progress.update(`loading ${path} (${(size / 2 ** 20).toFixed(1)} MiB)...`);
    try {
      return { path, loaded: loadTraceFile(path) };
    } finally {
      progress.done();
    }
  }

  async open(ref: TraceRef, io: Io, options: { events?: boolean } = {}): Promise<OpenedTrace> {
    const { path, loaded } = this.load(ref, io);
    try {
      const report = buildTraceReport(path, loaded);
      let events: TraceEvent[] | null = null;
      if (options.events) {
        const all = TraceEvents.of(loaded);
        events = all.slice(0, all.length);
      }
      return { where: path, report, events };
    } finally {
      loaded.trace.dispose();
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

/** A request that takes longer than this is abandoned with an error, not waited on forever. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Largest page the REST API serves. */
const PAGE = 1000;

/**
 * Traces on a Causeway server, through its REST API v1 (docs/rest-api.md). It is also the TUI's
 * REST client (`causeway tui --server`).
 */
export class ServerTraceSource implements TraceSource, RestClient {
  readonly base: string;
  readonly #apiKey: string | null;

  constructor(base: string, apiKey: string | null) {
    this.base = base.replace(/\/+$/, '');
    this.#apiKey = apiKey;
  }

  get where(): string {
    return this.base;
  }

  /** The headers every request sends (the API key); also for the TUI's live stream. */
  headers(): Record<string, string> {
    return this.#apiKey === null ? {} : { 'x-causeway-api-key': this.#apiKey };
  }

  /**
   * GETs `path` (under the base URL) as JSON; an unreachable server, a refusal or an answer that
   * is not JSON is thrown as an InputError whose message says it in one line. The TUI's server
   * source reads through this too.
   */
  async get<T>(path: string): Promise<T> {
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: this.headers(),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause =
        (error as Error).name === 'TimeoutError'
          ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s`
          : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
      throw new InputError(
        CliErrorCode.SERVER,
        `cannot reach the Causeway server at ${this.base} (${cause}); start it with 'causeway serve', or check --server`,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new InputError(
        CliErrorCode.SERVER,
        `${url}: answered ${response.status} with something that is not JSON; is ${this.base} a Causeway server?`,
      );
    }
    if (!response.ok) {
      const { code, message } = (body ?? {}) as { code?: string; message?: string };
      throw new InputError(
        code === 'CW_SERVER_TRACE_NOT_FOUND' ? CliErrorCode.TRACE_NOT_FOUND : CliErrorCode.SERVER,
        `${url}: ${response.status} ${code ?? ''}${message === undefined ? '' : `: ${message}`}`.trim(),
      );
    }
    return body as T;
  }

  /** Every trace the server lists, through all its pages. */
  async listTraces(): Promise<ServerTraceSummary[]> {
    const all: ServerTraceSummary[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page: { traces: ServerTraceSummary[]; next: number | null } = await this.get(
        `/v1/traces?limit=${PAGE}&offset=${offset}`,
      );
      all.push(...page.traces);
      offset = page.next;
    }
    return all;
  }

  async list(): Promise<TraceSummary[]> {
    return (await this.listTraces()).map((trace) => {
      return {
        traceId: trace.traceId,
        service: trace.service,
        startedAt: trace.startedAt,
        // The list does not say when a recording ended, and asking each trace would analyse each.
        durationMs: null,
        records: trace.records,
        dropped: trace.dropped,
        findings: trace.findings,
        finished: trace.ended,
        file: `${this.base}/v1/traces/${trace.traceId}`,
      };
    });
  }

  /** The trace id `traceId` names on the server: a whole id, a unique prefix, or `latest`. */
  async resolve(traceId: string): Promise<string> {
    if (/^[0-9a-f]{32}$/.test(traceId)) return traceId;
    const candidates = (await this.listTraces()).map((trace) => ({ ...trace, name: trace.traceId }));
    return pick(candidates, traceId, this.base).traceId;
  }

  async open(ref: TraceRef, _io: Io, options: { events?: boolean } = {}): Promise<OpenedTrace> {
    if ('path' in ref) throw new Error('ServerTraceSource.open: a file path is read from disk');
    const id = await this.resolve(ref.traceId);
    const path = `/v1/traces/${id}`;
    const [detail, graph, { findings, failures, anomalies }] = await Promise.all([
      this.get<Pick<TraceReport, 'meta' | 'streams' | 'end'> & { stats: TraceReport['stats'] }>(path),
      this.get<Pick<TraceReport, 'tasks' | 'edges'>>(`${path}/graph`),
      this.get<{ findings: FindingReport[]; failures: FailureReport[]; anomalies: AnomalyReport[] }>(
        `${path}/findings`,
      ),
    ]);
    const { records, dropped, tasks, chains, orphanTasks, unmatchedResumes } = detail.stats;
    const report: TraceReport = {
      reportVersion: REPORT_VERSION,
      file: `${this.base}${path}`,
      meta: detail.meta,
      streams: detail.streams,
      end: detail.end,
      stats: { records, dropped, tasks, chains, orphanTasks, unmatchedResumes },
      findings,
      failures,
      anomalies,
      tasks: graph.tasks,
      edges: graph.edges,
    };
    let events: TraceEvent[] | null = null;
    if (options.events) {
      events = [];
      let from: number | null = 0;
      while (from !== null) {
        const page: { events: TraceEvent[]; next: number | null } = await this.get(
          `${path}/events?from=${from}&limit=${PAGE}`,
        );
        events.push(...page.events);
        from = page.next;
      }
    }
    return { where: report.file, report, events };
  }
}

/** The source a command reads from, per its settings. */
export function traceSource(config: CausewayConfig): TraceSource {
  return config.server !== null
    ? new ServerTraceSource(config.server, config.apiKey)
    : new FileTraceSource(config.traceDir);
}

/**
 * Opens the trace a command was pointed at. A file path is read from disk whatever the settings
 * say; a trace id is looked up in the configured source.
 */
export function openTrace(
  config: CausewayConfig,
  ref: TraceRef,
  io: Io,
  options: { events?: boolean } = {},
): Promise<OpenedTrace> {
  const source = 'path' in ref ? new FileTraceSource(config.traceDir) : traceSource(config);
  return source.open(ref, io, options);
}

/**
 * Opens what `analyze` or `export` was pointed at: one or more trace files, or --trace-id, which
 * in the trace directory also brings in the recordings joined to it (`resolveLinked`). Several
 * recordings open as one report; one opens as before.
 */
export function openTraces(
  config: CausewayConfig,
  command: string,
  paths: readonly string[],
  traceId: string | undefined,
  io: Io,
  options: { events?: boolean } = {},
): Promise<OpenedTrace> {
  if (paths.length > 1 && traceId !== undefined) traceRef(command, paths[0], traceId);
  const files = new FileTraceSource(config.traceDir);
  if (paths.length > 1) return Promise.resolve(files.openRecordings(paths, io, options));
  if (traceId !== undefined && config.server === null) {
    const linked = files.resolveLinked(traceId);
    if (linked.length > 1) return Promise.resolve(files.openRecordings(linked, io, options));
  }
  return openTrace(config, traceRef(command, paths[0], traceId), io, options);
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
