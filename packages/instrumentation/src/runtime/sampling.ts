/**
 * Head sampling (docs/instrumentation.md, "Sampling"): whether a trace is recorded is decided once,
 * where it enters the process (an incoming request, `causeway.continueTrace`, a top-level
 * `causeway.trace`, the process's start), and then holds for everything that trace causes here.
 *
 * The decision is a pure function of the W3C trace id and the rate (`sampledTraceId`), so every
 * service that sees the same `traceparent` decides the same; an incoming `traceparent` whose
 * sampled flag is off is honoured (nothing is recorded), and a request sent by a Causeway
 * recording (a valid `x-causeway-trace`) is recorded, since its sender recorded it. An unsampled
 * trace's outgoing requests carry a `traceparent` with the flag off, so the decision travels.
 *
 * The decision follows the trace through `AsyncLocalStorage` (the runtime consults it only when a
 * task starts, never per probe), and only once some trace may be unsampled (`active`): at the
 * default rate of 1, until a request asks not to be sampled, sampling costs nothing.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/** One trace as sampling sees it: its W3C trace id and whether it is recorded. */
export interface TraceSampling {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  readonly sampled: boolean;
}

const TWO_28 = 2 ** 28;
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * Whether the trace `traceId` (32 lowercase hex digits) is sampled at `rate` (0..1): its rightmost
 * 56 bits (the part W3C Trace Context level 2 asks to be random), read as a fraction of 2^56, are
 * below the rate. A rate of 1 samples every trace, 0 none; a malformed id is sampled at rate 1
 * only.
 */
export function sampledTraceId(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0 || !TRACE_ID.test(traceId)) return false;
  // Two 28-bit halves: 56 bits do not fit a double's 53-bit mantissa exactly.
  const high = Number.parseInt(traceId.slice(18, 25), 16);
  const low = Number.parseInt(traceId.slice(25, 32), 16);
  return (high + low / TWO_28) / TWO_28 < rate;
}

/** Random bytes taken 16 or 8 at a time: one system call per 256 trace ids. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}

/** A new random W3C trace id (never all zeros, which W3C forbids). */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === '0'.repeat(32) ? newTraceId() : id;
}

/** A new random W3C span (parent) id. */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === '0'.repeat(16) ? newSpanId() : id;
}

/** What arrived with a message, as far as sampling is concerned. */
export interface IncomingContext {
  /** The W3C trace id it named. */
  traceId: string;
  /**
   * The sender's decision: true when a Causeway recording sent it, else the sampled flag of its
   * `traceparent`.
   */
  sampled: boolean;
  /** Did a Causeway recording send it (its decision is final, its trace id its recording's)? */
  fromCauseway: boolean;
}

/** The decision of every sampled entry at rate 1 without an incoming context: no id is needed. */
const RECORDED: TraceSampling = { traceId: '', sampled: true };

export class Sampler {
  #rate: number;
  /** Could any trace be unsampled (rate < 1, or an unsampled one came)? Read by every task start. */
  active: boolean;
  #process: TraceSampling;
  readonly #traces = new AsyncLocalStorage<TraceSampling>();

  /** `rate`: the fraction of traces recorded, 0..1. */
  constructor(rate: number, processTraceId: string = newTraceId()) {
    this.#rate = rate;
    this.active = rate < 1;
    this.#process = { traceId: processTraceId, sampled: sampledTraceId(processTraceId, rate) };
  }

  get rate(): number {
    return this.#rate;
  }

  /** The process's own trace: its start, and work no entry reached (timers set at start). */
  get processTrace(): TraceSampling {
    return this.#process;
  }

  /** Changes the rate; later entries, and the process's own trace from now on, follow it. */
  setRate(rate: number): void {
    this.#rate = rate;
    if (rate < 1) this.active = true;
    this.setProcessTrace(this.#process.traceId);
  }

  /** The process's trace is the recording's (its trace file's META.traceId). */
  setProcessTrace(traceId: string): void {
    this.#process = { traceId, sampled: sampledTraceId(traceId, this.#rate) };
  }

  /** Decides a trace entering here with `incoming` (null: none came, a new trace starts). */
  decide(incoming: IncomingContext | null): TraceSampling {
    if (incoming === null) {
      if (this.#rate >= 1) return RECORDED;
      const traceId = newTraceId();
      return { traceId, sampled: sampledTraceId(traceId, this.#rate) };
    }
    const { traceId, sampled, fromCauseway } = incoming;
    if (fromCauseway) return { traceId, sampled };
    return { traceId, sampled: sampled && sampledTraceId(traceId, this.#rate) };
  }

  /** The trace the code running now belongs to. */
  current(): TraceSampling {
    return this.#traces.getStore() ?? this.#process;
  }

  /** Is the code running now outside any entry (in the process's own trace)? */
  atProcessLevel(): boolean {
    return this.#traces.getStore() === undefined;
  }

  /** Does the code running now belong to an unsampled trace? */
  unsampledNow(): boolean {
    return this.active && !this.current().sampled;
  }

  /** `trace` is the trace of the rest of the synchronous run and of all it causes. */
  enter(trace: TraceSampling): void {
    if (!trace.sampled) this.active = true;
    if (this.active) this.#traces.enterWith(trace);
  }

  /** Runs `fn` in `trace`, returning and throwing what it does. */
  run<T>(trace: TraceSampling, fn: () => T): T {
    if (!trace.sampled) this.active = true;
    return this.active ? this.#traces.run(trace, fn) : fn();
  }
}
