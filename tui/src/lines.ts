/**
 * The text of each pane, as lines, from the view-model. Pure: the views only colour and place
 * these lines, and tests read them without a terminal. Lines may be longer than the pane; the
 * views cut them at its edge.
 */

import {
  type AnomalyReport,
  describeEvidence,
  type FailureReport,
  type FindingReport,
  type LocationState,
  siteLocation,
} from '@causeway/core';
import {
  accessTarget,
  type CausalView,
  describeEvent,
  type EventDetails,
  type TaskSummary,
} from './trace-model.ts';

function ms(value: number | null): string {
  return value === null ? 'time unknown' : `+${value.toFixed(2)} ms`;
}

function taskName(task: TaskSummary): string {
  return `#${task.task} (chain ${task.chain})`;
}

export function causalLines(view: CausalView | null): string[] {
  if (view === null) return ['this event belongs to no task the core knows'];
  const lines = [`task ${taskName(view.task)} · ${ms(view.task.beganMs)}`, `  began: ${view.task.began}`];
  lines.push(view.causedBy.length === 0 ? 'caused by: nothing recorded' : 'caused by:');
  for (const link of view.causedBy) lines.push(`  ← ${link.kind.padEnd(7)} ${taskName(link.other)}`);
  if (view.causedByTotal > view.causedBy.length)
    lines.push(`  … ${view.causedByTotal - view.causedBy.length} more`);
  lines.push(view.caused.length === 0 ? 'caused: nothing' : `caused (${view.causedTotal}):`);
  for (const link of view.caused) {
    lines.push(`  → ${link.kind.padEnd(7)} ${taskName(link.other)} ${link.other.began}`);
  }
  if (view.causedTotal > view.caused.length) lines.push(`  … ${view.causedTotal - view.caused.length} more`);
  const concurrent = view.concurrent.map((t) => `#${t}`).join(' ');
  lines.push(
    view.concurrentNote !== null
      ? `concurrent with: ${view.concurrentNote}`
      : view.concurrent.length === 0
        ? 'concurrent with: none (ordered with every task)'
        : `concurrent with: ${concurrent}${view.more ? ' …' : ''}`,
  );
  return lines;
}

/** Details of one event; `full` adds what the Enter view has room for. */
export function detailsLines(details: EventDetails, full: boolean): string[] {
  const { event } = details;
  const lines = [`event ${event.index} · ${event.kindName} · stream ${event.stream} seq ${event.seq}`];
  if (event.site === null) lines.push('site: not recorded');
  else lines.push(`at ${details.location} in ${event.site.functionName}`);
  if (details.sourceLine !== null && event.site !== null) {
    lines.push(`  ${event.site.line} │ ${details.sourceLine.trim()}`);
  } else if (event.site !== null) {
    lines.push('  (source file not found)');
  }
  if (event.access !== null) {
    const { access } = event;
    lines.push(`${access.kind} ${accessTarget(event)}: ${access.value ?? '(value not captured)'}`);
  } else {
    lines.push(`what: ${describeEvent(event) || event.kindName}`);
  }
  if (details.task !== null) {
    lines.push(`task ${taskName(details.task)} · ${ms(details.task.beganMs)}`);
  } else {
    lines.push('task: unknown');
  }
  lines.push(
    details.clockNote !== null
      ? `clock: ${details.clockNote}`
      : details.clock === null
        ? `clock: ${details.chains} chains, shown with Enter`
        : `clock: ${describeClock(details.clock)}`,
  );
  if (details.stack === null) lines.push('stack: not served by the server');
  else if (details.stack.length > 0) lines.push(`stack: ${details.stack.join(' › ')}`);
  if (event.invocation !== null) lines.push(`invocation ${event.invocation}`);
  if (event.timeMs !== null) lines.push(`time ${ms(event.timeMs)}`);
  if (details.findings.length > 0) {
    lines.push(`part of finding ${details.findings.map((n) => `${n}`).join(', ')} (see Findings)`);
  }
  if (full && details.task !== null) lines.push(`task began: ${details.task.began}`);
  return lines;
}

/**
 * A vector clock, one component per chain: in full when short, else its non-zero components
 * (`c3=2`), as a trace with many chains has mostly zeros.
 */
export function describeClock(clock: readonly number[], limit = 8): string {
  if (clock.length <= limit) return `[${clock.join(', ')}]`;
  const nonZero: string[] = [];
  clock.forEach((value, chain) => {
    if (value !== 0) nonZero.push(`c${chain}=${value}`);
  });
  const shown = nonZero.slice(0, limit).join(' ');
  const more = nonZero.length > limit ? ` +${nonZero.length - limit} more` : '';
  return `${shown}${more} (${nonZero.length} of ${clock.length} chains non-zero)`;
}

/** Time travel: the locations written last as of event `index`, latest first. */
export function timeTravelLines(
  recent: { locations: readonly LocationState[]; written: number } | string,
  index: number,
): string[] {
  if (typeof recent === 'string') return [recent];
  const { locations, written } = recent;
  const lines = [`as of event ${index}: ${written} location${written === 1 ? '' : 's'} written`];
  for (const state of locations) {
    const value = state.deleted ? '(deleted)' : (state.value ?? '(not captured)');
    const task = state.task < 0 ? '' : `, task #${state.task}`;
    lines.push(`obj#${state.objectId}${state.property} = ${value}  · event ${state.writtenAt}${task}`);
  }
  if (written === 0) lines.push('nothing written yet');
  return lines;
}

const ROLES: Record<string, string> = { first: 'first', remote: 'meanwhile', second: 'then' };

/**
 * The findings in words; those of the selected event first, then the rest in the core's order.
 * Stops once it has `limit` lines: a trace can hold thousands of findings, a pane a few lines.
 */
export function findingLines(
  findings: readonly FindingReport[],
  selected: readonly number[],
  width: number,
  full: boolean,
  limit = Number.POSITIVE_INFINITY,
): string[] {
  if (findings.length === 0)
    return ['none: no two concurrent tasks touched a property with a write among them'];
  const order = findings.map((_, i) => i + 1);
  const first = order.filter((n) => selected.includes(n));
  const lines: string[] = [];
  for (const number of [...first, ...order.filter((n) => !selected.includes(n))]) {
    if (lines.length >= limit) break;
    const finding = findings[number - 1] as FindingReport;
    const times = finding.occurrences > 1 ? ` · ${finding.occurrences} times` : '';
    const mark = selected.includes(number) ? '▶ ' : '';
    lines.push(
      `${mark}${number}. ${finding.title} on ${finding.location.name}${times} · ${finding.severity} severity · ${describeEvidence(finding.evidence)}`,
    );
    lines.push(...wrap(finding.story, width - 3).map((line) => `   ${line}`));
    if (full) {
      for (const access of finding.accesses) {
        const site =
          access.site === null ? 'site unknown' : `${siteLocation(access.site)} ${access.site.functionName}`;
        lines.push(
          `   ${(ROLES[access.role] ?? access.role).padEnd(9)} task #${access.task} ${access.kind} ${access.value ?? '?'}  ${site}`,
        );
      }
      lines.push(...wrap(`fix: ${finding.recommendation}`, width - 3).map((line) => `   ${line}`));
    }
  }
  return lines;
}

/**
 * The failure cascades and the anomalies, after the races: each failure's title, its calls from
 * root cause to where the error surfaced (in full) and its story; each anomaly's story.
 */
export function failureLines(
  failures: readonly FailureReport[],
  anomalies: readonly AnomalyReport[],
  width: number,
  full: boolean,
): string[] {
  const lines: string[] = [];
  failures.forEach((failure, at) => {
    lines.push(
      `F${at + 1}. ${failure.title} · ${failure.calls.length} call${failure.calls.length === 1 ? '' : 's'}`,
    );
    if (full) {
      for (const call of [...failure.calls].sort((a, b) => b.depth - a.depth)) {
        const fn =
          call.function === null
            ? 'site unknown'
            : `${call.function.functionName} ${siteLocation(call.function)}`;
        const how = call.rejectedAt === null ? 'threw' : `rejected at ${siteLocation(call.rejectedAt)}`;
        lines.push(
          `   ${call.depth === 0 ? 'surfaced' : `depth ${call.depth}`.padEnd(8)} task #${call.task} ${fn} ${how}`,
        );
      }
    }
    lines.push(...wrap(failure.story, width - 3).map((line) => `   ${line}`));
  });
  anomalies.forEach((anomaly, at) => {
    const what = anomaly.kind === 'slow-await' ? 'Slow await' : 'Await never resumed';
    const where = anomaly.site === null ? '' : ` at ${siteLocation(anomaly.site)}`;
    lines.push(`A${at + 1}. ${what}${where} · task #${anomaly.task}`);
    lines.push(...wrap(anomaly.story, width - 3).map((line) => `   ${line}`));
  });
  return lines;
}

export const HELP_LINES: readonly string[] = [
  'Keys',
  '  ↑ ↓  j k      previous / next event',
  '  PgUp PgDn     a page of events',
  '  g G           first / last event',
  '  ← →  h l      previous / next trace',
  '  Enter         details of the event (Enter or Esc closes)',
  '  t             time travel: the tracked objects as of the event',
  '  a             findings only: the events of race findings, findings in full',
  '  /             search by function, file, property or value; n N next / prev',
  '  r             refresh the trace list and the trace',
  '  ?             this help',
  '  q  Ctrl+C     quit',
  '',
  'Panes',
  '  timeline: every recorded event in order; ! marks an event of a finding',
  '  causes: what caused the event’s task (←), what it caused (→), concurrent ones',
  '  details: code site, source line, value, task and its vector clock',
  '  findings: races in words with the fix, failure cascades (F1), anomalies (A1)',
  '',
  'Press any key to close.',
];

/** Breaks `text` into lines of at most `width` characters, at spaces when it can. */
export function wrap(text: string, width: number): string[] {
  const limit = Math.max(10, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= limit) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
    while (line.length > limit) {
      lines.push(line.slice(0, limit));
      line = line.slice(limit);
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
