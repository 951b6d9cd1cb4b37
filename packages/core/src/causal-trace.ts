/**
 * A trace held by the WebAssembly core: records go in batch by batch, tasks, edges, clocks and
 * happens-before answers come out. The one analysis implementation the runtime, the server, the
 * CLI and the TUI share.
 */

import { CausewayError, CoreErrorCode } from './errors.ts';
import type { EdgeKind } from './format/event-format.ts';
import { type CoreExports, EDGE_ROW_WORDS, TASK_ROW_WORDS, WasmStatus } from './wasm/exports.ts';
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
}

const f64Scratch = new Float64Array(1);
const u32Scratch = new Uint32Array(f64Scratch.buffer);

function f64FromWords(low: number, high: number): number {
  u32Scratch[0] = low;
  u32Scratch[1] = high;
  return f64Scratch[0] as number;
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
    const words = this.#result(this.#call(this.#core.cw_edges(this.#live())));
    const edges: Edge[] = [];
    for (let at = 0; at < words.length; at += EDGE_ROW_WORDS) {
      edges.push({ from: words[at] as number, to: words[at + 1] as number, kind: words[at + 2] as EdgeKind });
    }
    return edges;
  }

  /** The vector clock of task `task`, one component per chain. */
  clock(task: number): number[] {
    return Array.from(this.#result(this.#call(this.#core.cw_clock(this.#live(), task))));
  }

  /** Does task `a` happen strictly before task `b`? */
  happensBefore(a: number, b: number): boolean {
    return this.#call(this.#core.cw_happens_before(this.#live(), a, b)) === 1;
  }

  /** Are `a` and `b` distinct tasks unordered by happens-before? */
  concurrent(a: number, b: number): boolean {
    return a !== b && !this.happensBefore(a, b) && !this.happensBefore(b, a);
  }

  stats(): TraceStats {
    const w = this.#result(this.#call(this.#core.cw_stats(this.#live())));
    return {
      records: (w[0] as number) + (w[1] as number) * 2 ** 32,
      dropped: (w[2] as number) + (w[3] as number) * 2 ** 32,
      orphanTasks: w[4] as number,
      unmatchedResumes: w[5] as number,
      tasks: w[6] as number,
      chains: w[7] as number,
    };
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
