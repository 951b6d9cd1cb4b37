// @causeway/core: the causal analysis engine (WebAssembly) and the formats it reads.

export type { AnomalyReport } from './anomaly-report.ts';
export { buildAnomalyReports } from './anomaly-report.ts';
export type {
  AccessRole,
  Anomaly,
  Edge,
  FailureStep,
  RaceAccess,
  RaceClass,
  RaceEvidence,
  RaceFinding,
  Task,
  TraceStats,
} from './causal-trace.ts';
export { CausalTrace, RACE_CLASSES } from './causal-trace.ts';
export { CausewayError, CoreErrorCode } from './errors.ts';
export type { FailureCallReport, FailureReport, RemoteCallReport } from './failure-report.ts';
export { buildFailureReports, explainRemoteCauses } from './failure-report.ts';
export type { RecordFields, SiteRow, SiteTable } from './format/event-format.ts';
export {
  AccessFlag,
  ANONYMOUS,
  ARRAY_INDEX_KEY,
  decodeRecords,
  EDGE_KIND_NAMES,
  EdgeKind,
  EVENT_FORMAT_VERSION,
  EVENT_KIND_NAMES,
  EventKind,
  encodeRecords,
  hasFloatB,
  hasTime,
  Queue,
  RECORD_SIZE,
  RECORD_WORDS,
  RecordOffset,
  ResumeFlag,
  SITE_KIND_NAMES,
  SiteKind,
  VALUE_TAG_MASK,
  ValueTag,
} from './format/event-format.ts';
export type {
  EventsChunk,
  SitesChunk,
  StreamInfo,
  StringsChunk,
  TraceEnd,
  TraceFile,
  TraceMeta,
} from './format/trace-file.ts';
export {
  parseTraceFile,
  readTraceFile,
  readTraceMeta,
  TRACE_FILE_EXTENSION,
  TRACE_FILE_VERSION,
  TraceFileWriter,
} from './format/trace-file.ts';
export type { LoadedRecordings, RemoteExchange } from './load-recordings.ts';
export {
  globalStream,
  loadRecordings,
  mergedFile,
  STREAMS_PER_FILE,
  senderTraceIds,
} from './load-recordings.ts';
export type { LoadedTrace } from './load-trace.ts';
export { loadTraceFile } from './load-trace.ts';
export type { AccessReport, Confidence, FindingReport, Severity } from './race-report.ts';
export { buildFindingReports, confidenceOf, describeEvidence, severityOf } from './race-report.ts';
export type { EdgeReport, RecordingReport, TaskReport, TraceReport } from './report.ts';
export { buildRecordingsReport, buildTraceReport, REPORT_VERSION, taskStart } from './report.ts';
export type { Site } from './sites.ts';
export { SiteIndex, siteLocation } from './sites.ts';
export { StringIndex } from './strings.ts';
export type {
  AccessKind,
  EventAccess,
  EventExchange,
  EventFilter,
  LocationState,
  TraceEvent,
} from './trace-events.ts';
export { TraceEvents } from './trace-events.ts';
export type { CapturedValue } from './values.ts';
export { renderValue } from './values.ts';
export type { CoreExports } from './wasm/exports.ts';
export { instantiateCore, loadCore } from './wasm/load.ts';
