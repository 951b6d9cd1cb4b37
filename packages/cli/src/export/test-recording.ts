/**
 * What `causeway export --format test` takes from a trace (docs/export-test.md, "The recording"):
 * the requests, the calls each made of the gated dependency and what those calls read and wrote,
 * the order the calls ran in, and the invariant of each lost update. Keys are causal identities
 * (request n, its k-th call of a method), never timestamps.
 */

import type { FindingReport, TraceEvent, TraceReport } from '@causeway/core';
import { DB_SITE_FILE } from '@causeway/core/event-format';
import {
  RECORDING_VERSION,
  type RecordedCall,
  type RecordedColumn,
  type RecordedDbCall,
  type RecordedInvariant,
  type RecordedRequest,
  type RecordedValue,
  type ReplayRecording,
  type ReplayStep,
} from '@causeway/instrumentation/replay';
import { CliErrorCode, InputError } from '../errors.ts';
import { addOutgoingCalls, exchangeKey, incomingCaptures } from './test-exchanges.ts';

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

/** Kinds that carry an async invocation id (function and await records). */
const INVOCATION_KINDS = new Set(['fn-enter', 'fn-exit', 'fn-throw', 'await-suspend', 'await-resume']);

/** Is the event an access of `location`? */
function accesses(event: TraceEvent, location: FindingReport['location']): boolean {
  const access = event.access;
  return (
    access !== null &&
    event.stream === location.stream &&
    access.objectId === location.objectId &&
    access.property === location.property
  );
}

/**
 * The class of the innermost `Class.method` running when `location` was first accessed: for a
 * database row, the app's method that made the query (`PostgresAccountStore.find`). Frames are
 * followed per task: entered and exited functions, and the function an await resumed in.
 */
function enclosingClass(events: readonly TraceEvent[], location: FindingReport['location']): string | null {
  const stacks = new Map<number, string[]>();
  for (const event of events) {
    const fn = event.site?.functionName ?? '';
    if (event.kindName === 'fn-enter') {
      const stack = stacks.get(event.task) ?? [];
      stack.push(fn);
      stacks.set(event.task, stack);
    } else if (event.kindName === 'fn-exit') {
      const stack = stacks.get(event.task);
      const at = stack?.lastIndexOf(fn) ?? -1;
      if (stack !== undefined && at >= 0) stack.length = at;
    } else if (event.kindName === 'await-resume') {
      stacks.set(event.task, [fn]);
    } else if (accesses(event, location)) {
      const method = (stacks.get(event.task) ?? []).findLast((name) => name.indexOf('.') > 0);
      return method === undefined ? null : method.slice(0, method.indexOf('.'));
    }
  }
  return null;
}

/**
 * The class whose methods hold the finding's accesses (for a database row, whose methods made
 * its queries): its calls are the await points replayed.
 */
function gatedClassOf(finding: FindingReport, events: readonly TraceEvent[], where: string): string {
  for (const access of finding.accesses) {
    const site = access.site;
    if (site === null) continue;
    if (site.file === DB_SITE_FILE) {
      const found = enclosingClass(events, finding.location);
      if (found !== null) return found;
      throw nothing(
        where,
        `the queries of ${finding.location.name} are not made in methods of a class; --format test gates a class's calls`,
      );
    }
    if (site.file.startsWith('<')) {
      throw nothing(
        where,
        `the lost update on ${finding.location.name} is in ${site.file}, which --format test cannot replay`,
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

/** The column an `UPDATE … SET column = $n …` statement writes (what a row write's value is). */
function assignedColumn(statement: string): string | null {
  return /\bSET\s+"?([A-Za-z_][\w$]*)"?\s*=\s*\$\d+/i.exec(statement)?.[1] ?? null;
}

/** A captured column value as a recorded value (an object's JSON is not one: not captured). */
function columnValue(value: RecordedColumn): RecordedValue {
  return value !== null && typeof value === 'object' ? { notCaptured: true } : value;
}

/**
 * The rows database reads saw: each row Read record follows its query's DbQuery in the same task,
 * so the read gets the query's first captured row (null when not captured).
 */
class RowReads {
  readonly #queryOfRead = new Map<number, string>();
  readonly #lastQuery = new Map<number, string>();
  /** Per query, the index of its result's record: the order the database answered in. */
  readonly #resultAt = new Map<string, number>();
  #db: ReadonlyMap<string, RecordedDbCall> = new Map();

  /** Follows the trace, event by event. */
  see(event: TraceEvent): void {
    if (event.kindName === 'db-query' && event.exchange !== null) {
      this.#lastQuery.set(event.task, exchangeKey(event.stream, event.exchange.id));
    } else if (event.kindName === 'db-result' && event.exchange !== null) {
      const key = exchangeKey(event.stream, event.exchange.id);
      if (!this.#resultAt.has(key)) this.#resultAt.set(key, event.index);
    } else if (event.access?.kind === 'read' && event.site?.file === DB_SITE_FILE) {
      const query = this.#lastQuery.get(event.task);
      if (query !== undefined) this.#queryOfRead.set(event.index, query);
    }
  }

  /** The queries, with their captured rows, once the trace has been read. */
  set queries(db: ReadonlyMap<string, RecordedDbCall>) {
    this.#db = db;
  }

  /**
   * When a database read (by event index) got its row: the index of its query's result record
   * (the read's own index when the trace has none). A read's record is written when its query is
   * sent; the row is what the database answered later, possibly after another request's UPDATE.
   */
  answeredAt(index: number): number {
    const query = this.#queryOfRead.get(index);
    return (query === undefined ? undefined : this.#resultAt.get(query)) ?? index;
  }

  /** The row a database read (by event index) saw, as column/value pairs; null when not captured. */
  row(index: number): [string, RecordedValue][] | null {
    const query = this.#queryOfRead.get(index);
    const rows = query === undefined ? undefined : this.#db.get(query)?.rows;
    const first = Array.isArray(rows) ? rows[0] : undefined;
    return first === undefined ? null : first.map(([name, value]) => [name, columnValue(value)]);
  }
}

/**
 * The tasks that ran each request's handler, found from the task that wrote its response: back
 * along await and spawn edges to where the handler began (a body parser's callback, which no
 * recorded edge joins to the request's own task), then forward along them. A request's causal
 * chain is not enough: an await resumed by a database driver's socket continues in another chain.
 */
function handlerTasks(
  report: TraceReport,
  responses: readonly { task: number; info: RequestInfo }[],
): Map<number, RequestInfo> {
  const into = new Map<number, number[]>();
  const from = new Map<number, number[]>();
  for (const edge of report.edges) {
    if (edge.kind !== 'await' && edge.kind !== 'spawn') continue;
    into.set(edge.to, [...(into.get(edge.to) ?? []), edge.from]);
    from.set(edge.from, [...(from.get(edge.from) ?? []), edge.to]);
  }
  const walk = (start: Iterable<number>, next: ReadonlyMap<number, number[]>): Set<number> => {
    const seen = new Set(start);
    const todo = [...seen];
    for (let task = todo.pop(); task !== undefined; task = todo.pop()) {
      for (const other of next.get(task) ?? []) {
        if (!seen.has(other)) {
          seen.add(other);
          todo.push(other);
        }
      }
    }
    return seen;
  };
  const byTask = new Map<number, RequestInfo>();
  for (const { task, info } of responses) {
    for (const handler of walk(walk([task], into), from)) {
      if (!byTask.has(handler)) byTask.set(handler, info);
    }
  }
  return byTask;
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
  const gatedClass = gatedClassOf(first, events, where);
  const rowReads = new RowReads();
  /** A call's database reads, filled with their rows once the captures have been read. */
  const pendingRows: { reads: [string, RecordedValue][]; at: number; event: number }[] = [];
  const { tasks } = report;
  const taskIndex = new Map(tasks.map((task) => [`${task.stream}:${task.localId}`, task.id]));
  const chainOf = (task: number) => tasks[task]?.chain ?? -1;
  const beganMs = (task: number) => tasks[task]?.beganMs ?? null;
  let clockStream: number | null = null;

  // Requests, in arrival order, and the causal chains that ran their handlers.
  const requests: RequestInfo[] = [];
  const byRequestTask = new Map<number, RequestInfo>();
  const byChain = new Map<number, RequestInfo>();
  const responses: { task: number; info: RequestInfo }[] = [];
  const incoming = incomingCaptures(events);
  for (const event of events) {
    if (event.kindName === 'http-request') {
      const [method = '', ...path] = (tasks[event.task]?.request ?? '').split(' ');
      const task = tasks[event.task];
      const captured = task === undefined ? undefined : incoming.get(`${task.stream}:${task.localId}`);
      const info: RequestInfo = {
        recorded: {
          request: requests.length + 1,
          method,
          path: path.join(' '),
          status: null,
          atMs: event.timeMs ?? beganMs(event.task),
          headers: captured?.headers ?? [],
          body: captured?.body ?? { notCaptured: true },
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
      responses.push({ task: event.task, info });
    }
  }
  const byTask = handlerTasks(report, responses);
  const requestOf = (task: number): RequestInfo | undefined => byTask.get(task) ?? byChain.get(chainOf(task));

  // The gated calls each request made, and what they read and wrote.
  const calls: CallInfo[] = [];
  const byInvocation = new Map<string, CallInfo>();
  const callOfTask = new Map<number, CallInfo>();
  const lastCallOfTask = new Map<number, CallInfo>();
  for (const event of events) {
    rowReads.see(event);
    const fn = event.site?.functionName ?? '';
    const invocation =
      event.invocation === null || !INVOCATION_KINDS.has(event.kindName)
        ? null
        : `${event.stream}:${event.invocation}`;
    if (event.kindName === 'fn-enter' && invocation !== null && fn.startsWith(`${gatedClass}.`)) {
      const method = fn.slice(gatedClass.length + 1);
      if (method.startsWith('#') || method === 'constructor') continue;
      const request = requestOf(event.task);
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
      lastCallOfTask.set(event.task, info);
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
        lastCallOfTask.set(event.task, info);
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
    const row = event.site?.file === DB_SITE_FILE;
    // A query's records are written when the driver sends it, after the call that made it may have
    // suspended: in that call's task, which the call was the last to run in.
    const current = callOfTask.get(event.task) ?? (row ? lastCallOfTask.get(event.task) : undefined);
    if (access === null || current === undefined) continue;
    if (row) {
      // A row: a read is the row its query returned (filled below), a write the column it set.
      if (access.kind === 'read') {
        pendingRows.push({ reads: current.call.reads, at: current.call.reads.length, event: event.index });
      } else {
        const column = assignedColumn(event.site?.functionName ?? '') ?? propertyName(access.property);
        current.call.writes.push([column, recordedValue(access.value)]);
      }
      continue;
    }
    const pair: [string, RecordedValue] = [propertyName(access.property), recordedValue(access.value)];
    (access.kind === 'read' ? current.call.reads : current.call.writes).push(pair);
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
  rowReads.queries = addOutgoingCalls(events, (event) => {
    const recorded = requestOf(event.task)?.recorded;
    return recorded !== undefined && recorded.request > 0 ? recorded : undefined;
  });
  for (const { reads, at, event } of pendingRows.reverse()) {
    reads.splice(at, 0, ...(rowReads.row(event) ?? []));
  }

  const invariants = lostUpdates.flatMap(
    (finding) => invariantOf(finding, events, requestOf, rowReads) ?? [],
  );
  if (invariants.length === 0) {
    const uncaptured = lostUpdates.filter((finding) => rowsNotCaptured(finding, events, rowReads));
    if (uncaptured.length > 0) {
      throw nothing(
        where,
        `the values of ${uncaptured.map((finding) => finding.location.name).join(', ')} were not captured (the trace does not hold the rows its queries returned): record the run with CAUSEWAY_CAPTURE=on`,
      );
    }
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
  requestOf: (task: number) => RequestInfo | undefined,
  rowReads: RowReads,
): RecordedInvariant | null {
  const { stream, objectId, property } = finding.location;
  const stored = `object #${objectId}`;
  // A database row: the location is the row's key; what changes is the column its UPDATEs set,
  // whose value a read finds in the row its query returned.
  const rowSite = finding.accesses.find(
    ({ site }) => site?.file === DB_SITE_FILE && site.functionName.length > 0,
  );
  let column: string | null = null;
  if (rowSite !== undefined) {
    for (const event of events) {
      if (event.access?.kind !== 'read' && accesses(event, finding.location)) {
        column = assignedColumn(event.site?.functionName ?? '');
        if (column !== null) break;
      }
    }
    if (column === null) return null;
  }
  const valueText = (event: TraceEvent): string | null => {
    const access = event.access;
    if (access === null || column === null || access.kind !== 'read') return access?.value ?? null;
    const value = rowReads.row(event.index)?.find(([name]) => name === column)?.[1];
    return typeof value === 'number' ? String(value) : null;
  };
  let key: string | null = column === null ? null : propertyName(property);
  let initial: number | null = null;
  let recordedFinal: number | null = null;
  const lastRead = new Map<number, number>();
  const changes: { request: number; change: number }[] = [];
  let unknownChange = false;
  for (const event of events) {
    const access = event.access;
    if (access === null || event.stream !== stream) continue;
    if (access.kind !== 'read' && access.value === stored) key ??= propertyName(access.property);
    if (access.objectId !== objectId || access.property !== property) continue;
    const text = valueText(event);
    const value = text === null ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) continue;
    initial ??= value;
    // 0: a request left out of the replay; its accesses count as no request's, like startup's.
    const request = requestOf(event.task)?.recorded.request || undefined;
    if (access.kind === 'read') {
      if (request !== undefined) lastRead.set(request, value);
      continue;
    }
    recordedFinal = value;
    const before = request === undefined ? undefined : lastRead.get(request);
    if (request !== undefined && before !== undefined) changes.push({ request, change: value - before });
    // A row written by a request whose read of it has no value (rows not captured): no change known.
    else if (column !== null && request !== undefined) unknownChange = true;
  }
  if (key === null || initial === null || recordedFinal === null || unknownChange) return null;
  if (column !== null) initial = firstAnswered(finding, events, rowReads, valueText) ?? initial;
  return {
    finding: `${finding.title} on ${finding.location.name}: ${finding.story}`,
    key,
    property: column ?? propertyName(property),
    initial,
    changes,
    expected: changes.reduce((sum, { change }) => sum + change, initial),
    recordedFinal,
  };
}

/**
 * A row's first value: what the read answered first returned (in the order of the query results,
 * not of the reads' records, which follow the order the queries were sent). Null when no read of
 * the row has a value.
 */
function firstAnswered(
  finding: FindingReport,
  events: readonly TraceEvent[],
  rowReads: RowReads,
  valueText: (event: TraceEvent) => string | null,
): number | null {
  let first: { at: number; value: number } | null = null;
  for (const event of events) {
    if (event.access?.kind !== 'read' || !accesses(event, finding.location)) continue;
    const value = Number(valueText(event) ?? Number.NaN);
    if (!Number.isFinite(value)) continue;
    const at = rowReads.answeredAt(event.index);
    if (first === null || at < first.at) first = { at, value };
  }
  return first?.value ?? null;
}

/** Is the lost update on a database row whose reads' rows the trace did not capture? */
function rowsNotCaptured(finding: FindingReport, events: readonly TraceEvent[], rowReads: RowReads): boolean {
  if (!finding.accesses.some(({ site }) => site?.file === DB_SITE_FILE)) return false;
  return events.some(
    (event) =>
      event.access?.kind === 'read' &&
      accesses(event, finding.location) &&
      rowReads.row(event.index) === null,
  );
}
