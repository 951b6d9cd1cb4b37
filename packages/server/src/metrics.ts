/** The server's counters, and their Prometheus text exposition (format 0.0.4) for /metrics. */

export class Metrics {
  eventsIngested = 0;
  /** Records the runtimes reported they could not keep (END.dropped of the batches received). */
  eventsDropped = 0;
  batchesIngested = 0;
  batchesDuplicate = 0;
  batchesRejected = 0;
  spansIngested = 0;
  analyses = 0;
  analysisSeconds = 0;

  render(storeBytes: number, traces: number): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    metric('causeway_events_ingested_total', 'counter', 'Event records stored.', this.eventsIngested);
    metric(
      'causeway_events_dropped_total',
      'counter',
      'Event records the runtimes reported dropped.',
      this.eventsDropped,
    );
    metric('causeway_batches_ingested_total', 'counter', 'Batches stored.', this.batchesIngested);
    metric(
      'causeway_batches_duplicate_total',
      'counter',
      'Batches received again and ignored.',
      this.batchesDuplicate,
    );
    metric(
      'causeway_batches_rejected_total',
      'counter',
      'Batches and OTLP requests refused.',
      this.batchesRejected,
    );
    metric('causeway_spans_ingested_total', 'counter', 'OTLP spans received.', this.spansIngested);
    metric('causeway_store_bytes', 'gauge', 'Bytes the store takes on disk.', storeBytes);
    metric('causeway_traces', 'gauge', 'Traces in the store.', traces);
    metric('causeway_analyses_total', 'counter', 'Trace analyses run in the core.', this.analyses);
    metric(
      'causeway_analysis_seconds_total',
      'counter',
      'Time spent analysing traces.',
      this.analysisSeconds,
    );
    return `${lines.join('\n')}\n`;
  }
}
