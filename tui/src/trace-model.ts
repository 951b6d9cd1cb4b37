/**
 * A loaded trace as the TUI shows it: the timeline's rows, the causal relationships, details and
 * time-travel state of one event, the findings in words. Everything is computed for the event
 * asked about (or the rows on screen), never for the whole trace per key, so a million-event
 * trace stays interactive.
 */

import {
  type AnomalyReport,
  buildAnomalyReports,
  buildFailureReports,
  buildFindingReports,
  CausalTrace,
  EDGE_KIND_NAMES,
  type EdgeKind,
  EventKind,
  type FailureReport,
  type FindingReport,
  type LocationState,
  RECORD_SIZE,
  type Site,
  SiteKind,
  siteLocation,
  type Task,
  type TraceEvent,
  TraceEvents,
  type TraceFile,
  type TraceStats,
} from '@causeway/core';
import { DB_SITE_FILE } from '@causeway/core/event-format';
import type { SourceLines } from './source-lines.ts';
import type { RowSet } from './state.ts';
import type { TraceView } from './trace-view.ts';

/** A task as the causal pane names it. */
export interface TaskSummary {
  task: number;
  /** `chain.position`, e.g. `1.3`. */
  chain: string;
  beganMs: number | null;
  /** What began it: `await src/a.ts:12:3 in f`, `callback f`, `program start`. */
  began: string;
}

export interface CausalLink {
  kind: string;
  other: TaskSummary;
}

export interface CausalView {
  task: TaskSummary;
  /** Edges into the event's task: what caused it (the first LINK_LIMIT), and how many in all. */
  causedBy: CausalLink[];
  causedByTotal: number;
  /** Edges out of it: what it caused (the first LINK_LIMIT), and how many in all. */
  caused: CausalLink[];
  causedTotal: number;
  /** Tasks unordered with it, in task order, at most `limit`; `more` says whether there are others. */
  concurrent: number[];
  more: boolean;
  /** Why concurrency is not known (a server that serves no clocks); null when `concurrent` says it. */
  concurrentNote: string | null;
}

export interface EventDetails {
  event: TraceEvent;
  /** `src/account.ts:12:5`, or null when the record names no known site. */
  location: string | null;
  /** The source line at the site, read from disk when the file is there. */
  sourceLine: string | null;
  task: TaskSummary | null;
  /**
   * The task's vector clock, one component per chain; null when not asked for (a trace with
   * thousands of chains has clocks that long, so the compact pane leaves it to the Enter view).
   */
  clock: number[] | null;
  /** Why no clock can be shown at all (a server that serves none); null otherwise. */
  clockNote: string | null;
  /** How many chains (clock components) the trace has. */
  chains: number;
  /** Numbers (1-based) of the findings this event takes part in. */
  findings: number[];
  /** The call stack at the event, outermost first (`withdraw src/a.ts:3`); null when not known. */
  stack: string[] | null;
}

const CONCURRENT_LIMIT = 8;
/** Edges listed per direction in the causal pane. */
const LINK_LIMIT = 16;
/** Clocks of at most this many chains are shown in the compact details pane. */
const SHORT_CLOCK = 64;

/** Records handed to the core per step of the analysis: about 10 ms of work between two frames. */
const ANALYSIS_BATCH = 4096;

export interface AnalysisState {
  done: boolean;
  /** Share of the records the core has taken, 0 to 1. */
  fraction: number;
  /** Why the core refused the trace; null when it did not. */
  error: string | null;
}

export class TraceModel implements TraceView {
  readonly name: string;
  readonly path: string;
  readonly file: TraceFile;
  readonly events: TraceEvents;
  /** What the core found; empty until the analysis is done. */
  tasks: readonly Task[] = [];
  findings: readonly FindingReport[] = [];
  failures: readonly FailureReport[] = [];
  anomalies: readonly AnomalyReport[] = [];
  /** A trace file is read whole: nothing is followed. */
  readonly live = false;
  readonly status: string | null = null;
  stats: TraceStats | null = null;
  /** Sorted event indices of the findings' accesses: the timeline's rows with `a`. */
  findingEvents: Uint32Array = new Uint32Array(0);
  readonly analysis: AnalysisState = { done: false, fraction: 0, error: null };
  #trace: CausalTrace | null = null;
  #disposed = false;
  #lastClock: { task: number; clock: number[] } | null = null;
  readonly #sources: SourceLines;
  readonly #incoming = new Map<number, { from: number; kind: EdgeKind }[]>();
  readonly #outgoing = new Map<number, { to: number; kind: EdgeKind }[]>();
  readonly #findingsOfEvent = new Map<number, number[]>();
  readonly #concurrentCache = new Map<number, { tasks: number[]; more: boolean }>();
  readonly #allRows: RowSet;
  #findingRows: RowSet;

  /**
   * A trace file's events, ready to show; the causal analysis (tasks, edges, findings) comes
   * from `analyze`, which the UI runs after its first frame.
   */
  constructor(name: string, path: string, file: TraceFile, sources: SourceLines) {
    this.name = name;
    this.path = path;
    this.file = file;
    this.#sources = sources;
    this.events = new TraceEvents(file);
    this.#allRows = {
      length: this.events.length,
      eventAt: (row) => row,
      rowAtOrBefore: (event) => Math.max(0, Math.min(event, this.events.length - 1)),
      find: (query, from, direction) => this.#find(query, from, direction, this.events.length, (r) => r),
    };
    this.#findingRows = this.#rowsOf(this.findingEvents);
  }

  /**
   * Hands the records to the core a batch at a time, yielding between batches so that keys keep
   * working on a large trace; `onProgress` hears the fraction done. Refused records end the
   * analysis with `analysis.error` set; the events stay on screen.
   */
  async analyze(onProgress: (fraction: number) => void = () => {}): Promise<void> {
    if (this.#trace !== null || this.analysis.done || this.#disposed) return;
    const trace = CausalTrace.create();
    this.#trace = trace;
    const total = Math.max(1, this.events.length);
    let taken = 0;
    try {
      for (const chunk of this.file.events) {
        for (let at = 0; at < chunk.records.byteLength; at += ANALYSIS_BATCH * RECORD_SIZE) {
          const batch = chunk.records.subarray(at, at + ANALYSIS_BATCH * RECORD_SIZE);
          trace.ingest(chunk.stream, batch, `${this.path}: stream ${chunk.stream}`);
          taken += batch.byteLength / RECORD_SIZE;
          this.analysis.fraction = taken / total;
          onProgress(this.analysis.fraction);
          await new Promise((resolve) => setImmediate(resolve));
          if (this.#disposed) return;
        }
      }
      this.#takeResults(trace);
      // Index the writes now, between frames, so that the first `t` answers at once.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#disposed) return;
      if (this.events.length > 0) this.events.recentWrites(0, 1);
    } catch (error) {
      this.analysis.error = error instanceof Error ? error.message : String(error);
      this.#trace = null;
      trace.dispose();
    }
    this.analysis.done = true;
    onProgress(1);
  }

  #takeResults(trace: CausalTrace): void {
    this.tasks = trace.tasks();
    this.events.assignTasks(this.tasks);
    this.stats = trace.stats();
    this.failures = buildFailureReports(trace.failures(), this.tasks, this.events.sites);
    this.anomalies = buildAnomalyReports(
      trace.anomalies(),
      this.tasks,
      this.events.sites,
      this.file.end !== null,
    );
    const raw = trace.findings();
    this.findings = buildFindingReports(raw, this.events.sites, this.events.strings);
    raw.forEach((finding, number) => {
      for (const access of finding.accesses) {
        const index = this.events.locate(finding.stream, access.seq);
        if (index < 0) continue;
        const list = this.#findingsOfEvent.get(index) ?? [];
        if (!list.includes(number + 1)) list.push(number + 1);
        this.#findingsOfEvent.set(index, list);
      }
    });
    this.findingEvents = Uint32Array.from([...this.#findingsOfEvent.keys()].sort((a, b) => a - b));
    this.#findingRows = this.#rowsOf(this.findingEvents);
    for (const edge of trace.edges()) {
      const into = this.#incoming.get(edge.to) ?? [];
      into.push({ from: edge.from, kind: edge.kind });
      this.#incoming.set(edge.to, into);
      const out = this.#outgoing.get(edge.from) ?? [];
      out.push({ to: edge.to, kind: edge.kind });
      this.#outgoing.set(edge.from, out);
    }
  }

  #rowsOf(only: Uint32Array): RowSet {
    return {
      length: only.length,
      eventAt: (row) => only[row] as number,
      rowAtOrBefore: (event) => Math.max(0, upperBound(only, event) - 1),
      find: (query, from, direction) =>
        this.#find(query, from, direction, only.length, (r) => only[r] as number),
    };
  }

  get eventCount(): number {
    return this.events.length;
  }

  /** Nothing changes a file's model once it is analysed: `analyze` reports its own progress. */
  subscribe(_listener: () => void): () => void {
    return () => {};
  }

  headline(): string {
    const events = plural(this.events.length, 'event');
    if (!this.analysis.done) return `${events} · analysing ${Math.floor(this.analysis.fraction * 100)}%`;
    if (this.analysis.error !== null) return `${events} · analysis failed`;
    const dropped = this.stats !== null && this.stats.dropped > 0 ? ` · ${this.stats.dropped} dropped` : '';
    // The recording process died before closing its file: what was written is shown.
    const unfinished = this.file.end === null ? ' · unfinished recording' : '';
    return `${events} · ${plural(this.tasks.length, 'task')} · ${plural(this.findings.length, 'finding')}${dropped}${unfinished}`;
  }

  rows(findingsOnly: boolean): RowSet {
    return findingsOnly ? this.#findingRows : this.#allRows;
  }

  findingsOf(event: number): readonly number[] {
    return this.#findingsOfEvent.get(event) ?? [];
  }

  /** One timeline row: what happened, in which task, where. */
  eventLine(index: number): string {
    return formatEventLine(this.events.at(index), this.events.length);
  }

  /** Is event `index` one a search for `query` (lower case) finds? Function, file, property, value. */
  matches(index: number, query: string): boolean {
    const event = this.events.at(index);
    const { site, access } = event;
    if (site !== null && (contains(site.functionName, query) || contains(site.file, query))) return true;
    if (access === null) return false;
    return contains(access.property, query) || (access.value !== null && contains(access.value, query));
  }

  /**
   * `matches`, cheaper over many events: whether a site matches is decided once per site, and
   * only reads and writes whose site does not match are decoded (for their property and value).
   */
  #matcher(query: string): (index: number) => boolean {
    const bySite = new Map<number, boolean>();
    return (index) => {
      const key = this.events.siteKeyAt(index);
      let siteMatches = bySite.get(key);
      if (siteMatches === undefined) {
        const site = this.events.sites.lookup(Math.floor(key / 2 ** 32), key % 2 ** 32);
        siteMatches = site !== null && (contains(site.functionName, query) || contains(site.file, query));
        bySite.set(key, siteMatches);
      }
      if (siteMatches) return true;
      const kind = this.events.kindAt(index);
      if (kind !== EventKind.Read && kind !== EventKind.Write) return false;
      return this.matches(index, query);
    };
  }

  summary(task: number): TaskSummary {
    const t = this.tasks[task] as Task;
    const site = this.events.sites.lookup(t.stream, t.beginSite);
    const first = this.events.locate(t.stream, t.firstSeq);
    const firstKind = first < 0 ? 0 : this.events.kindAt(first);
    return {
      task,
      chain: `${t.chain}.${t.position}`,
      beganMs: t.beginMs,
      began: describeBegin(t, site, firstKind),
    };
  }

  causal(index: number): CausalView | null {
    const task = this.events.taskAt(index);
    if (task < 0 || this.#trace === null) return null;
    const { tasks, more } = this.#concurrentWith(task);
    const incoming = this.#incoming.get(task) ?? [];
    const outgoing = this.#outgoing.get(task) ?? [];
    // A task can cause thousands (a server's start awaits every request): a pane shows a few.
    return {
      task: this.summary(task),
      causedBy: incoming.slice(0, LINK_LIMIT).map((e) => ({
        kind: EDGE_KIND_NAMES[e.kind] ?? `kind ${e.kind}`,
        other: this.summary(e.from),
      })),
      causedByTotal: incoming.length,
      caused: outgoing.slice(0, LINK_LIMIT).map((e) => ({
        kind: EDGE_KIND_NAMES[e.kind] ?? `kind ${e.kind}`,
        other: this.summary(e.to),
      })),
      causedTotal: outgoing.length,
      concurrent: tasks,
      more,
      concurrentNote: null,
    };
  }

  /** Details of event `index`; the clock only with `clock` true, or when it is short. */
  details(index: number, clock = false): EventDetails {
    const event = this.events.at(index);
    const task = event.task < 0 ? null : this.summary(event.task);
    const chains = this.stats?.chains ?? 0;
    return {
      event,
      location: event.site === null ? null : siteLocation(event.site),
      sourceLine: event.site === null ? null : this.#sources.line(event.site.file, event.site.line),
      task,
      clock: clock || chains <= SHORT_CLOCK ? this.#clockOf(event.task) : null,
      clockNote: null,
      chains,
      findings: [...this.findingsOf(index)],
      stack: this.events.stackAt(index).map((site) => `${site.functionName} ${siteLocation(site)}`),
    };
  }

  /** The last clock asked for is kept: moving through one task's events asks for it again. */
  #clockOf(task: number): number[] {
    if (task < 0 || this.#trace === null) return [];
    if (this.#lastClock?.task !== task) this.#lastClock = { task, clock: this.#trace.clock(task) };
    return this.#lastClock.clock;
  }

  /** Time travel: the `limit` locations written last as of event `index`, and how many were written. */
  stateAt(index: number, limit: number): { locations: LocationState[]; written: number } {
    return this.events.recentWrites(index, limit);
  }

  /** Stops the analysis and frees the core's memory; the model is not used afterwards. */
  dispose(): void {
    this.#disposed = true;
    this.#trace?.dispose();
    this.#trace = null;
  }

  /**
   * The tasks concurrent with `task`, nearest first so the few shown are the interesting ones;
   * the scan stops once it has found enough, and is kept per task.
   */
  #concurrentWith(task: number): { tasks: number[]; more: boolean } {
    const cached = this.#concurrentCache.get(task);
    if (cached !== undefined) return cached;
    const trace = this.#trace as CausalTrace;
    const found: number[] = [];
    let more = false;
    for (let distance = 1; distance < this.tasks.length; distance++) {
      for (const other of [task - distance, task + distance]) {
        if (other < 0 || other >= this.tasks.length) continue;
        if (!trace.concurrent(task, other)) continue;
        if (found.length === CONCURRENT_LIMIT) more = true;
        else found.push(other);
      }
      if (more) break;
    }
    const result = { tasks: found.sort((a, b) => a - b), more };
    this.#concurrentCache.set(task, result);
    return result;
  }

  #find(query: string, from: number, direction: 1 | -1, count: number, eventAt: (row: number) => number) {
    const matches = this.#matcher(query.toLowerCase());
    for (let step = 0; step < count; step++) {
      const row = (((from + step * direction) % count) + count) % count;
      if (matches(eventAt(row))) return row;
    }
    return -1;
  }
}

/** One timeline row: index, task, kind, what, where; `count` sets the index's width. */
export function formatEventLine(event: TraceEvent, count: number): string {
  const task = event.task < 0 ? '#?' : `#${event.task}`;
  const what = describeEvent(event);
  const where = event.site === null ? '' : `  ${shortFile(event.site.file)}:${event.site.line}`;
  const digits = String(Math.max(0, count - 1)).length;
  return `${String(event.index).padStart(digits)} ${task.padStart(4)} ${event.kindName.padEnd(13)} ${what}${where}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The number of elements of sorted `values` that are <= `value`. */
function upperBound(values: Uint32Array, value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function contains(text: string, lowerNeedle: string): boolean {
  return text.toLowerCase().includes(lowerNeedle);
}

function shortFile(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? file : file.slice(slash + 1);
}

/**
 * What an access touched, briefly: `obj#1.balance`, or for the PostgreSQL interceptor's accesses
 * (their sites name the table) the row, `row accounts["42"]`, as the findings name it.
 */
export function accessTarget(event: TraceEvent): string {
  const { access, site } = event;
  if (access === null) return '';
  if (site?.file === DB_SITE_FILE) {
    const key = access.property.startsWith('.')
      ? `[${JSON.stringify(access.property.slice(1))}]`
      : access.property;
    return `row ${site.name}${key}`;
  }
  return `obj#${access.objectId}${access.property}`;
}

/** The part of a row after its kind: the access, or the function and invocation. */
export function describeEvent(event: TraceEvent): string {
  const { access, site } = event;
  if (access !== null) {
    const target = accessTarget(event);
    const value = access.value ?? '?';
    switch (access.kind) {
      case 'read':
        return `${target} → ${value}`;
      case 'update':
        return `${target} ⇐ ${value}`;
      case 'delete':
        return `delete ${target}`;
      default:
        return `${target} ← ${value}`;
    }
  }
  const fn = site === null ? '' : site.functionName;
  const time = event.timeMs === null ? '' : ` +${event.timeMs.toFixed(2)}ms`;
  return `${fn}${time}`.trim();
}

/** What began a task, from its first record's kind and its begin site. */
function describeBegin(task: Task, site: Site | null, firstKind: number): string {
  if (task.beginMs === null) return 'start record lost';
  if (firstKind === EventKind.HttpRequest) return 'HTTP request';
  if (firstKind === EventKind.CallbackBegin) return 'scheduled callback';
  if (firstKind === EventKind.SpanBegin || firstKind === EventKind.SpanEnd) return 'span (causeway.trace)';
  if (site?.kind === SiteKind.Await) return `await ${siteLocation(site)} in ${site.functionName}`;
  if (site?.kind === SiteKind.Function) return `callback into ${site.functionName} ${siteLocation(site)}`;
  return 'program start';
}
