/** A trace file read and handed to the core in one step: what the CLI and the TUI open. */

import { CausalTrace } from './causal-trace.ts';
import { readTraceFile, type TraceFile } from './format/trace-file.ts';

export interface LoadedTrace {
  file: TraceFile;
  trace: CausalTrace;
}

export function loadTraceFile(path: string): LoadedTrace {
  const file = readTraceFile(path);
  const trace = CausalTrace.create();
  try {
    for (const chunk of file.events) {
      trace.ingest(chunk.stream, chunk.records, `${path}: stream ${chunk.stream}`);
    }
  } catch (error) {
    trace.dispose();
    throw error;
  }
  return { file, trace };
}
