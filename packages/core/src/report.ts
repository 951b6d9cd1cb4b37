/**
 * The causal structure of a loaded trace in plain data: what `causeway analyze --json` prints,
 * and what the server and the TUI will serve and show. Every task and edge comes from the core.
 */

import { buildFailureReports, type FailureReport } from './failure-report.ts';
import { EDGE_KIND_NAMES, type EdgeKind, SiteKind } from './format/event-format.ts';
import type { StreamInfo, TraceEnd, TraceMeta } from './format/trace-file.ts';
import type { LoadedTrace } from './load-trace.ts';
import { buildFindingReports, type FindingReport } from './race-report.ts';
import { type Site, SiteIndex } from './sites.ts';
import { StringIndex } from './strings.ts';

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
   * 'callback' (an event-loop callback whose scheduling was not recorded), or 'unknown' (the
   * record that started it was lost).
   */
  startedBy: 'root' | 'await' | 'callback' | 'unknown';
  /** Where it started: the await of a continuation, the function a callback entered; null for the root. */
  site: Site | null;
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
  tasks: TaskReport[];
  /** Direct happens-before edges; happens-before is their transitive closure. */
  edges: EdgeReport[];
}

export function buildTraceReport(path: string, { file, trace }: LoadedTrace): TraceReport {
  const sites = new SiteIndex(file.sites);
  const edges = trace.edges();
  const coreTasks = trace.tasks();
  const tasks: TaskReport[] = coreTasks.map((task) => {
    const site = sites.lookup(task.stream, task.beginSite);
    const startedBy =
      task.beginMs === null
        ? 'unknown'
        : site?.kind === SiteKind.Await
          ? 'await'
          : site?.kind === SiteKind.Function
            ? 'callback'
            : 'root';
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
    findings: buildFindingReports(trace.findings(), sites, new StringIndex(file.strings)),
    failures: buildFailureReports(trace.failures(), coreTasks, sites),
    tasks,
    edges: edges.map((edge) => ({
      from: edge.from,
      to: edge.to,
      kind: EDGE_KIND_NAMES[edge.kind as EdgeKind] ?? `kind ${edge.kind}`,
    })),
  };
}
