/**
 * Failure cascades in words: the core's failure steps (causal-trace.ts, `failures()`) with sites
 * and times resolved, the root cause named, and what never ran because of it. What
 * `causeway analyze` prints under "Failures", and what the server and the TUI show.
 */

import type { FailureStep, Task } from './causal-trace.ts';
import type { RemoteExchange } from './load-recordings.ts';
import { type Site, type SiteIndex, siteLocation } from './sites.ts';
import type { StringIndex } from './strings.ts';

/**
 * The HTTP request a rejected await was waiting for, when the recordings of both sides were
 * loaded together (loadRecordings): what the caller saw, and how the service that handled it
 * fared. It names the slow or failing service a timeout cascade started in.
 */
export interface RemoteCallReport {
  method: string;
  url: string;
  /** The error the caller's request failed with (`TimeoutError`, `ECONNRESET`). */
  error: string;
  /** A timeout fired (the caller gave up waiting). */
  timedOut: boolean;
  /** From sending the request to the error. */
  durationMs: number;
  /** The request task that handled it in the other service; null when that recording was not loaded. */
  handledBy: {
    task: number;
    service: string;
    /** `POST /charge` */
    request: string | null;
    /** How the handling ended; null when it had not answered when its recording ended. */
    response: { status: number; durationMs: number; failed: boolean } | null;
  } | null;
}

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
  /** The task recorded just before the rejected continuation, with the site it began at (or the first function it entered). */
  rejectedAfter: { task: number; site: Site | null } | null;
  /** Functions the same function's successful runs called and this run never did. */
  neverCalled: Site[];
  /** Task index of the task that suspended at the rejected await; null if unknown. */
  suspendedIn: number | null;
  /** For the root cause, across services: the HTTP request the rejected await waited for. */
  remote?: RemoteCallReport;
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

function remoteCause(remote: RemoteCallReport): string {
  const failed = `its request ${remote.method} ${remote.url} failed with ${remote.error}${
    remote.timedOut ? ` (the caller's timeout fired after ${ms(remote.durationMs)})` : ''
  }`;
  const handled = remote.handledBy;
  if (handled === null)
    return `${failed}; the service it went to was not recorded, or its recording was not loaded`;
  const by = `${handled.service} handled it in task #${handled.task}${handled.request === null ? '' : ` (${handled.request})`}`;
  const response = handled.response;
  if (response === null)
    return `${failed}. ${by} and had not answered when its recording ended: ${handled.service} is the slow service`;
  if (response.failed) {
    // The caller giving up closes the connection: the handler was still at work then.
    return remote.timedOut
      ? `${failed}. ${by} and had not answered when the caller gave up (the connection closed after ${ms(response.durationMs)}): ${handled.service} is the slow service`
      : `${failed}. ${by}; the connection closed after ${ms(response.durationMs)} before it answered`;
  }
  const late = remote.timedOut && response.durationMs > remote.durationMs;
  return `${failed}. ${by} and answered ${response.status} after ${ms(response.durationMs)}${
    late
      ? `, too late: ${handled.service} is the slow service`
      : response.status >= 500
        ? `: ${handled.service} failed`
        : ''
  }`;
}

function rootCause(call: FailureCallReport): string {
  const name = functionName(call.function);
  if (call.rejectedAt === null) return `${name}${where(call.function)} threw`;
  const waited = call.waitedMs === null ? '' : ` after waiting ${ms(call.waitedMs)}`;
  if (call.remote !== undefined) {
    return `the await at ${siteLocation(call.rejectedAt)} in ${name} was rejected${waited}: ${remoteCause(call.remote)}`;
  }
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
                  site: sites.lookup(step.stream, tasks[rejected.after]?.beginSite || rejected.afterEntered),
                },
          neverCalled: step.neverCalled.flatMap((site) => sites.lookup(step.stream, site) ?? []),
          suspendedIn: rejected?.suspendedIn ?? null,
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

/** Where each task's service and request come from, for `explainRemoteCauses`. */
export interface RemoteContext {
  exchanges: readonly RemoteExchange[];
  tasks: readonly {
    index: number;
    stream: number;
    localId: number;
    service?: string;
    request: string | null;
  }[];
  strings: StringIndex;
}

/**
 * Follows each cascade's root cause across services: when its rejected await was waiting for an
 * HTTP request (the task that suspended there sent one, and it failed), the root cause names the
 * request, and the request task that handled it in the other recording with how that ended. The
 * stories are rewritten to say so. Reports over several recordings only (report.ts).
 */
export function explainRemoteCauses(failures: FailureReport[], context: RemoteContext): void {
  const byLocal = new Map(context.tasks.map((task) => [`${task.stream}:${task.localId}`, task]));
  for (const failure of failures) {
    const root = failure.calls[0];
    if (root === undefined || root.rejectedAt === null || root.suspendedIn === null) continue;
    const suspended = context.tasks[root.suspendedIn];
    if (suspended === undefined) continue;
    const sent = context.exchanges.filter(
      (exchange) =>
        exchange.stream === suspended.stream &&
        exchange.task === suspended.localId &&
        exchange.outcome !== null &&
        'error' in exchange.outcome,
    );
    const exchange = sent[sent.length - 1];
    if (exchange === undefined || exchange.outcome === null || !('error' in exchange.outcome)) continue;
    const handler =
      exchange.handledBy === null
        ? undefined
        : byLocal.get(`${exchange.handledBy.stream}:${exchange.handledBy.task}`);
    root.remote = {
      method: context.strings.string(exchange.stream, exchange.method) ?? '?',
      url: context.strings.string(exchange.stream, exchange.url) ?? '?',
      error: context.strings.string(exchange.stream, exchange.outcome.error) ?? 'an error',
      timedOut: exchange.outcome.timedOut,
      durationMs: exchange.outcome.durationMs,
      handledBy:
        handler === undefined || exchange.handledBy === null
          ? null
          : {
              task: handler.index,
              service: handler.service ?? '?',
              request: handler.request,
              response: exchange.handledBy.response,
            },
    };
    failure.story = story(failure.calls);
  }
}
