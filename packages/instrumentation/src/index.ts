// @causeway/instrumentation: the runtime SDK. Applications normally use it through
// `--import @causeway/instrumentation/register`; these exports are for tools and tests.

export type { RuntimeConfig } from './config.ts';
export { DEFAULT_RING_RECORDS, readConfig } from './config.ts';
export { InstrumentationErrorCode } from './errors.ts';
export { createLoadHook, shouldInstrument } from './hooks.ts';
export type { Clock, RegisteredSites } from './runtime/recorder.ts';
export { Recorder, ROOT_TASK } from './runtime/recorder.ts';
export { RecordRing } from './runtime/ring.ts';
export { DRAIN_INTERVAL_MS, defaultTracePath } from './runtime/trace-output.ts';
