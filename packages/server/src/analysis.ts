/**
 * A stored trace analysed in the WebAssembly core, the same way `causeway analyze` does it: the
 * stored chunks become a TraceFile, each EVENTS chunk goes to CausalTrace.ingest in arrival
 * order, and buildTraceReport / TraceEvents give the shapes the CLI and the TUI use.
 *
 * The core's trace of a recently used stored trace is kept: when records arrive (a live trace),
 * only the new chunks are loaded and ingested, which gives the same result as analysing the whole
 * trace again since the core ingests batch by batch in the same order.
 */

import {
  buildTraceReport,
  CausalTrace,
  CausewayError,
  TraceEvents,
  type TraceFile,
  type TraceReport,
} from '@causeway/core';
import { RECORD_SIZE } from '@causeway/core/event-format';
import { ServerError, ServerErrorCode } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { StoredTrace, TraceStore } from './store/store.ts';

export interface Analysis {
  stored: StoredTrace;
  report: TraceReport;
  events: TraceEvents;
}

interface Entry {
  trace: CausalTrace;
  /** Records ingested into `trace` (a chunk boundary). */
  records: number;
  spans: number;
  analysis: Analysis;
}

const CACHED_TRACES = 4;
/** Records ingested into the core between two turns of the event loop (about 20 ms). */
const YIELD_EVERY_RECORDS = 8192;

export class Analyzer {
  readonly #store: TraceStore;
  readonly #metrics: Metrics;
  /** Most recently used last. */
  readonly #cache = new Map<string, Entry>();
  /** One analysis at a time: they share the cached core traces, and each is CPU-bound anyway. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: TraceStore, metrics: Metrics) {
    this.#store = store;
    this.#metrics = metrics;
  }

  /** The analysis of a trace as stored now; null when no trace has this id. */
  analyze(traceId: string): Promise<Analysis | null> {
    const result = this.#queue.then(() => this.#analyze(traceId));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Drops what is kept of traces that were deleted (a trace started again under the same id is analysed afresh). */
  forget(traceIds: readonly string[]): Promise<void> {
    const done = this.#queue.then(() => {
      for (const traceId of traceIds) this.#evict(traceId);
    });
    this.#queue = done.catch(() => undefined);
    return done;
  }

  /** Frees the core's memory of every cached trace. */
  dispose(): void {
    for (const entry of this.#cache.values()) entry.trace.dispose();
    this.#cache.clear();
  }

  async #analyze(traceId: string): Promise<Analysis | null> {
    const row = await this.#store.getTrace(traceId);
    let entry = this.#cache.get(traceId);
    if (row === null) {
      this.#evict(traceId);
      return null;
    }
    if (entry !== undefined) {
      this.#cache.delete(traceId);
      if (entry.records === row.records && entry.spans === row.spans) {
        this.#cache.set(traceId, entry);
        return entry.analysis;
      }
      if (row.records < entry.records) {
        // Deleted by retention and started again: analyse afresh.
        entry.trace.dispose();
        entry = undefined;
      }
    }
    const from = entry?.records ?? 0;
    const stored = await this.#store.loadTrace(traceId, from);
    if (stored === null) return null;
    const started = performance.now();
    const trace = entry?.trace ?? CausalTrace.create();
    // Counted from the chunks themselves: a batch committed after the trace row was read may be among them.
    let records = from;
    try {
      let sinceYield = 0;
      for (const chunk of stored.events) {
        trace.ingest(chunk.stream, chunk.records, `trace ${traceId}: records from ${chunk.firstIndex}`);
        records += chunk.records.byteLength / RECORD_SIZE;
        sinceYield += chunk.records.byteLength / RECORD_SIZE;
        if (sinceYield >= YIELD_EVERY_RECORDS) {
          // Let batches and other requests in: a large trace takes the core seconds.
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (entry !== undefined) stored.events = [...entry.analysis.stored.events, ...stored.events];
      const file: TraceFile = {
        meta: stored.meta,
        streams: stored.streams,
        sites: stored.sites,
        strings: stored.strings,
        events: stored.events.map((e) => ({ stream: e.stream, records: e.records })),
        end: stored.end,
      };
      const loaded = { file, trace };
      const report = buildTraceReport(`trace ${traceId}`, loaded);
      await new Promise((resolve) => setImmediate(resolve));
      const analysis = { stored, report, events: TraceEvents.of(loaded) };
      this.#cache.set(traceId, { trace, records, spans: stored.row.spans, analysis });
      while (this.#cache.size > CACHED_TRACES) this.#evict(this.#cache.keys().next().value as string);
      // The findings count lets the trace list filter on findings without analysing every trace.
      await this.#store.setFindings(traceId, analysis.report.findings.length, records);
      return analysis;
    } catch (error) {
      trace.dispose();
      if (error instanceof CausewayError && !(error instanceof ServerError)) {
        throw new ServerError(
          ServerErrorCode.ANALYSIS_FAILED,
          `the core refused the stored records of trace ${traceId}: ${error.message}`,
        );
      }
      throw error;
    } finally {
      this.#metrics.analysisSeconds += (performance.now() - started) / 1000;
      this.#metrics.analyses++;
    }
  }

  #evict(traceId: string): void {
    const entry = this.#cache.get(traceId);
    if (entry === undefined) return;
    entry.trace.dispose();
    this.#cache.delete(traceId);
  }
}
