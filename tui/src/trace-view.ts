/**
 * What the views show of a trace, whichever source it came from: a trace file read whole
 * (TraceModel) or a server's trace read a page at a time (ServerTraceModel). The views and the
 * app only use this interface.
 */

import type { AnomalyReport, FailureReport, FindingReport, LocationState } from '@causeway/core';
import type { RowSet } from './state.ts';
import type { AnalysisState, CausalView, EventDetails } from './trace-model.ts';

export interface TraceView {
  readonly name: string;
  /** Events in the trace (so far, for a live one). */
  readonly eventCount: number;
  readonly analysis: AnalysisState;
  /** Races, failure cascades and anomalies; empty until the analysis is done. */
  readonly findings: readonly FindingReport[];
  readonly failures: readonly FailureReport[];
  readonly anomalies: readonly AnomalyReport[];
  /** The trace is still being recorded and new events are followed. */
  readonly live: boolean;
  /** Something the status line should say about the trace (a page the server refused); null when all is well. */
  readonly status: string | null;
  /** Runs (or fetches) the causal analysis; `onProgress` hears the fraction done. */
  analyze(onProgress?: (fraction: number) => void): Promise<void>;
  rows(findingsOnly: boolean): RowSet;
  findingsOf(event: number): readonly number[];
  /** One timeline row. */
  eventLine(index: number): string;
  /** The causal relationships of the event's task; null when the event has no known task. */
  causal(index: number): CausalView | null;
  /** Details of the event; null while it is not loaded yet. */
  details(index: number, clock?: boolean): EventDetails | null;
  /** Time travel; a sentence instead when this source cannot say. */
  stateAt(index: number, limit: number): { locations: LocationState[]; written: number } | string;
  /** The header's counts: `45 events · 10 tasks · 1 finding`. */
  headline(): string;
  /** Hears every change after opening (events arrived, analysis refreshed); returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Frees what the trace holds; the view is not used afterwards. */
  dispose(): void;
}
