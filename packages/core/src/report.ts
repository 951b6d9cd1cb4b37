/**
 * The causal structure of a loaded trace in plain data: what `causeway analyze --json` prints,
 * and what the server and the TUI will serve and show. Every task and edge comes from the core.
 */

import { type AnomalyReport, buildAnomalyReports } from './anomaly-report.ts';
import type { RaceFinding, Task } from './causal-trace.ts';
import { buildFailureReports, explainRemoteCauses, type FailureReport } from './failure-report.ts';
import {
  EDGE_KIND_NAMES,
  type EdgeKind,
  EventKind,
  RECORD_SIZE,
  RecordOffset,
  SiteKind,
  VALUE_TAG_MASK,
  ValueTag,
} from './format/event-format.ts';
import type { StreamInfo, TraceEnd, TraceMeta } from './format/trace-file.ts';
import { globalStream, type LoadedRecordings, mergedFile, STREAMS_PER_FILE } from './load-recordings.ts';
import type { LoadedTrace } from './load-trace.ts';
import { buildFindingReports, type FindingReport } from './race-report.ts';
import { type Site, SiteIndex } from './sites.ts';
import { StringIndex } from './strings.ts';
import { decodeValue, renderValue } from './values.ts';

/** Version of the report's shape; bumped when a field changes meaning or goes away. */
export const REPORT_VERSION = 3;

export interface TaskReport {
  /** Index in `tasks`, which edges refer to. */
  id: number;
  stream: number;
  localId: number;
  chain: number;
  position: number;
  /** Start, in ms since the stream's epoch; null when the start record was lost. */
  beganMs: number | null;
  /** Records the task holds. */
  records: number;
  /**
   * What started the task: 'root' (the program's start), 'await' (the continuation of an await),
   * 'callback' (an event-loop callback whose scheduling was not recorded), 'scheduled' (a
   * callback whose scheduling was recorded: a timer, tick, microtask or promise reaction, or a
   * stream's event emitted by the event loop),
   * 'span' (a `causeway.trace` span, or the caller's code after it), 'request' (an incoming HTTP
   * request, recorded by the interceptors), or 'unknown' (the record that started it was lost).
   */
  startedBy: 'root' | 'await' | 'callback' | 'scheduled' | 'span' | 'request' | 'unknown';
  /** Where it started: the await of a continuation, the function a callback entered; null for the root and requests. */
  site: Site | null;
  /** For a request: its method and path (`POST /transfers`); null otherwise. */
  request: string | null;
  /** In a report over several recordings: the service (META.service) of the task's recording. */
  service?: string;
}

/** One of the recordings a report over several covers. */
export interface RecordingReport {
  file: string;
  traceId: string;
  service: string;
  pid: number;
  /** Its streams, as numbered in the report's tasks. */
  streams: number[];
}

/**
 * Calls `visit` with each raw record of `file`: its stream, its kind, and the view and byte offset
 * its fields are read at (`RecordOffset`). The report's few scans read fields straight from the
 * bytes: no record objects for a trace of millions.
 */
function forEachRecord(
  file: LoadedTrace['file'],
  visit: (stream: number, kind: number, view: DataView, at: number) => void,
): void {
  for (const { stream, records } of file.events) {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let at = 0; at + RECORD_SIZE <= records.byteLength; at += RECORD_SIZE) {
      visit(stream, view.getUint8(at + RecordOffset.kind), view, at);
    }
  }
}

/** What started each task a scheduling or span record started, by `stream:localId`. */
function scheduledStartsOf(file: LoadedTrace['file']): Map<string, 'scheduled' | 'span'> {
  const starts = new Map<string, 'scheduled' | 'span'>();
  forEachRecord(file, (stream, kind, view, at) => {
    if (kind !== EventKind.CallbackBegin && kind !== EventKind.SpanBegin && kind !== EventKind.SpanEnd)
      return;
    starts.set(
      `${stream}:${view.getUint32(at + RecordOffset.task, true)}`,
      kind === EventKind.CallbackBegin ? 'scheduled' : 'span',
    );
  });
  return starts;
}

/**
 * How a task started, for people: a label (`program start`, `HTTP request POST /transfers`,
 * `await`, `callback`, `scheduled callback`, ...) and, for awaits and callbacks, the site.
 */
export function taskStart(task: TaskReport): { label: string; site: Site | null } {
  switch (task.startedBy) {
    case 'root':
      return { label: 'program start', site: null };
    case 'request':
      return { label: `HTTP request ${task.request ?? ''}`.trimEnd(), site: null };
    case 'scheduled':
      return { label: 'scheduled callback', site: task.site };
    case 'span':
      return { label: 'span (causeway.trace)', site: task.site };
    case 'unknown':
      return { label: '(start record lost)', site: null };
    default:
      return task.site === null
        ? { label: `${task.startedBy} (site unknown)`, site: null }
        : { label: task.startedBy, site: task.site };
  }
}

/** The method and path of each task an `HttpRequest` record started, by `stream:localId`. */
function requestsOf(file: LoadedTrace['file'], strings: StringIndex): Map<string, string> {
  const requests = new Map<string, string>();
  forEachRecord(file, (stream, kind, view, at) => {
    if (kind !== EventKind.HttpRequest) return;
    const method = strings.string(stream, view.getUint32(at + RecordOffset.a, true)) ?? '?';
    const target = strings.string(stream, view.getUint32(at + RecordOffset.a + 4, true)) ?? '?';
    requests.set(`${stream}:${view.getUint32(at + RecordOffset.task, true)}`, `${method} ${target}`);
  });
  return requests;
}

export interface EdgeReport {
  from: number;
  to: number;
  kind: string;
}

export interface TraceReport {
  reportVersion: number;
  file: string;
  meta: TraceMeta;
  streams: StreamInfo[];
  /** null when the recording did not finish its file. */
  end: TraceEnd | null;
  stats: {
    records: number;
    dropped: number;
    tasks: number;
    chains: number;
    orphanTasks: number;
    unmatchedResumes: number;
  };
  /** Races and atomicity violations, most certain first (docs/detectors.md). */
  findings: FindingReport[];
  /** Errors that cascaded through awaits, each from its root cause to where it surfaced (docs/detectors.md, "Failures"). */
  failures: FailureReport[];
  /** Awaits far slower than their site's usual, and awaits that never resumed (docs/detectors.md, "Anomalies"). */
  anomalies: AnomalyReport[];
  tasks: TaskReport[];
  /** Direct happens-before edges; happens-before is their transitive closure. */
  edges: EdgeReport[];
  /**
   * Present when the report covers several recordings (one per process, joined by their HTTP
   * exchanges: docs/propagation.md); `meta` and `end` are then the first one's.
   */
  recordings?: RecordingReport[];
  /** With `recordings`: requests and responses joined across them, and those that could not be. */
  joins?: Pick<LoadedRecordings, 'messages' | 'responses'>;
}

/**
 * Completes each lost update with the read its overwritten (remote) task made before writing:
 * the latest read of the location by that task or one that happens before it, recorded before
 * the write. "Task #5 had read 100 as well: its change of -30 is what was lost."
 */
function explainLostUpdates(
  reports: FindingReport[],
  findings: readonly RaceFinding[],
  { file, trace }: LoadedTrace,
  tasks: readonly Task[],
  sites: SiteIndex,
  strings: StringIndex,
): void {
  const taskIndex = new Map(tasks.map((task) => [`${task.stream}:${task.localId}`, task.index]));
  type Read = { seq: number; task: number; site: number; tag: ValueTag; low: number; high: number };
  // The lost updates by location, each with the latest qualifying read found so far: one pass
  // over the records serves them all.
  const wanted = new Map<string, { finding: RaceFinding; best: Read | null }[]>();
  const key = (stream: number, objectId: number, keyId: number) => `${stream}:${objectId}:${keyId}`;
  const lost = findings.map((finding) => {
    if (finding.class !== 'lost-update' || finding.accesses[1] === undefined) return null;
    const entry = { finding, best: null as Read | null };
    const at = key(finding.stream, finding.objectId, finding.keyId);
    wanted.set(at, [...(wanted.get(at) ?? []), entry]);
    return entry;
  });
  if (wanted.size > 0) {
    forEachRecord(file, (stream, kind, view, at) => {
      if (kind !== EventKind.Read) return;
      const entries = wanted.get(
        key(stream, view.getUint32(at + RecordOffset.a, true), view.getUint32(at + RecordOffset.a + 4, true)),
      );
      if (entries === undefined) return;
      const seq = view.getUint32(at + RecordOffset.seq, true);
      const task = taskIndex.get(`${stream}:${view.getUint32(at + RecordOffset.task, true)}`);
      for (const entry of entries) {
        const remote = entry.finding.accesses[1] as RaceFinding['accesses'][number];
        if (seq >= remote.seq || (entry.best !== null && seq < entry.best.seq)) continue;
        if (task === undefined || (task !== remote.task && !trace.happensBefore(task, remote.task))) continue;
        entry.best = {
          seq,
          task,
          site: view.getUint32(at + RecordOffset.site, true),
          tag: (view.getUint8(at + RecordOffset.flags) & VALUE_TAG_MASK) as ValueTag,
          low: view.getUint32(at + RecordOffset.b, true),
          high: view.getUint32(at + RecordOffset.b + 4, true),
        };
      }
    });
  }
  lost.forEach((entry, i) => {
    if (entry === null) return;
    const { finding, best } = entry;
    const report = reports[i] as FindingReport;
    const remote = finding.accesses[1] as RaceFinding['accesses'][number];
    const remoteReport = report.accesses[1] as FindingReport['accesses'][number];
    if (best === null) return;
    const value = decodeValue(best.tag, best.low, best.high);
    const read = {
      role: 'remote' as const,
      task: best.task,
      kind: 'read' as const,
      site: sites.lookup(finding.stream, best.site),
      value: renderValue(strings, finding.stream, best.tag, value),
    };
    const written = remote.valueTag === ValueTag.Number ? remote.value : undefined;
    const change = typeof value === 'number' && typeof written === 'number' ? written - value : null;
    report.lost = { read, change };
    const readAgain = read.value !== null && read.value === report.accesses[0]?.value ? ' as well' : '';
    const lostChange = change === null ? 'its write' : `its change of ${change > 0 ? '+' : ''}${change}`;
    report.story += ` Task #${remoteReport.task} had read ${read.value ?? 'it'}${readAgain}: ${lostChange} is what was lost.`;
  });
}

export function buildTraceReport(path: string, { file, trace }: LoadedTrace): TraceReport {
  const sites = new SiteIndex(file.sites);
  const edges = trace.edges();
  const coreTasks = trace.tasks();
  const strings = new StringIndex(file.strings);
  const requests = requestsOf(file, strings);
  const scheduledStarts = scheduledStartsOf(file);
  const raceFindings = trace.findings();
  const findings = buildFindingReports(raceFindings, sites, strings);
  explainLostUpdates(findings, raceFindings, { file, trace }, coreTasks, sites, strings);
  const tasks: TaskReport[] = coreTasks.map((task) => {
    const site = sites.lookup(task.stream, task.beginSite);
    const request = requests.get(`${task.stream}:${task.localId}`) ?? null;
    const scheduled = scheduledStarts.get(`${task.stream}:${task.localId}`);
    const startedBy =
      task.beginMs === null
        ? 'unknown'
        : site?.kind === SiteKind.Await
          ? 'await'
          : site?.kind === SiteKind.Function
            ? 'callback'
            : request !== null
              ? 'request'
              : (scheduled ?? 'root');
    return {
      id: task.index,
      stream: task.stream,
      localId: task.localId,
      chain: task.chain,
      position: task.position,
      beganMs: task.beginMs,
      records: task.records,
      startedBy,
      site,
      request,
    };
  });
  const { records, dropped, tasks: taskCount, chains, orphanTasks, unmatchedResumes } = trace.stats();
  return {
    reportVersion: REPORT_VERSION,
    file: path,
    meta: file.meta,
    streams: file.streams,
    end: file.end,
    stats: { records, dropped, tasks: taskCount, chains, orphanTasks, unmatchedResumes },
    findings,
    failures: buildFailureReports(trace.failures(), coreTasks, sites),
    anomalies: buildAnomalyReports(trace.anomalies(), coreTasks, sites, file.end !== null),
    tasks,
    edges: edges.map((edge) => ({
      from: edge.from,
      to: edge.to,
      kind: EDGE_KIND_NAMES[edge.kind as EdgeKind] ?? `kind ${edge.kind}`,
    })),
  };
}

/** The report of several recordings loaded together (loadRecordings): tasks say their service. */
export function buildRecordingsReport(paths: readonly string[], loaded: LoadedRecordings): TraceReport {
  const file = mergedFile(loaded);
  const report = buildTraceReport(paths.join(' '), { file, trace: loaded.trace });
  report.recordings = loaded.files.map((file, i) => ({
    file: paths[i] ?? '',
    traceId: file.meta.traceId,
    service: file.meta.service,
    pid: file.meta.pid,
    streams: file.streams.map((stream) => globalStream(i, stream.stream)),
  }));
  report.joins = { messages: loaded.messages, responses: loaded.responses };
  for (const task of report.tasks) {
    const service = loaded.files[Math.floor(task.stream / STREAMS_PER_FILE)]?.meta.service;
    if (service !== undefined) task.service = service;
  }
  explainRemoteCauses(report.failures, {
    exchanges: loaded.exchanges,
    tasks: report.tasks.map((task) => ({ ...task, index: task.id })),
    strings: new StringIndex(file.strings),
  });
  return report;
}
