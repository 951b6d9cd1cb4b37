/**
 * The TUI over a Causeway server (`causeway tui --server URL`): the traces pane lists the
 * server's traces, the timeline reads events a page at a time around what is on screen (kept in
 * a small cache), causes and details come from the graph endpoint, findings from the findings
 * endpoint, and a trace still being recorded is followed through `GET /v1/live`
 * (docs/rest-api.md). The HTTP requests go through the CLI's REST client, handed in as RestClient.
 */

import {
  type AnomalyReport,
  type FailureReport,
  type FindingReport,
  type LocationState,
  siteLocation,
  type TaskReport,
  type TraceEvent,
  taskStart,
} from '@causeway/core';
import { followLive } from './live.ts';
import type { TraceEntry, TraceSource } from './source.ts';
import { SourceLines } from './source-lines.ts';
import type { RowSet } from './state.ts';
import {
  type AnalysisState,
  type CausalLink,
  type CausalView,
  type EventDetails,
  formatEventLine,
  plural,
  type TaskSummary,
} from './trace-model.ts';
import type { TraceView } from './trace-view.ts';

/**
 * How the TUI talks to a server: GET a JSON answer (errors thrown as one clear sentence), every
 * trace the server lists (all pages), and the headers to send. The CLI's ServerTraceSource is one.
 */
export interface RestClient {
  readonly base: string;
  get<T>(path: string): Promise<T>;
  listTraces(): Promise<ServerTraceSummary[]>;
  headers(): Record<string, string>;
}

/** A trace as `GET /v1/traces` lists it (docs/rest-api.md). */
export interface ServerTraceSummary {
  traceId: string;
  service: string;
  startedAt: string;
  records: number;
  dropped: number;
  ended: boolean;
  /** null when the server has not analysed the trace since records last arrived. */
  findings: number | null;
}

interface ServerTraceDetail extends ServerTraceSummary {
  stats: { records: number; dropped: number; tasks: number; chains: number };
}

/** Events per request: a few screens of rows. */
export const EVENT_PAGE = 200;
/** Pages kept in the cache; the oldest used goes first. */
const KEPT_PAGES = 40;
/** Largest page the REST API serves. */
const LIST_PAGE = 1000;
/** Links listed per direction in the causal pane. */
const LINK_LIMIT = 16;
/** Findings whose accesses are looked up as timeline rows for `a`. */
const MAPPED_FINDINGS = 50;
/** A live trace's analysis is fetched again at most this often while records arrive. */
const REANALYSE_MS = 500;

export class ServerSource implements TraceSource {
  readonly description: string;
  readonly #client: RestClient;

  constructor(client: RestClient) {
    this.#client = client;
    this.description = client.base;
  }

  async list(): Promise<TraceEntry[]> {
    return (await this.#client.listTraces()).map(entryOf);
  }

  open(entry: TraceEntry): Promise<ServerTraceModel> {
    return ServerTraceModel.open(this.#client, entry.id, entry.name);
  }

  /** Hears of every new or changed trace on the server. */
  watch(onChange: () => void, onProblem: (message: string | null) => void): () => void {
    return followLive(this.#client, '/v1/live', {
      onEvent: (name) => {
        if (name === 'trace') onChange();
      },
      // A trace that arrived between the first list and the stream's opening is listed now.
      onOpen: onChange,
      onProblem,
    });
  }
}

export function entryOf(trace: ServerTraceSummary): TraceEntry {
  const started = trace.startedAt.replace('T', ' ').slice(0, 19);
  const findings = trace.findings === null ? '' : ` · ${plural(trace.findings, 'finding')}`;
  return {
    id: trace.traceId,
    name: `${trace.service}:${trace.traceId.slice(0, 8)}`,
    detail: `${started} · ${plural(trace.records, 'record')}${findings}${trace.ended ? '' : ' · recording'}`,
  };
}

/** A server's trace, read a page at a time. */
export class ServerTraceModel implements TraceView {
  readonly name: string;
  readonly traceId: string;
  eventCount = 0;
  readonly analysis: AnalysisState = { done: false, fraction: 0, error: null };
  findings: readonly FindingReport[] = [];
  failures: readonly FailureReport[] = [];
  anomalies: readonly AnomalyReport[] = [];
  live: boolean;
  status: string | null = null;
  readonly #client: RestClient;
  readonly #path: string;
  #chains: number;
  #tasks: readonly TaskReport[] = [];
  #incoming = new Map<number, { task: number; kind: string }[]>();
  #outgoing = new Map<number, { task: number; kind: string }[]>();
  #findingsOfEvent = new Map<number, number[]>();
  #findingRows: RowSet = rowsOf(new Uint32Array(0), () => -1);
  readonly #pages = new Map<number, TraceEvent[]>();
  readonly #pending = new Set<number>();
  readonly #listeners = new Set<() => void>();
  readonly #sources = new SourceLines([process.cwd()]);
  readonly #allRows: RowSet;
  #stopLive: (() => void) | null = null;
  #reanalysis: NodeJS.Timeout | null = null;
  #analysing: Promise<void> | null = null;
  #disposed = false;

  private constructor(client: RestClient, detail: ServerTraceDetail, name: string) {
    this.#client = client;
    this.traceId = detail.traceId;
    this.name = name;
    this.#path = `/v1/traces/${detail.traceId}`;
    this.live = !detail.ended;
    this.#chains = detail.stats.chains;
    const count = () => this.eventCount;
    this.#allRows = {
      get length() {
        return count();
      },
      eventAt: (row) => row,
      rowAtOrBefore: (event) => Math.max(0, Math.min(event, this.eventCount - 1)),
      find: (query, from, direction) => this.#findLoaded(query, from, direction),
    };
  }

  /**
   * Reads the trace's summary and first page of events, and starts following it when it is still
   * being recorded. Throws the client's error (unreachable, 401, unknown trace).
   */
  static async open(client: RestClient, traceId: string, name: string): Promise<ServerTraceModel> {
    const detail = await client.get<ServerTraceDetail>(`/v1/traces/${traceId}`);
    const model = new ServerTraceModel(client, detail, name);
    await model.#fetchPage(0, true);
    if (model.live) model.#follow();
    return model;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    if (this.#disposed) return;
    for (const listener of this.#listeners) listener();
  }

  // ---- Events, a page at a time -------------------------------------------------------------

  /** The event at `index` when its page is loaded; asks for the page otherwise. */
  event(index: number): TraceEvent | null {
    const number = Math.floor(index / EVENT_PAGE);
    const page = this.#pages.get(number);
    if (page === undefined) {
      void this.#fetchPage(number);
      return null;
    }
    // Most recently used last: the first key is the one dropped when the cache is full.
    this.#pages.delete(number);
    this.#pages.set(number, page);
    return page[index - number * EVENT_PAGE] ?? null;
  }

  /** The event at `index` if its page is loaded; asks for nothing. */
  #peek(index: number): TraceEvent | null {
    return this.#pages.get(Math.floor(index / EVENT_PAGE))?.[index % EVENT_PAGE] ?? null;
  }

  /** How many pages of events are held now (for tests: the cache stays bounded). */
  get pagesHeld(): number {
    return this.#pages.size;
  }

  /** Reads page `number` into the cache; a failure shows in `status`, or is thrown with `throwing`. */
  async #fetchPage(number: number, throwing = false): Promise<void> {
    if (this.#pending.has(number) || this.#disposed) return;
    this.#pending.add(number);
    try {
      const from = number * EVENT_PAGE;
      const answer = await this.#client.get<{ total: number; events: TraceEvent[] }>(
        `${this.#path}/events?from=${from}&limit=${EVENT_PAGE}`,
      );
      if (this.#disposed) return;
      this.eventCount = Math.max(this.eventCount, answer.total);
      this.#pages.set(number, answer.events);
      while (this.#pages.size > KEPT_PAGES) {
        this.#pages.delete(this.#pages.keys().next().value as number);
      }
      this.status = null;
    } catch (error) {
      this.status = `cannot read events from the server: ${messageOf(error)} (r retries)`;
      if (throwing) throw error;
    } finally {
      this.#pending.delete(number);
    }
    this.#changed();
  }

  eventLine(index: number): string {
    const event = this.event(index);
    if (event === null) return `${String(index).padStart(String(Math.max(0, this.eventCount - 1)).length)} …`;
    return formatEventLine(event, this.eventCount);
  }

  rows(findingsOnly: boolean): RowSet {
    return findingsOnly ? this.#findingRows : this.#allRows;
  }

  findingsOf(event: number): readonly number[] {
    return this.#findingsOfEvent.get(event) ?? [];
  }

  /** Search covers the events loaded so far (the pages seen); the server has no text search. */
  #findLoaded(query: string, from: number, direction: 1 | -1): number {
    const needle = query.toLowerCase();
    const found: number[] = [];
    for (const page of this.#pages.values()) {
      for (const event of page) if (matches(event, needle)) found.push(event.index);
    }
    if (found.length === 0) return -1;
    found.sort((a, b) => a - b);
    const count = Math.max(1, this.eventCount);
    const start = ((from % count) + count) % count;
    if (direction === 1) return found.find((index) => index >= start) ?? (found[0] as number);
    return [...found].reverse().find((index) => index <= start) ?? (found[found.length - 1] as number);
  }

  // ---- Analysis: the graph and the findings -------------------------------------------------

  analyze(onProgress: (fraction: number) => void = () => {}): Promise<void> {
    if (this.analysis.done || this.#disposed) return Promise.resolve();
    this.#analysing ??= this.#fetchAnalysis(onProgress).finally(() => {
      this.#analysing = null;
    });
    return this.#analysing;
  }

  async #fetchAnalysis(onProgress: (fraction: number) => void): Promise<void> {
    try {
      const tasks: TaskReport[] = [];
      const edges: { from: number; to: number; kind: string }[] = [];
      let from: number | null = 0;
      while (from !== null) {
        const page: { tasks: TaskReport[]; edges: typeof edges; totalTasks: number; next: number | null } =
          await this.#client.get(`${this.#path}/graph?from=${from}&limit=${LIST_PAGE}`);
        tasks.push(...page.tasks);
        edges.push(...page.edges);
        from = page.next;
        if (!this.analysis.done) {
          this.analysis.fraction = page.totalTasks === 0 ? 1 : (tasks.length / page.totalTasks) * 0.8;
          onProgress(this.analysis.fraction);
        }
        if (this.#disposed) return;
      }
      const report = await this.#client.get<{
        findings: FindingReport[];
        failures: FailureReport[];
        anomalies: AnomalyReport[];
      }>(`${this.#path}/findings`);
      const findingsOfEvent = await this.#locateFindings(report.findings);
      if (this.#disposed) return;
      const incoming = new Map<number, { task: number; kind: string }[]>();
      const outgoing = new Map<number, { task: number; kind: string }[]>();
      for (const edge of edges) {
        push(incoming, edge.to, { task: edge.from, kind: edge.kind });
        push(outgoing, edge.from, { task: edge.to, kind: edge.kind });
      }
      this.#tasks = tasks;
      this.#incoming = incoming;
      this.#outgoing = outgoing;
      this.findings = report.findings;
      this.failures = report.failures;
      this.anomalies = report.anomalies;
      this.#findingsOfEvent = findingsOfEvent;
      const rows = Uint32Array.from([...findingsOfEvent.keys()].sort((a, b) => a - b));
      this.#findingRows = rowsOf(rows, (query, from, direction) => {
        const needle = query.toLowerCase();
        for (let step = 0; step < rows.length; step++) {
          const row = (((from + step * direction) % rows.length) + rows.length) % rows.length;
          const event = this.#peek(rows[row] as number);
          if (event !== null && matches(event, needle)) return row;
        }
        return -1;
      });
      this.analysis.error = null;
    } catch (error) {
      this.analysis.error = messageOf(error);
    }
    this.analysis.fraction = 1;
    this.analysis.done = true;
    onProgress(1);
    this.#changed();
  }

  /**
   * The events of the findings' accesses, for `a` and the timeline's marks. A finding names each
   * access by task, kind, site and value; the server's event filter finds the task's accesses of
   * that kind, and the site and value pick the one.
   */
  async #locateFindings(findings: readonly FindingReport[]): Promise<Map<number, number[]>> {
    const byEvent = new Map<number, number[]>();
    const asked = new Map<string, Promise<TraceEvent[]>>();
    for (const [at, finding] of findings.slice(0, MAPPED_FINDINGS).entries()) {
      for (const access of finding.accesses) {
        const key = `${access.task}:${access.kind}`;
        let events = asked.get(key);
        if (events === undefined) {
          events = this.#client
            .get<{ events: TraceEvent[] }>(
              `${this.#path}/events?task=${access.task}&kind=${access.kind}&limit=${LIST_PAGE}`,
            )
            .then((answer) => answer.events);
          asked.set(key, events);
        }
        const event = (await events).find(
          (candidate) =>
            access.site !== null &&
            candidate.site !== null &&
            candidate.site.file === access.site.file &&
            candidate.site.line === access.site.line &&
            candidate.site.column === access.site.column &&
            (candidate.access?.value ?? null) === access.value,
        );
        if (event === undefined) continue;
        const list = byEvent.get(event.index) ?? [];
        if (!list.includes(at + 1)) list.push(at + 1);
        byEvent.set(event.index, list);
      }
    }
    return byEvent;
  }

  // ---- What the panes show ------------------------------------------------------------------

  summary(task: number): TaskSummary | null {
    const report = this.#tasks[task];
    if (report === undefined) return null;
    return {
      task,
      chain: `${report.chain}.${report.position}`,
      beganMs: report.beganMs,
      began: describeStart(report),
    };
  }

  causal(index: number): CausalView | null {
    const event = this.event(index);
    if (event === null || event.task < 0 || !this.analysis.done) return null;
    const task = this.summary(event.task);
    if (task === null) return null;
    const links = (list: readonly { task: number; kind: string }[]): CausalLink[] =>
      list.slice(0, LINK_LIMIT).flatMap(({ task: other, kind }) => {
        const summary = this.summary(other);
        return summary === null ? [] : [{ kind, other: summary }];
      });
    const incoming = this.#incoming.get(event.task) ?? [];
    const outgoing = this.#outgoing.get(event.task) ?? [];
    return {
      task,
      causedBy: links(incoming),
      causedByTotal: incoming.length,
      caused: links(outgoing),
      causedTotal: outgoing.length,
      concurrent: [],
      more: false,
      concurrentNote: 'not known: the server serves no vector clocks (open the trace file to see them)',
    };
  }

  details(index: number): EventDetails | null {
    const event = this.event(index);
    if (event === null) return null;
    return {
      event,
      location: event.site === null ? null : siteLocation(event.site),
      sourceLine: event.site === null ? null : this.#sources.line(event.site.file, event.site.line),
      task: event.task < 0 ? null : this.summary(event.task),
      clock: null,
      clockNote: 'not served by the server (open the trace file to see it)',
      chains: this.#chains,
      findings: [...this.findingsOf(index)],
      stack: null,
    };
  }

  stateAt(): { locations: LocationState[]; written: number } | string {
    return 'time travel needs every event up to this one: the server does not serve object states; open the trace file (causeway tui <file>) for it';
  }

  headline(): string {
    const events = plural(this.eventCount, 'event');
    if (!this.analysis.done)
      return `${events} · fetching the analysis ${Math.floor(this.analysis.fraction * 100)}%`;
    if (this.analysis.error !== null) return `${events} · analysis unavailable`;
    return `${events} · ${plural(this.#tasks.length, 'task')} · ${plural(this.findings.length, 'finding')}`;
  }

  // ---- Live ---------------------------------------------------------------------------------

  /** Follows new records: the count grows, the last (partial) page is read again, the analysis is refreshed. */
  #follow(): void {
    const grew = (firstIndex: number, total: number) => {
      if (total <= this.eventCount && firstIndex >= this.eventCount) return;
      this.eventCount = Math.max(this.eventCount, total);
      // Pages from the batch's first record on were read before it arrived: read them again.
      for (const number of [...this.#pages.keys()]) {
        if ((number + 1) * EVENT_PAGE > firstIndex) this.#pages.delete(number);
      }
      this.#scheduleReanalysis();
      this.#changed();
    };
    const ended = () => {
      this.live = false;
      this.#scheduleReanalysis();
      this.#stopLive?.();
      this.#stopLive = null;
      this.#changed();
    };
    this.#stopLive = followLive(this.#client, `/v1/live?trace=${this.traceId}`, {
      onEvent: (name, data) => {
        if (name === 'events') {
          const { firstIndex, count } = data as { firstIndex: number; count: number };
          grew(firstIndex, firstIndex + count);
        } else if (name === 'trace' && (data as ServerTraceSummary).ended) {
          ended();
        }
      },
      // Records that arrived before the stream opened were not sent on it: ask how many there are.
      onOpen: () => {
        const known = this.eventCount;
        this.#client.get<ServerTraceDetail>(this.#path).then(
          (detail) => {
            if (this.#disposed) return;
            grew(known, detail.stats.records);
            if (detail.ended && this.live) ended();
          },
          () => {
            // The stream is open: its events still come; a failed count changes nothing shown.
          },
        );
      },
      onProblem: (message) => {
        this.status = message;
        this.#changed();
      },
    });
  }

  #scheduleReanalysis(): void {
    // Not pushed back by each batch: a trace that never stops growing is still re-read.
    if (this.#reanalysis !== null) return;
    this.#reanalysis = setTimeout(() => {
      this.#reanalysis = null;
      void this.refresh();
    }, REANALYSE_MS);
  }

  /** Reads the analysis again (new records arrived); what is on screen stays until the new one is in. */
  async refresh(): Promise<void> {
    if (this.#disposed) return;
    if (this.#analysing !== null) await this.#analysing;
    if (this.#disposed) return;
    this.#analysing = this.#fetchAnalysis(() => {}).finally(() => {
      this.#analysing = null;
    });
    await this.#analysing;
  }

  dispose(): void {
    this.#disposed = true;
    this.#stopLive?.();
    this.#stopLive = null;
    if (this.#reanalysis !== null) clearTimeout(this.#reanalysis);
    this.#listeners.clear();
    this.#pages.clear();
  }
}

function rowsOf(only: Uint32Array, find: RowSet['find']): RowSet {
  return {
    length: only.length,
    eventAt: (row) => only[row] as number,
    rowAtOrBefore: (event) => {
      let row = 0;
      while (row + 1 < only.length && (only[row + 1] as number) <= event) row++;
      return row;
    },
    find,
  };
}

function push<T>(map: Map<number, T[]>, key: number, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function matches(event: TraceEvent, needle: string): boolean {
  const has = (text: string | null | undefined) => text?.toLowerCase().includes(needle) ?? false;
  if (event.site !== null && (has(event.site.functionName) || has(event.site.file))) return true;
  return event.access !== null && (has(event.access.property) || has(event.access.value));
}

function describeStart(task: TaskReport): string {
  const { label, site } = taskStart(task);
  return site === null ? label : `${label} ${siteLocation(site)} in ${site.functionName}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
