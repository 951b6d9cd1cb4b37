/** `causeway analyze <trace-file>`: the tasks of a recorded run and the happens-before edges between them. */

import {
  buildTraceReport,
  describeEvidence,
  type FailureReport,
  type FindingReport,
  loadTraceFile,
  siteLocation,
  type TaskReport,
  type TraceReport,
} from '@causeway/core';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

export const ANALYZE_HELP = `Usage: causeway analyze <trace-file> [--json]

Reads a trace recorded by @causeway/instrumentation, orders its events by happens-before in the
causal core, and prints:
  - the findings: races on shared state (lost updates, inconsistent reads, unordered writes...),
    each with the code sites involved, the values read and written, how sure Causeway is, and
    what to do about it (docs/detectors.md defines each kind);
  - the tasks: each synchronous run of code (the program's start, every await continuation,
    every event-loop callback into instrumented code), with the chain it belongs to, when it
    started, and the await it continues or the function the callback entered;
  - the happens-before edges between tasks: an edge a -> b means a finished before b could start
    and caused it. Two tasks with no path of edges between them are concurrent.

Options:
  --json      print the same as one JSON document (its shape is in docs/cli.md)
  -h, --help  show this help

Trace files are written to .causeway/traces/ by 'node --import @causeway/instrumentation/register'.
`;

export function analyze(args: string[], io: Io): number {
  const { values, positionals } = parseCommandArgs('analyze', args, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(ANALYZE_HELP);
    return 0;
  }
  const [path, ...extra] = positionals;
  if (path === undefined) {
    throw new UsageError("analyze: missing <trace-file>. Run 'causeway analyze --help' for usage.");
  }
  if (extra.length > 0) {
    throw new UsageError(`analyze: unexpected argument '${extra[0]}': analyze reads one trace file.`);
  }
  const loaded = loadTraceFile(path);
  try {
    const report = buildTraceReport(path, loaded);
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  } finally {
    loaded.trace.dispose();
  }
  return 0;
}

const ROLE_LABELS: Record<string, string> = { first: 'first', remote: 'meanwhile', second: 'then' };

function renderFindings(findings: readonly FindingReport[]): string[] {
  if (findings.length === 0) {
    return ['Findings: none. No two concurrent tasks touched the same property with a write among them.'];
  }
  const lines = [`Findings (${findings.length})`];
  findings.forEach((finding, i) => {
    const times = finding.occurrences > 1 ? ` · ${finding.occurrences} times` : '';
    lines.push(
      '',
      `${i + 1}. ${finding.title} on object #${finding.location.objectId} ${finding.location.property}${times}`,
      `   evidence: ${describeEvidence(finding.evidence)}`,
      `   ${finding.story}`,
    );
    lines.push(
      table(
        finding.accesses.map((access) => [
          `   ${ROLE_LABELS[access.role] ?? access.role}`,
          `task #${access.task}`,
          access.kind,
          access.value ?? '(not captured)',
          access.site === null
            ? '(site unknown)'
            : `${siteLocation(access.site)} in ${access.site.functionName}`,
        ]),
      ),
    );
    lines.push(`   fix: ${finding.recommendation}`);
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

function describeStart(task: TaskReport): string {
  if (task.startedBy === 'root') return 'program start';
  if (task.site === null)
    return task.startedBy === 'unknown' ? '(start record lost)' : 'await (site unknown)';
  const how = task.startedBy === 'callback' ? 'callback into' : 'await';
  return `${how} ${siteLocation(task.site)} in ${task.site.functionName}`;
}

function ms(value: number | null): string {
  return value === null ? '?' : `+${value.toFixed(2)} ms`;
}

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map(
      (row) =>
        `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')}`,
    )
    .join('\n');
}

export function renderReport(report: TraceReport): string {
  const { meta, stats } = report;
  const lines = [
    `Trace ${meta.traceId} · service ${meta.service} · pid ${meta.pid} · Node ${meta.node} · started ${meta.startedAt}`,
    `${stats.records} records, ${stats.dropped} dropped · ${stats.tasks} tasks in ${stats.chains} chains`,
  ];
  if (report.end === null) {
    lines.push(
      'note: the recording did not finish (the process crashed or was killed); showing what was written.',
    );
  }
  if (stats.dropped > 0) {
    lines.push(`note: ${stats.dropped} records were lost (ring full); edges near the gaps may be missing.`);
  }
  lines.push('', ...renderFindings(report.findings), ...renderFailures(report.failures));
  lines.push('', 'Tasks');
  lines.push(
    table([
      ['task', 'chain', 'start', 'records', 'started by'],
      ...report.tasks.map((task) => [
        `#${task.id}`,
        `${task.chain}.${task.position}`,
        ms(task.beganMs),
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
          return [`#${edge.from} -> #${edge.to}`, edge.kind, where];
        }),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
