/**
 * The recording session of this thread: one Recorder, created when the probes module is first
 * loaded, and (on the main thread, when enabled) the TraceOutput that files its records.
 */

import { endianness } from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { type RuntimeConfig, readConfig } from '../config.ts';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import { Recorder } from './recorder.ts';
import { TraceOutput } from './trace-output.ts';

export interface Session {
  config: RuntimeConfig;
  recorder: Recorder;
  output: TraceOutput | null;
}

function startSession(): Session {
  const config = readConfig();
  const recorder = new Recorder(config.ringRecords, performance);
  if (!config.enabled) return { config, recorder, output: null };
  if (endianness() !== 'LE') {
    warn(
      InstrumentationErrorCode.TRACE_WRITE,
      'records are little-endian and this machine is not; not recording',
    );
    return { config, recorder, output: null };
  }
  // Worker threads record into their own ring, which nothing drains yet: their records are
  // dropped (and counted) until worker streams are filed (docs/architecture.md, "Known gaps").
  if (!isMainThread) return { config, recorder, output: null };
  return { config, recorder, output: TraceOutput.start(recorder, config, threadId + 1, threadId) };
}

export const session = startSession();
