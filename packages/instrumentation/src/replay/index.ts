// What a test exported by `causeway export --format test` imports (docs/export-test.md).

export {
  assertEveryChangeApplied,
  REPLAY_REQUEST_HEADER,
  type ReplayApp,
  type ReplayOutcome,
  type ReplayRequest,
  type ReplayTarget,
  replayRecording,
} from './harness.ts';
export {
  describeStep,
  RECORDING_VERSION,
  type RecordedCall,
  type RecordedInvariant,
  type RecordedRequest,
  type RecordedValue,
  type ReplayRecording,
  type ReplayStep,
} from './recording.ts';
export { type ReplayGate, ReplayScheduler, STALL_MS } from './scheduler.ts';
