// What a test exported by `causeway export --format test` imports (docs/export-test.md).

export {
  assertEveryChangeApplied,
  REPLAY_REQUEST_HEADER,
  type ReplayApp,
  type ReplayOutcome,
  type ReplayRequest,
  type ReplayTarget,
  recordedRequest,
  replayRecording,
} from './harness.ts';
export type { OutgoingOptions } from './outgoing.ts';
export {
  describeExchange,
  describeStep,
  RECORDING_VERSION,
  type RecordedCall,
  type RecordedColumn,
  type RecordedDbCall,
  type RecordedExchange,
  type RecordedHttpCall,
  type RecordedInvariant,
  type RecordedRequest,
  type RecordedValue,
  type ReplayRecording,
  type ReplayStep,
} from './recording.ts';
export { type ReplayGate, ReplayScheduler, STALL_MS } from './scheduler.ts';
