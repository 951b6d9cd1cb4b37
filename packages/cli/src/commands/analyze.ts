/** `causeway analyze`: the findings of a recorded run, then its tasks and happens-before edges. */

import {
  type AnomalyReport,
  describeEvidence,
  type FailureReport,
  type FindingReport,
  type Site,
  siteLocation,
  type TaskReport,
  type TraceReport,
} from '@causeway/core';
import { parseCommandArgs, TRACE_OPTIONS, TRACE_OPTIONS_HELP, traceFlags } from '../args.ts';
import { loadConfig } from '../config.ts';
import { ExitCode } from '../errors.ts';
import { failingFindings } from '../fail-on.ts';
import type { Io } from '../io.ts';
import { openTraces, traceRef } from '../trace-source.ts';

export const ANALYZE_HELP = `Usage: causeway analyze <trace-file>... [options]
       causeway analyze --trace-id ID [options]

Reads a trace recorded by @causeway/instrumentation, orders its events by happens-before in the
causal core, and prints:
  - the findings: races on shared state (lost updates, inconsistent reads, unordered writes...),
    numbered, each with its type, confidence and severity, what happened, the code locations, a
    timeline of the accesses (T+ms from the trace start, values read and written) and what to do
    (docs/detectors.md defines each kind; docs/cli.md how confidence and severity are derived);
  - the tasks: each synchronous run of code (the program's start, every await continuation,
    every event-loop callback into instrumented code), with the chain it belongs to, when it
    started, and the await it continues or the function the callback entered;
  - the happens-before edges between tasks: an edge a -> b means a finished before b could start
    and caused it. Two tasks with no path of edges between them are concurrent.

Several trace files (one per service of a distributed trace) are joined into one report by their
HTTP exchanges (docs/propagation.md): each task says its service, and message and response edges
cross between them. --trace-id in a trace directory brings in every recording joined to the one
it names.

Options:
  --json              print the same as one JSON document (its shape is in docs/cli.md)
  --fail-on LIST      exit with 1 when a finding matches: a class (lost-update, write-write, ...),
                      race (any finding), or a severity (high, medium, low: that or worse);
                      comma-separated (config failOn, CAUSEWAY_FAIL_ON)
${TRACE_OPTIONS_HELP}

Examples:
  causeway analyze .causeway/traces/main-2026-11-23T10-00-00.cwtrace
  causeway analyze --trace-id 393b363d
  causeway analyze gateway.cwtrace orders.cwtrace payments.cwtrace
  causeway analyze --trace-id 393b363d --json > report.json
  causeway analyze --trace-id 393b363d --fail-on lost-update,high   # in CI: exit 1 on a match

Exit codes: 0 done, 1 a finding matched --fail-on, 2 usage, config or input error.
`;

export async function analyze(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('analyze', args, {
    ...TRACE_OPTIONS,
    json: { type: 'boolean' },
    'fail-on': { type: 'string' },
  });
  if (values.help) {
    io.out(ANALYZE_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length === 0 || values['trace-id'] !== undefined) {
    traceRef('analyze', positionals[0], values['trace-id']);
  }
  const { config } = await loadConfig({ flags: { ...traceFlags(values), failOn: values['fail-on'] } });
  const { report } = await openTraces(config, 'analyze', positionals, values['trace-id'], io);
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  const failing = failingFindings(report.findings, config.failOn);
  if (failing.length > 0) {
    io.err(
      `causeway: ${failing.length} finding${failing.length === 1 ? '' : 's'} matched --fail-on ${config.failOn.join(',')}\n`,
    );
    return ExitCode.FindingsMatched;
  }
  return ExitCode.Ok;
}

/** The kind of problem a finding is, in the seed's words: a race on shared state, or an atomicity violation. */
export function findingType(finding: FindingReport): string {
  if (finding.class === 'order-violation') return 'ORDER_VIOLATION';
  return finding.class === 'write-write' || finding.class === 'read-write' || finding.class === 'lost-update'
    ? 'RACE_CONDITION'
    : 'ATOMICITY_VIOLATION';
}

function at(site: Site | null): string {
  return site === null ? '(site unknown)' : `${siteLocation(site)} in ${site.functionName}`;
}

/** Start of each stream relative to the earliest, so T+ offsets of several processes share one origin. */
function streamOffsets(report: TraceReport): Map<number, number> {
  const epochs = report.streams.map((stream) => stream.epochMs);
  const origin = epochs.length > 0 ? Math.min(...epochs) : 0;
  return new Map(report.streams.map((stream) => [stream.stream, stream.epochMs - origin]));
}

/** `T+330.68ms`: a task's start from the trace start; `T+?` when its start record was lost. */
export function taskOffset(
  report: TraceReport,
  task: TaskReport | undefined,
  offsets = streamOffsets(report),
): string {
  if (task?.beganMs === undefined || task.beganMs === null) return 'T+?';
  return `T+${(task.beganMs + (offsets.get(task.stream) ?? 0)).toFixed(2)}ms`;
}

const ROLE_LABELS: Record<string, string> = { first: 'first', remote: 'meanwhile', second: 'then' };

function renderFinding(report: TraceReport, finding: FindingReport, number: number): string[] {
  const offsets = streamOffsets(report);
  const times = finding.occurrences > 1 ? ` · ${finding.occurrences} times` : '';
  const lines = [
    `${number}. ${finding.title} on ${finding.location.name}${times}`,
    `   type: ${findingType(finding)} / ${finding.title.toLowerCase()}`,
    `   confidence: ${finding.confidence} (evidence: ${describeEvidence(finding.evidence)}) · severity: ${finding.severity}`,
    `   ${finding.story}`,
    '   code:',
  ];
  // Each distinct site once, in the order the pattern meets them.
  const seen = new Set<string>();
  const codeRows: string[][] = [];
  for (const access of finding.accesses) {
    const where = at(access.site);
    const key = `${access.kind} ${where}`;
    if (seen.has(key)) continue;
    seen.add(key);
    codeRows.push([`     ${access.kind}`, where]);
  }
  lines.push(table(codeRows));
  lines.push("   timeline (T+ from the trace start, at the start of each access's task):");
  lines.push(
    table(
      finding.accesses.map((access) => [
        `     ${taskOffset(report, report.tasks[access.task], offsets)}`,
        ROLE_LABELS[access.role] ?? access.role,
        `task #${access.task}`,
        access.kind === 'read'
          ? `read ${finding.location.name} = ${access.value ?? '(not captured)'}`
          : `wrote ${finding.location.name} = ${access.value ?? '(not captured)'}`,
        at(access.site),
      ]),
    ),
  );
  lines.push(`   recommendation: ${finding.recommendation}`);
  return lines;
}

function renderFindings(report: TraceReport): string[] {
  const { findings } = report;
  if (findings.length === 0) {
    return ['Findings: none. No two concurrent tasks touched the same property with a write among them.'];
  }
  const lines = [`Findings (${findings.length})`];
  findings.forEach((finding, i) => {
    lines.push('', ...renderFinding(report, finding, i + 1));
  });
  return lines;
}

function renderFailures(failures: readonly FailureReport[]): string[] {
  if (failures.length === 0) return [];
  const lines = ['', `Failures (${failures.length})`];
  failures.forEach((failure, i) => {
    lines.push('', `${i + 1}. ${failure.title}`, `   ${failure.story}`);
    lines.push(
      table(
        failure.calls.map((call, step) => [
          `   ${step === 0 ? 'root cause' : 'then'}`,
          `task #${call.task}`,
          call.function?.functionName ?? '(site unknown)',
          call.rejectedAt === null ? 'threw' : `await ${siteLocation(call.rejectedAt)} rejected`,
          call.neverCalled.length === 0
            ? ''
            : `never called: ${call.neverCalled.map((site) => site.functionName).join(', ')}`,
        ]),
      ),
    );
  });
  return lines;
}

function renderAnomalies(anomalies: readonly AnomalyReport[]): string[] {
  if (anomalies.length === 0) return [];
  const lines = ['', `Anomalies (${anomalies.length})`, ''];
  anomalies.forEach((anomaly, i) => {
    lines.push(
      `${i + 1}. ${anomaly.kind === 'slow-await' ? 'Slow await' : 'Never resumed'}: ${anomaly.story}`,
    );
  });
  return lines;
}

function describeStart(task: TaskReport): string {
  if (task.startedBy === 'root') return 'program start';
  if (task.startedBy === 'request') return `HTTP request ${task.request ?? ''}`.trimEnd();
  if (task.startedBy === 'scheduled') return 'scheduled callback';
  if (task.startedBy === 'span') return 'span (causeway.trace)';
  if (task.site === null)
    return task.startedBy === 'unknown' ? '(start record lost)' : 'await (site unknown)';
  const how = task.startedBy === 'callback' ? 'callback into' : 'await';
  return `${how} ${siteLocation(task.site)} in ${task.site.functionName}`;
}

function ms(value: number | null): string {
  return value === null ? '?' : `+${value.toFixed(2)} ms`;
}

/** Rows padded into columns; the last column is not padded. Each row's first cell carries its indent. */
function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

export function renderReport(report: TraceReport): string {
  const { meta, stats } = report;
  const recordings = report.recordings;
  const lines =
    recordings === undefined
      ? [
          `Trace ${meta.traceId} · service ${meta.service} · pid ${meta.pid} · Node ${meta.node} · started ${meta.startedAt}`,
        ]
      : [
          `${recordings.length} recordings joined by their HTTP exchanges: ${recordings.map((r) => r.service).join(', ')}`,
          ...recordings.map((r) => `  ${r.service} · trace ${r.traceId} · pid ${r.pid} · ${r.file}`),
        ];
  lines.push(
    `${stats.records} records, ${stats.dropped} dropped · ${stats.tasks} tasks in ${stats.chains} chains`,
  );
  if (report.joins !== undefined) {
    const { messages, responses } = report.joins;
    lines.push(
      `${messages.linked} requests and ${responses.linked} responses joined across services` +
        (messages.unlinked + responses.unlinked > 0
          ? ` (${messages.unlinked + responses.unlinked} not joined: their other side was not loaded, or could not be ordered)`
          : ''),
    );
  }
  if (report.end === null) {
    lines.push(
      'note: the recording did not finish (the process crashed or was killed); showing what was written.',
    );
  }
  if (stats.dropped > 0) {
    lines.push(`note: ${stats.dropped} records were lost (ring full); edges near the gaps may be missing.`);
  }
  lines.push(
    '',
    ...renderFindings(report),
    ...renderFailures(report.failures),
    ...renderAnomalies(report.anomalies),
  );
  const offsets = streamOffsets(report);
  lines.push('', 'Tasks');
  lines.push(
    table([
      ['  task', ...(recordings === undefined ? [] : ['service']), 'chain', 'start', 'records', 'started by'],
      ...report.tasks.map((task) => [
        `  #${task.id}`,
        ...(recordings === undefined ? [] : [task.service ?? '?']),
        `${task.chain}.${task.position}`,
        // Several processes: from the earliest one's start, so that the services' times compare.
        ms(
          recordings === undefined || task.beganMs === null
            ? task.beganMs
            : task.beganMs + (offsets.get(task.stream) ?? 0),
        ),
        String(task.records),
        describeStart(task),
      ]),
    ]),
  );
  lines.push('', 'Happens-before edges (earlier -> later)');
  if (report.edges.length === 0) {
    lines.push('  none: every task started without a recorded cause');
  } else {
    lines.push(
      table(
        report.edges.map((edge) => {
          const to = report.tasks[edge.to];
          const where = to?.site ? `${siteLocation(to.site)} in ${to.site.functionName}` : '';
          return [`  #${edge.from} -> #${edge.to}`, edge.kind, where];
        }),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
