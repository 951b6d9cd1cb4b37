// @causeway/instrumentation: the runtime SDK. Applications normally use it through
// `--import @causeway/instrumentation/register`, and may call the manual API (`causeway`, from
// ./api.ts; safe no-ops when not recording). The other exports are for tools and tests.

export type { ConfigureOptions, TraceContext, TraceHeaders } from './api.ts';
export {
  causeway,
  configure,
  continueTrace,
  createTrace,
  deserializeTrace,
  event,
  serialize,
  trace,
} from './api.ts';
export type { RuntimeConfig } from './config.ts';
export { DEFAULT_RING_RECORDS, readConfig } from './config.ts';
export { InstrumentationErrorCode } from './errors.ts';
export { createLoadHook, shouldInstrument } from './hooks.ts';
export type { Clock, RegisteredSites } from './runtime/recorder.ts';
export { Recorder, ROOT_TASK } from './runtime/recorder.ts';
export { RecordRing } from './runtime/ring.ts';
export { DRAIN_INTERVAL_MS, defaultTracePath } from './runtime/trace-output.ts';
