/**
 * A stored trace analysed in the WebAssembly core, the same way `causeway analyze` does it: the
 * stored chunks become a TraceFile, each EVENTS chunk goes to CausalTrace.ingest in arrival
 * order, and buildTraceReport / TraceEvents give the shapes the CLI and the TUI use. Results are
 * cached per trace until new records or spans arrive.
 */

import {
  buildTraceReport,
  CausalTrace,
  CausewayError,
  TraceEvents,
  type TraceFile,
  type TraceReport,
} from '@causeway/core';
import { ServerError, ServerErrorCode } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { StoredTrace, TraceStore } from './store/store.ts';

export interface Analysis {
  stored: StoredTrace;
  report: TraceReport;
  events: TraceEvents;
}

const CACHED_TRACES = 4;

export class Analyzer {
  readonly #store: TraceStore;
  readonly #metrics: Metrics;
  /** Most recently used last. Keyed by trace id; valid while records and spans are unchanged. */
  readonly #cache = new Map<string, { records: number; spans: number; analysis: Promise<Analysis> }>();

  constructor(store: TraceStore, metrics: Metrics) {
    this.#store = store;
    this.#metrics = metrics;
  }

  /** The analysis of a trace as stored now; null when no trace has this id. */
  async analyze(traceId: string): Promise<Analysis | null> {
    const row = await this.#store.getTrace(traceId);
    if (row === null) return null;
    const cached = this.#cache.get(traceId);
    if (cached !== undefined && cached.records === row.records && cached.spans === row.spans) {
      this.#cache.delete(traceId);
      this.#cache.set(traceId, cached);
      return cached.analysis;
    }
    const analysis = this.#run(traceId);
    this.#cache.set(traceId, { records: row.records, spans: row.spans, analysis });
    analysis.catch(() => this.#cache.delete(traceId));
    while (this.#cache.size > CACHED_TRACES) this.#cache.delete(this.#cache.keys().next().value as string);
    const result = await analysis;
    // The findings count lets the trace list filter on findings without analysing every trace.
    await this.#store.setFindings(traceId, result.report.findings.length, result.stored.row.records);
    return result;
  }

  async #run(traceId: string): Promise<Analysis> {
    const stored = await this.#store.loadTrace(traceId);
    if (stored === null) throw new ServerError(ServerErrorCode.TRACE_NOT_FOUND, `no trace ${traceId}`);
    const started = performance.now();
    const file: TraceFile = {
      meta: stored.meta,
      streams: stored.streams,
      sites: stored.sites,
      strings: stored.strings,
      events: stored.events.map((e) => ({ stream: e.stream, records: e.records })),
      end: stored.end,
    };
    const trace = CausalTrace.create();
    try {
      for (const chunk of stored.events) {
        trace.ingest(chunk.stream, chunk.records, `trace ${traceId}: records from ${chunk.firstIndex}`);
      }
      const loaded = { file, trace };
      const report = buildTraceReport(`trace ${traceId}`, loaded);
      const events = TraceEvents.of(loaded);
      return { stored, report, events };
    } catch (error) {
      if (error instanceof CausewayError) {
        throw new ServerError(
          ServerErrorCode.ANALYSIS_FAILED,
          `the core refused the stored records: ${error.message}`,
        );
      }
      throw error;
    } finally {
      trace.dispose();
      this.#metrics.analysisSeconds += (performance.now() - started) / 1000;
      this.#metrics.analyses++;
    }
  }
}
