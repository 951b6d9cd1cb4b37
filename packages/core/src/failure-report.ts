/**
 * Failure cascades in words: the core's failure steps (causal-trace.ts, `failures()`) with sites
 * and times resolved, the root cause named, and what never ran because of it. What
 * `causeway analyze` prints under "Failures", and what the server and the TUI show.
 */

import type { FailureStep, Task } from './causal-trace.ts';
import { type Site, type SiteIndex, siteLocation } from './sites.ts';

export interface FailureCallReport {
  /** 0 where the error surfaced; the highest depth is the root cause. */
  depth: number;
  /** The async function that threw; null when its site table was not recorded. */
  function: Site | null;
  /** Task index of the continuation in which it threw (or began, for a call that threw at once). */
  task: number;
  /** The await that resumed rejected, null when the call threw by itself. */
  rejectedAt: Site | null;
  /** How long that await waited, from the start of the task that suspended there; null if unknown. */
  waitedMs: number | null;
  /** The task recorded just before the rejected continuation, with the site it began at. */
  rejectedAfter: { task: number; site: Site | null } | null;
  /** Functions the same function's successful runs called and this run never did. */
  neverCalled: Site[];
}

export interface FailureReport {
  /** Index in the report's failures. */
  failure: number;
  /** `Failure: OrderService.processOrder threw` */
  title: string;
  /** The calls the error went through, root cause first, surfaced last. */
  calls: FailureCallReport[];
  /** What happened, in one paragraph. */
  story: string;
}

function functionName(site: Site | null): string {
  return site === null ? 'an async function (site not recorded)' : site.functionName;
}

function where(site: Site | null): string {
  return site === null ? '' : ` (${siteLocation(site)})`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

function rootCause(call: FailureCallReport): string {
  const name = functionName(call.function);
  if (call.rejectedAt === null) return `${name}${where(call.function)} threw`;
  const waited = call.waitedMs === null ? '' : ` after waiting ${ms(call.waitedMs)}`;
  const after =
    call.rejectedAfter === null
      ? ''
      : `; the task that ran just before, #${call.rejectedAfter.task}${
          call.rejectedAfter.site === null
            ? ''
            : `, began at ${siteLocation(call.rejectedAfter.site)} in ${call.rejectedAfter.site.functionName}`
        }, is the likeliest to have rejected it`;
  return `the await at ${siteLocation(call.rejectedAt)} in ${name} was rejected${waited}, and no traced call it made threw${after}`;
}

function story(calls: readonly FailureCallReport[]): string {
  const root = calls[0] as FailureCallReport;
  const parts = [`Root cause: ${rootCause(root)}.`];
  for (const call of calls.slice(1)) {
    parts.push(
      `Then ${functionName(call.function)} threw${call.rejectedAt === null ? '' : ` at its await ${siteLocation(call.rejectedAt)}`} (task #${call.task}).`,
    );
  }
  const missed = calls.filter((call) => call.neverCalled.length > 0);
  for (const call of missed) {
    const names = call.neverCalled.map((site) => site.functionName).join(', ');
    parts.push(
      `Because of it, ${functionName(call.function)} never called ${names}, which its successful runs in this trace did.`,
    );
  }
  return parts.join(' ');
}

/** The core's failure steps as cascades in words, in the order the failures surfaced. */
export function buildFailureReports(
  steps: readonly FailureStep[],
  tasks: readonly Task[],
  sites: SiteIndex,
): FailureReport[] {
  const byFailure = new Map<number, FailureStep[]>();
  for (const step of steps) {
    const list = byFailure.get(step.failure) ?? [];
    list.push(step);
    byFailure.set(step.failure, list);
  }
  const began = (task: number | null): number | null =>
    task === null ? null : (tasks[task]?.beginMs ?? null);
  return [...byFailure.entries()].map(([failure, list]) => {
    const calls = list
      .sort((x, y) => y.depth - x.depth)
      .map((step): FailureCallReport => {
        const rejected = step.rejectedAwait;
        const resumedMs = began(rejected?.task ?? null);
        const suspendedMs = began(rejected?.suspendedIn ?? null);
        return {
          depth: step.depth,
          function: sites.lookup(step.stream, step.site),
          task: rejected?.task ?? step.endedIn ?? step.enteredIn,
          rejectedAt: rejected === null ? null : sites.lookup(step.stream, rejected.site),
          waitedMs: resumedMs === null || suspendedMs === null ? null : resumedMs - suspendedMs,
          rejectedAfter:
            rejected?.after == null
              ? null
              : {
                  task: rejected.after,
                  site: sites.lookup(step.stream, tasks[rejected.after]?.beginSite ?? 0),
                },
          neverCalled: step.neverCalled.flatMap((site) => sites.lookup(step.stream, site) ?? []),
        };
      });
    const surfaced = calls[calls.length - 1] as FailureCallReport;
    return {
      failure,
      title: `Failure: ${functionName(surfaced.function)}${where(surfaced.function)} threw`,
      calls,
      story: story(calls),
    };
  });
}
