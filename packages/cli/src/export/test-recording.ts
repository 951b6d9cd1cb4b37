/**
 * What `causeway export --format test` takes from a trace (docs/export-test.md, "The recording"):
 * the requests, the calls each made of the gated dependency and what those calls read and wrote,
 * the order the calls ran in, and the invariant of each lost update. Keys are causal identities
 * (request n, its k-th call of a method), never timestamps.
 */

import type { FindingReport, TraceEvent, TraceReport } from '@causeway/core';
import {
  RECORDING_VERSION,
  type RecordedCall,
  type RecordedInvariant,
  type RecordedRequest,
  type RecordedValue,
  type ReplayRecording,
  type ReplayStep,
} from '@causeway/instrumentation/replay';
import { CliErrorCode, InputError } from '../errors.ts';
import { addOutgoingCalls } from './test-exchanges.ts';

const LOW_WORD = 2 ** 32;

/** `.balance` → `balance`, `["shipping-ms"]` → `shipping-ms`, `[3]` → `3`. */
export function propertyName(property: string): string {
  if (property.startsWith('.')) return property.slice(1);
  const inner = property.slice(1, -1);
  if (inner.startsWith('"')) {
    try {
      return String(JSON.parse(inner));
    } catch {
      return inner;
    }
  }
  return inner;
}

/** A value as the events render it (`1000`, `"alice"`, `object #3`, null when not captured). */
export function recordedValue(text: string | null): RecordedValue {
  if (text === null) return { notCaptured: true };
  if (text === 'undefined') return { undefined: true };
  const object = /^object #(\d+)$/.exec(text);
  if (object !== null) return { object: Number(object[1]) };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
      return value as RecordedValue;
  } catch {
    // Not JSON (`NaN`, `-0`, `string #7`): kept as the text the trace shows.
  }
  const number = Number(text);
  return text === 'NaN' || text === '-0' ? number : { notCaptured: true };
}

function nothing(where: string, why: string): InputError {
  return new InputError(CliErrorCode.NOTHING_TO_REPRODUCE, `${where}: ${why}`);
}

/** The class whose methods hold the finding's accesses: its calls are the await points replayed. */
function gatedClassOf(finding: FindingReport, where: string): string {
  for (const access of finding.accesses) {
    const site = access.site;
    if (site === null) continue;
    if (site.file.startsWith('<')) {
      throw nothing(
        where,
        `the lost update on ${finding.location.name} is in ${site.file}, whose results the trace does not hold (it records statements and row counts, not rows); --format test replays in-memory state`,
      );
    }
    const dot = site.functionName.indexOf('.');
    if (dot > 0) return site.functionName.slice(0, dot);
  }
  throw nothing(
    where,
    `the accesses of ${finding.location.name} are not in methods of a class; --format test gates a class's calls`,
  );
}

interface RequestInfo {
  recorded: RecordedRequest;
  counts: Map<string, number>;
}

interface CallInfo {
  request: RequestInfo;
  call: RecordedCall;
  /** The event at which the call did its work: its first resume, or its exit when it never awaited. */
  effectAt: number | null;
  /** When the task of that event started (ms since the stream's epoch). */
  effectMs: number | null;
}

export function recordingOf(
  report: TraceReport,
  events: readonly TraceEvent[],
  where: string,
): ReplayRecording {
  const lostUpdates = report.findings.filter((finding) => finding.class === 'lost-update');
  const [first] = lostUpdates;
  if (first === undefined) {
    const others = report.findings.map((finding) => finding.class);
    throw nothing(
      where,
      `no lost update to reproduce (${others.length === 0 ? 'no findings' : `findings: ${[...new Set(others)].join(', ')}`}); --format test turns a lost update into a failing test`,
    );
  }
  const gatedClass = gatedClassOf(first, where);
  const { tasks } = report;
  const taskIndex = new Map(tasks.map((task) => [`${task.stream}:${task.localId}`, task.id]));
  const chainOf = (task: number) => tasks[task]?.chain ?? -1;
  const beganMs = (task: number) => tasks[task]?.beganMs ?? null;
  let clockStream: number | null = null;

  // Requests, in arrival order, and the causal chains that ran their handlers.
  const requests: RequestInfo[] = [];
  const byRequestTask = new Map<number, RequestInfo>();
  const byChain = new Map<number, RequestInfo>();
  for (const event of events) {
    if (event.kindName === 'http-request') {
      const [method = '', ...path] = (tasks[event.task]?.request ?? '').split(' ');
      const info: RequestInfo = {
        recorded: {
          request: requests.length + 1,
          method,
          path: path.join(' '),
          status: null,
          atMs: event.timeMs ?? beganMs(event.task),
          calls: [],
          outgoing: [],
        },
        counts: new Map(),
      };
      clockStream ??= event.stream;
      requests.push(info);
      byRequestTask.set(event.task, info);
      byChain.set(chainOf(event.task), info);
    } else if (event.kindName === 'http-response' && event.invocation !== null) {
      const requestTask = taskIndex.get(`${event.stream}:${event.invocation % LOW_WORD}`);
      const info = requestTask === undefined ? undefined : byRequestTask.get(requestTask);
      if (info === undefined) continue;
      info.recorded.status = Math.floor(event.invocation / LOW_WORD);
      byChain.set(chainOf(event.task), info);
    }
  }

  // The gated calls each request made, and what they read and wrote.
  const calls: CallInfo[] = [];
  const byInvocation = new Map<string, CallInfo>();
  const callOfTask = new Map<number, CallInfo>();
  for (const event of events) {
    const fn = event.site?.functionName ?? '';
    const invocation = event.invocation === null ? null : `${event.stream}:${event.invocation}`;
    if (event.kindName === 'fn-enter' && invocation !== null && fn.startsWith(`${gatedClass}.`)) {
      const method = fn.slice(gatedClass.length + 1);
      if (method.startsWith('#') || method === 'constructor') continue;
      const request = byChain.get(chainOf(event.task));
      if (request === undefined) continue;
      const ordinal = (request.counts.get(fn) ?? 0) + 1;
      request.counts.set(fn, ordinal);
      const info: CallInfo = {
        request,
        call: { method: fn, ordinal, reads: [], writes: [] },
        effectAt: null,
        effectMs: null,
      };
      request.recorded.calls.push(info.call);
      calls.push(info);
      byInvocation.set(invocation, info);
      callOfTask.set(event.task, info);
      continue;
    }
    const info = invocation === null ? undefined : byInvocation.get(invocation);
    if (info !== undefined) {
      if (event.kindName === 'await-resume') {
        if (info.effectAt === null) {
          info.effectAt = event.index;
          info.effectMs = event.timeMs ?? beganMs(event.task);
        }
        callOfTask.set(event.task, info);
      } else if (
        event.kindName === 'await-suspend' ||
        event.kindName === 'fn-exit' ||
        event.kindName === 'fn-throw'
      ) {
        if (event.kindName !== 'await-suspend' && info.effectAt === null) {
          info.effectAt = event.index;
          info.effectMs = beganMs(event.task);
        }
        callOfTask.delete(event.task);
      }
      continue;
    }
    const access = event.access;
    const current = callOfTask.get(event.task);
    if (access !== null && current !== undefined) {
      const pair: [string, RecordedValue] = [propertyName(access.property), recordedValue(access.value)];
      (access.kind === 'read' ? current.call.reads : current.call.writes).push(pair);
    }
  }
  // A request that made no call of the gated class cannot take part in the race: it is left out
  // (its query, which the trace drops, could make it answer otherwise), and the rest renumbered.
  const replayed = requests.filter((info) => info.recorded.calls.length > 0);
  const leftOut = requests.filter((info) => info.recorded.calls.length === 0);
  for (const info of leftOut) info.recorded.request = 0;
  replayed.forEach((info, i) => {
    info.recorded.request = i + 1;
  });
  const steps: ReplayStep[] = calls
    .filter((info) => info.effectAt !== null)
    .sort((x, y) => (x.effectAt as number) - (y.effectAt as number))
    .map(({ request, call, effectMs }) => ({
      request: request.recorded.request,
      method: call.method,
      ordinal: call.ordinal,
      atMs: effectMs,
    }));
  addOutgoingCalls(events, (event) => {
    const recorded = byChain.get(chainOf(event.task))?.recorded;
    return recorded !== undefined && recorded.request > 0 ? recorded : undefined;
  });

  const invariants = lostUpdates.flatMap((finding) => invariantOf(finding, events, byChain, chainOf) ?? []);
  if (invariants.length === 0) {
    throw nothing(
      where,
      `cannot tell where ${lostUpdates.map((finding) => finding.location.name).join(', ')} is kept (no write stores the object under a key) or its numeric values: no invariant to assert`,
    );
  }
  return {
    version: RECORDING_VERSION,
    traceId: report.meta.traceId,
    clock: {
      originMs: report.streams.find(({ stream }) => stream === clockStream)?.epochMs ?? 0,
    },
    gatedClass,
    requests: replayed.map((info) => info.recorded),
    leftOut: leftOut.map(({ recorded }) => `${recorded.method} ${recorded.path}`),
    steps,
    invariants,
  };
}

/**
 * A lost update's invariant: the location ends at its first value plus every request's change
 * (what it wrote minus what it had read there). Null when the trace cannot say.
 */
function invariantOf(
  finding: FindingReport,
  events: readonly TraceEvent[],
  byChain: ReadonlyMap<number, RequestInfo>,
  chainOf: (task: number) => number,
): RecordedInvariant | null {
  const { stream, objectId, property } = finding.location;
  const stored = `object #${objectId}`;
  let key: string | null = null;
  let initial: number | null = null;
  let recordedFinal: number | null = null;
  const lastRead = new Map<number, number>();
  const changes: { request: number; change: number }[] = [];
  for (const event of events) {
    const access = event.access;
    if (access === null || event.stream !== stream) continue;
    if (access.kind !== 'read' && access.value === stored) key ??= propertyName(access.property);
    if (access.objectId !== objectId || access.property !== property) continue;
    const value = access.value === null ? Number.NaN : Number(access.value);
    if (!Number.isFinite(value)) continue;
    initial ??= value;
    // 0: a request left out of the replay; its accesses count as no request's, like startup's.
    const request = byChain.get(chainOf(event.task))?.recorded.request || undefined;
    if (access.kind === 'read') {
      if (request !== undefined) lastRead.set(request, value);
      continue;
    }
    recordedFinal = value;
    const before = request === undefined ? undefined : lastRead.get(request);
    if (request !== undefined && before !== undefined) changes.push({ request, change: value - before });
  }
  if (key === null || initial === null || recordedFinal === null) return null;
  return {
    finding: `${finding.title} on ${finding.location.name}: ${finding.story}`,
    key,
    property: propertyName(property),
    initial,
    changes,
    expected: changes.reduce((sum, { change }) => sum + change, initial),
    recordedFinal,
  };
}
