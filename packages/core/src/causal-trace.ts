/**
 * A trace held by the WebAssembly core: records go in batch by batch, tasks, edges, clocks,
 * happens-before answers and race findings come out. The one analysis implementation the runtime,
 * the server, the CLI and the TUI share.
 */

import { CausewayError, CoreErrorCode } from './errors.ts';
import { type EdgeKind, EventKind, VALUE_TAG_MASK, type ValueTag } from './format/event-format.ts';
import { type CapturedValue, decodeValue, f64FromWords, u64FromWords } from './values.ts';
import {
  ACCESS_WORDS,
  ANOMALY_ROW_WORDS,
  AnomalyCode,
  type CoreExports,
  EDGE_ROW_WORDS,
  EvidenceCode,
  FAILURE_HEAD_WORDS,
  FINDING_ROW_WORDS,
  FindingClassCode,
  NONE_WORD,
  RoleCode,
  STATS_WORDS,
  TASK_ROW_WORDS,
  WasmStatus,
} from './wasm/exports.ts';
import { loadCore } from './wasm/load.ts';

export interface Task {
  /** Position in the trace's task table (what edges and queries refer to). */
  index: number;
  stream: number;
  /** The id the runtime gave the task, unique within its stream. */
  localId: number;
  /** The chain the task belongs to, and its 1-based position in it. */
  chain: number;
  position: number;
  firstSeq: number;
  lastSeq: number;
  records: number;
  /** Site of the record that began the task, 0 when none. */
  beginSite: number;
  /** Start time in ms since the stream's epoch; null when the start record was lost. */
  beginMs: number | null;
}

export interface Edge {
  from: number;
  to: number;
  kind: EdgeKind;
}

export interface TraceStats {
  records: number;
  /** Records the runtime could not keep. */
  dropped: number;
  /** Tasks whose starting record was lost. */
  orphanTasks: number;
  /** Continuations whose await was lost. */
  unmatchedResumes: number;
  tasks: number;
  chains: number;
  /** Property reads and writes the race detector checked. */
  accesses: number;
  /** Distinct (stream, object, key) locations accessed. */
  locations: number;
  /**
   * Accesses recorded out of causal order (after a continuation of their task had started, or in
   * a task descending from one that had ended), which no JavaScript run produces. When not 0,
   * every finding is still a true race, but some may be missing.
   */
  lateAccesses: number;
}

/**
 * One call of a failure cascade (docs/detectors.md, "Failures"): where the error surfaced
 * (depth 0), each async call down whose throw rejected the await above it, and the root cause.
 */
export interface FailureStep {
  /** Which cascade, in the order failures surfaced. */
  failure: number;
  /** 0 where the error surfaced; the deepest step is the root cause. */
  depth: number;
  stream: number;
  /** The async function's site. */
  site: number;
  invocation: number;
  /** Task indices. */
  enteredIn: number;
  /** null if the call never ended. */
  endedIn: number | null;
  /** The await that resumed rejected; null when the call threw by itself. */
  rejectedAwait: {
    site: number;
    /** The continuation's task. */
    task: number;
    /** The task that suspended there (its start bounds how long the await waited); null if unknown. */
    suspendedIn: number | null;
    /** The task recorded just before the continuation: the likeliest rejecter (a timer, I/O). */
    after: number | null;
    /** The first function site that task entered (the callback it ran); 0 when none. */
    afterEntered: number;
  } | null;
  /** Function sites that returned runs of the same function called and this run never did. */
  neverCalled: number[];
}

/**
 * An anomaly (docs/detectors.md, "Anomalies"): an await far slower than its own site's usual
 * (median and median absolute deviation of the site's awaits), or an await that never resumed.
 */
export type Anomaly =
  | {
      kind: 'slow-await';
      stream: number;
      /** The await's site. */
      site: number;
      /** The continuation's task. */
      task: number;
      durationMs: number;
      medianMs: number;
      madMs: number;
      samples: number;
    }
  | {
      kind: 'never-resumed';
      stream: number;
      site: number;
      /** The task that reached the await. */
      task: number;
      /** The async function's site. */
      functionSite: number;
    };

/** What kind of race a finding is (docs/detectors.md). */
export const RACE_CLASSES = [
  'lost-update',
  'inconsistent-read',
  'intermediate-read',
  'overwritten-write',
  'write-write',
  'read-write',
  'order-violation',
] as const;
export type RaceClass = (typeof RACE_CLASSES)[number];

/**
 * Why Causeway believes a finding, most convincing first: the harmful interleaving of an atomicity
 * violation was recorded; two accesses of a pair race are unordered; an atomicity violation's
 * interleaving was not recorded, but nothing in the recorded causality prevents it.
 */
export type RaceEvidence = 'observed' | 'concurrent' | 'possible';

/**
 * The part an access plays: an atomicity violation's first access, the remote access that could
 * run in between, and the second access (after an await); a pair race's earlier and later access.
 */
export type AccessRole = 'first' | 'remote' | 'second';

export interface RaceAccess {
  role: AccessRole;
  /** Index of the task in `tasks()`. */
  task: number;
  seq: number;
  site: number;
  /** An update (`+=`, `++`) or a `delete` is a write; `flags` tells them apart. */
  kind: 'read' | 'write';
  /** The record's flags: the value tag in the low three bits, AccessFlag.Delete, AccessFlag.Update. */
  flags: number;
  /** What `value` (and `valueBits`) hold. */
  valueTag: ValueTag;
  /** The record's b field, all 64 bits, as the runtime wrote it. */
  valueBits: bigint;
  /**
   * The value read or written: the number, `undefined`, `null`, `false` or `true` for those tags;
   * the object's id (per stream) or the string's id (in the stream's string table) for Object and
   * String; `undefined` when the runtime did not capture it (valueTag None).
   */
  value: CapturedValue;
}

export interface RaceFinding {
  class: RaceClass;
  evidence: RaceEvidence;
  /** The location: one property (keyId) of one object (objectId), ids of this stream. */
  stream: number;
  objectId: number;
  keyId: number;
  /** Instances detected: once per access that completed one, per role it played. */
  occurrences: number;
  /** Pair-race findings between this finding's sites, folded into it rather than listed. */
  related: number;
  /** One instance, in role order; the observed one when there is one. */
  accesses: RaceAccess[];
}

const CLASS_NAMES: Readonly<Record<number, RaceClass>> = {
  [FindingClassCode.LostUpdate]: 'lost-update',
  [FindingClassCode.InconsistentRead]: 'inconsistent-read',
  [FindingClassCode.IntermediateRead]: 'intermediate-read',
  [FindingClassCode.OverwrittenWrite]: 'overwritten-write',
  [FindingClassCode.WriteWrite]: 'write-write',
  [FindingClassCode.ReadWrite]: 'read-write',
  [FindingClassCode.OrderViolation]: 'order-violation',
};

const EVIDENCE_NAMES: Readonly<Record<number, RaceEvidence>> = {
  [EvidenceCode.Observed]: 'observed',
  [EvidenceCode.Concurrent]: 'concurrent',
  [EvidenceCode.Possible]: 'possible',
};

const ROLE_NAMES: Readonly<Record<number, AccessRole>> = {
  [RoleCode.First]: 'first',
  [RoleCode.Remote]: 'remote',
  [RoleCode.Second]: 'second',
};

function named<T>(names: Readonly<Record<number, T>>, code: number, what: string): T {
  const name = names[code];
  if (name === undefined) throw new Error(`CausalTrace: the core reported unknown ${what} ${code}`);
  return name;
}

/** One access slot of a cw_findings row, starting at `at`. */
function decodeAccess(w: Uint32Array, at: number): RaceAccess {
  const flags = w[at + 5] as number;
  const low = w[at + 6] as number;
  const high = w[at + 7] as number;
  const valueTag = (flags & VALUE_TAG_MASK) as ValueTag;
  return {
    role: named(ROLE_NAMES, w[at] as number, 'access role'),
    task: w[at + 1] as number,
    seq: w[at + 2] as number,
    site: w[at + 3] as number,
    kind: w[at + 4] === EventKind.Read ? 'read' : 'write',
    flags,
    valueTag,
    valueBits: BigInt(low) | (BigInt(high) << 32n),
    value: decodeValue(valueTag, low, high),
  };
}

function edgeRows(words: Uint32Array): Edge[] {
  const edges: Edge[] = [];
  for (let at = 0; at < words.length; at += EDGE_ROW_WORDS) {
    edges.push({ from: words[at] as number, to: words[at + 1] as number, kind: words[at + 2] as EdgeKind });
  }
  return edges;
}

export class CausalTrace {
  readonly #core: CoreExports;
  #handle: number;

  private constructor(core: CoreExports) {
    this.#core = core;
    this.#handle = core.cw_trace_new();
  }

  static create(core: CoreExports = loadCore()): CausalTrace {
    return new CausalTrace(core);
  }

  /**
   * Adds whole records written by `stream`, in order. A refused batch changes nothing and throws
   * CW_RECORDS_REFUSED; `where` prefixes the message (a file name, a connection).
   */
  ingest(stream: number, records: Uint8Array, where = 'records'): void {
    const core = this.#core;
    const len = records.byteLength;
    const ptr = core.cw_alloc(len);
    try {
      new Uint8Array(core.memory.buffer, ptr, len).set(records);
      const status = core.cw_ingest(this.#live(), stream, ptr, len);
      if (status !== WasmStatus.Ok) {
        throw refused(status, this.#result(3), where);
      }
    } finally {
      core.cw_free(ptr, len);
    }
  }

  tasks(): Task[] {
    const words = this.#result(this.#call(this.#core.cw_tasks(this.#live())));
    const tasks: Task[] = [];
    for (let at = 0, index = 0; at < words.length; at += TASK_ROW_WORDS, index++) {
      const beginMs = f64FromWords(words[at + 8] as number, words[at + 9] as number);
      tasks.push({
        index,
        stream: words[at] as number,
        localId: words[at + 1] as number,
        chain: words[at + 2] as number,
        position: words[at + 3] as number,
        firstSeq: words[at + 4] as number,
        lastSeq: words[at + 5] as number,
        records: words[at + 6] as number,
        beginSite: words[at + 7] as number,
        beginMs: Number.isNaN(beginMs) ? null : beginMs,
      });
    }
    return tasks;
  }

  edges(): Edge[] {
    return edgeRows(this.#result(this.#call(this.#core.cw_edges(this.#live()))));
  }

  /** The tasks that happen before `task`, in index order (a topological order). */
  ancestors(task: number): number[] {
    return [...this.#result(this.#call(this.#core.cw_related(this.#live(), task, 1)))];
  }

  /** The tasks that happen after `task`, in index order. */
  descendants(task: number): number[] {
    return [...this.#result(this.#call(this.#core.cw_related(this.#live(), task, 0)))];
  }

  /**
   * The shortest chain of direct causes (fewest edges) from task `from` to task `to`: how one led
   * to the other. Empty when they are the same task; null when `from` does not happen before `to`.
   */
  causalPath(from: number, to: number): Edge[] | null {
    const status = this.#core.cw_causal_path(this.#live(), from, to);
    if (status === WasmStatus.NoPath) return null;
    return edgeRows(this.#result(this.#call(status)));
  }

  /** The vector clock of task `task`, one component per chain. */
  clock(task: number): number[] {
    return Array.from(this.#result(this.#call(this.#core.cw_clock(this.#live(), task))));
  }

  /** Does task `a` happen strictly before task `b`? */
  happensBefore(a: number, b: number): boolean {
    return this.#call(this.#core.cw_happens_before(this.#live(), a, b)) === 1;
  }

  /**
   * Declares that the HTTP request task `toLocal` of `toStream`, not ingested yet, handles a
   * request sent by task `fromLocal` of `fromStream`, already ingested: when it is ingested it
   * gets a message edge from the sender. Returns false when nothing was declared (the sender is
   * unknown, or the receiver already ingested).
   */
  expectMessage(fromStream: number, fromLocal: number, toStream: number, toLocal: number): boolean {
    return (
      this.#call(this.#core.cw_expect_message(this.#live(), fromStream, fromLocal, toStream, toLocal)) === 1
    );
  }

  /**
   * Declares that task `toLocal` of `toStream`, not ingested yet, is a client's continuation after
   * the HTTP response to the request task `requestLocal` of `fromStream`, whose response named task
   * `fromLocal` as its sender (both already ingested): when it is ingested it gets a response edge
   * from the named task, or from the request task when the named one does not descend from it.
   * Returns false when nothing was declared.
   */
  expectResponse(
    fromStream: number,
    fromLocal: number,
    requestLocal: number,
    toStream: number,
    toLocal: number,
  ): boolean {
    const handle = this.#live();
    return (
      this.#call(
        this.#core.cw_expect_response(handle, fromStream, fromLocal, requestLocal, toStream, toLocal),
      ) === 1
    );
  }

  /** Are `a` and `b` distinct tasks unordered by happens-before? */
  concurrent(a: number, b: number): boolean {
    return a !== b && !this.happensBefore(a, b) && !this.happensBefore(b, a);
  }

  stats(): TraceStats {
    const w = this.#result(this.#call(this.#core.cw_stats(this.#live())));
    if (w.length !== STATS_WORDS) throw new Error(`CausalTrace: cw_stats gave ${w.length} words`);
    return {
      records: u64FromWords(w[0] as number, w[1] as number),
      dropped: u64FromWords(w[2] as number, w[3] as number),
      orphanTasks: w[4] as number,
      unmatchedResumes: w[5] as number,
      tasks: w[6] as number,
      chains: w[7] as number,
      accesses: u64FromWords(w[8] as number, w[9] as number),
      locations: w[10] as number,
      lateAccesses: u64FromWords(w[11] as number, w[12] as number),
    };
  }

  /**
   * The races found in everything ingested so far, most convincing first (observed atomicity
   * violations, concurrent pairs, possible atomicity violations), then in recorded order. Pair
   * races covered by an atomicity violation are counted in its `related` instead of listed. The
   * benign shapes of docs/detectors.md (a flag-style lock's own races, and races its critical
   * sections keep apart) are left out.
   */
  findings(): RaceFinding[] {
    const w = this.#result(this.#call(this.#core.cw_findings(this.#live())));
    if (w.length % FINDING_ROW_WORDS !== 0) {
      throw new Error(`CausalTrace: cw_findings gave ${w.length} words`);
    }
    const findings: RaceFinding[] = [];
    for (let at = 0; at < w.length; at += FINDING_ROW_WORDS) {
      const count = w[at + 8] as number;
      if (count > 3) throw new Error(`CausalTrace: cw_findings gave a finding of ${count} accesses`);
      const accesses: RaceAccess[] = [];
      for (let i = 0; i < count; i++) {
        accesses.push(decodeAccess(w, at + 9 + i * ACCESS_WORDS));
      }
      findings.push({
        class: named(CLASS_NAMES, w[at] as number, 'finding class'),
        evidence: named(EVIDENCE_NAMES, w[at + 1] as number, 'evidence'),
        stream: w[at + 2] as number,
        objectId: w[at + 3] as number,
        keyId: w[at + 4] as number,
        occurrences: u64FromWords(w[at + 5] as number, w[at + 6] as number),
        related: w[at + 7] as number,
        accesses,
      });
    }
    return findings;
  }

  /** Every failure cascade in what was ingested so far, each from where it surfaced down to its root cause. */
  failures(): FailureStep[] {
    const w = this.#result(this.#call(this.#core.cw_failures(this.#live())));
    const task = (word: number): number | null => (word === NONE_WORD ? null : word);
    const steps: FailureStep[] = [];
    let at = 0;
    while (at < w.length) {
      if (at + FAILURE_HEAD_WORDS > w.length)
        throw new Error(`CausalTrace: cw_failures gave ${w.length} words`);
      const tail = w[at + 13] as number;
      const end = at + FAILURE_HEAD_WORDS + tail;
      if (end > w.length) throw new Error(`CausalTrace: cw_failures gave ${w.length} words`);
      const rejectedSite = w[at + 8] as number;
      steps.push({
        failure: w[at] as number,
        depth: w[at + 1] as number,
        stream: w[at + 2] as number,
        site: w[at + 3] as number,
        invocation: u64FromWords(w[at + 4] as number, w[at + 5] as number),
        enteredIn: w[at + 6] as number,
        endedIn: task(w[at + 7] as number),
        rejectedAwait:
          rejectedSite === 0
            ? null
            : {
                site: rejectedSite,
                task: w[at + 9] as number,
                suspendedIn: task(w[at + 10] as number),
                after: task(w[at + 11] as number),
                afterEntered: w[at + 12] as number,
              },
        neverCalled: [...w.subarray(at + FAILURE_HEAD_WORDS, end)],
      });
      at = end;
    }
    return steps;
  }

  /** Slow awaits (slowest first per site) and awaits that never resumed, in what was ingested so far. */
  anomalies(): Anomaly[] {
    const w = this.#result(this.#call(this.#core.cw_anomalies(this.#live())));
    if (w.length % ANOMALY_ROW_WORDS !== 0)
      throw new Error(`CausalTrace: cw_anomalies gave ${w.length} words`);
    const anomalies: Anomaly[] = [];
    for (let at = 0; at < w.length; at += ANOMALY_ROW_WORDS) {
      const f64 = (i: number) => f64FromWords(w[at + i] as number, w[at + i + 1] as number);
      const [code, stream, site, task] = [w[at], w[at + 1], w[at + 2], w[at + 3]] as number[];
      if (code === AnomalyCode.SlowAwait) {
        anomalies.push({
          kind: 'slow-await',
          stream: stream as number,
          site: site as number,
          task: task as number,
          durationMs: f64(4),
          medianMs: f64(6),
          madMs: f64(8),
          samples: w[at + 10] as number,
        });
      } else if (code === AnomalyCode.NeverResumed) {
        anomalies.push({
          kind: 'never-resumed',
          stream: stream as number,
          site: site as number,
          task: task as number,
          functionSite: w[at + 4] as number,
        });
      } else {
        throw new Error(`CausalTrace: the core reported unknown anomaly ${code}`);
      }
    }
    return anomalies;
  }

  /** Frees the core's memory for this trace. Further calls throw. */
  dispose(): void {
    if (this.#handle !== 0) {
      this.#core.cw_trace_free(this.#handle);
      this.#handle = 0;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(): number {
    if (this.#handle === 0) throw new Error('CausalTrace: used after dispose()');
    return this.#handle;
  }

  #call(status: number): number {
    if (status === WasmStatus.BadArgument) throw new RangeError('CausalTrace: no such task');
    if (status < 0) throw new Error(`CausalTrace: the core returned status ${status}`);
    return status;
  }

  /** A copy of the first `words` words of the core's result buffer (views die when memory grows). */
  #result(words: number): Uint32Array {
    return new Uint32Array(this.#core.memory.buffer, this.#core.cw_result_ptr(), words).slice();
  }
}

function refused(status: number, detail: Uint32Array, where: string): CausewayError {
  const [index, value, expected] = detail;
  let problem: string;
  switch (status) {
    case WasmStatus.PartialRecord:
      problem = `${value} bytes is not a whole number of records (a record is 32 bytes)`;
      break;
    case WasmStatus.UnknownKind:
      problem = `record ${index} has kind ${value}, which this version of Causeway does not know`;
      break;
    case WasmStatus.SeqWentBack:
      problem = `record ${index} has sequence number ${value} but ${expected} or later was expected (records out of order, ingested twice, or two processes writing one file)`;
      break;
    default:
      problem = `the core refused the batch with status ${status}`;
  }
  return new CausewayError(
    CoreErrorCode.RECORDS_REFUSED,
    `${where}: ${problem}; nothing of this batch was kept`,
  );
}
