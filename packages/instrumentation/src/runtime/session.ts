/**
 * The recording session of this thread: one Recorder, created when the probes module is first
 * loaded, and (on the main thread, when enabled) the TraceOutput that files its records.
 */

import { executionAsyncId } from 'node:async_hooks';
import { endianness } from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { type RuntimeConfig, readConfig } from '../config.ts';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import { Recorder } from './recorder.ts';
import { Sampler } from './sampling.ts';
import { TraceOutput } from './trace-output.ts';

export interface Session {
  config: RuntimeConfig;
  recorder: Recorder;
  output: TraceOutput | null;
}

/** Records a worker thread's ring holds: nothing drains it yet, so it stays small. */
const UNDRAINED_RING_RECORDS = 1024;

function createRecorder(records: number, sampler: Sampler): Recorder {
  try {
    return new Recorder(records, performance, executionAsyncId, sampler);
  } catch (error) {
    // Out of memory for the ring: record less rather than fail the application.
    warn(
      InstrumentationErrorCode.CONFIG_INVALID,
      `cannot allocate a ring of ${records} records (${(error as Error).message}); using ${UNDRAINED_RING_RECORDS}`,
    );
    return new Recorder(UNDRAINED_RING_RECORDS, performance, executionAsyncId, sampler);
  }
}

function startSession(): Session {
  const config = readConfig();
  const drained = config.enabled && isMainThread;
  const sampler = new Sampler(config.samplingRate);
  const recorder = createRecorder(drained ? config.ringRecords : UNDRAINED_RING_RECORDS, sampler);
  if (!config.enabled) return { config, recorder, output: null };
  if (endianness() !== 'LE') {
    warn(
      InstrumentationErrorCode.TRACE_WRITE,
      'records are little-endian and this machine is not; not recording',
    );
    return { config, recorder, output: null };
  }
  // Worker threads are not instrumented by register; code instrumented ahead of time records into
  // a small ring that nothing drains yet (docs/architecture.md, "Known gaps").
  if (!isMainThread) return { config, recorder, output: null };
  const output = TraceOutput.start(recorder, config, threadId + 1, threadId);
  // The process's own trace (its start, timers no entry set) is the recording's.
  if (output !== null) sampler.setProcessTrace(output.traceId);
  recorder.resample();
  return { config, recorder, output };
}

export const session = startSession();
