/**
 * The functions crates/causeway-core/src/ffi.rs exports, typed. Keep in step with that file.
 */
export interface CoreExports {
  memory: WebAssembly.Memory;
  cw_format_version(): number;
  cw_record_size(): number;
  cw_alloc(len: number): number;
  cw_free(ptr: number, len: number): void;
  cw_trace_new(): number;
  cw_trace_free(handle: number): number;
  cw_ingest(handle: number, stream: number, ptr: number, len: number): number;
  cw_tasks(handle: number): number;
  cw_edges(handle: number): number;
  cw_clock(handle: number, task: number): number;
  cw_stats(handle: number): number;
  cw_happens_before(handle: number, a: number, b: number): number;
  cw_expect_message(
    handle: number,
    fromStream: number,
    fromLocal: number,
    toStream: number,
    toLocal: number,
  ): number;
  cw_expect_response(
    handle: number,
    fromStream: number,
    fromLocal: number,
    requestLocal: number,
    toStream: number,
    toLocal: number,
  ): number;
  cw_findings(handle: number): number;
  cw_failures(handle: number): number;
  cw_anomalies(handle: number): number;
  cw_related(handle: number, task: number, direction: number): number;
  cw_causal_path(handle: number, from: number, to: number): number;
  cw_result_ptr(): number;
}

/** Status codes of the cw_* functions (ffi.rs, `status`). */
export const WasmStatus = {
  Ok: 0,
  BadHandle: -1,
  PartialRecord: -2,
  UnknownKind: -3,
  SeqWentBack: -4,
  BadArgument: -5,
  /** cw_causal_path: no chain of causes leads from the first task to the second. */
  NoPath: -6,
} as const;

/** u32 words per row of cw_tasks (ffi.rs, TASK_ROW_WORDS). */
export const TASK_ROW_WORDS = 10;
/** u32 words per row of cw_edges. */
export const EDGE_ROW_WORDS = 3;
/** u32 words cw_stats fills. */
export const STATS_WORDS = 13;

/** u32 words per access inside a cw_findings row (ffi.rs, ACCESS_WORDS). */
export const ACCESS_WORDS = 8;
/** u32 words per row of cw_findings (ffi.rs, FINDING_ROW_WORDS): a 9-word head, three access slots. */
export const FINDING_ROW_WORDS = 9 + 3 * ACCESS_WORDS;

/** u32 words in the head of a cw_failures row (ffi.rs, FAILURE_HEAD_WORDS); its last word counts the tail. */
export const FAILURE_HEAD_WORDS = 14;
/** u32 words per row of cw_anomalies (ffi.rs, ANOMALY_ROW_WORDS). */
export const ANOMALY_ROW_WORDS = 11;
/** Word 0 of a cw_anomalies row. */
export const AnomalyCode = { SlowAwait: 1, NeverResumed: 2 } as const;
/** "None" in a task or site word of cw_failures (ffi.rs, NONE). */
export const NONE_WORD = 0xffff_ffff;

/** Word 0 of a cw_findings row (findings.rs, FindingClass). */
export const FindingClassCode = {
  LostUpdate: 1,
  InconsistentRead: 2,
  IntermediateRead: 3,
  OverwrittenWrite: 4,
  WriteWrite: 5,
  ReadWrite: 6,
  OrderViolation: 7,
} as const;

/** Word 1 of a cw_findings row (findings.rs, Evidence); lower is more convincing. */
export const EvidenceCode = {
  Observed: 1,
  Concurrent: 2,
  Possible: 3,
} as const;

/** Word 0 of an access slot in a cw_findings row (findings.rs, Role). */
export const RoleCode = {
  First: 1,
  Remote: 2,
  Second: 3,
} as const;

// Every export CoreExports names: a Record over its keys, so the compiler refuses a missing one.
const EXPORTS: Record<keyof CoreExports, true> = {
  memory: true,
  cw_format_version: true,
  cw_record_size: true,
  cw_alloc: true,
  cw_free: true,
  cw_trace_new: true,
  cw_trace_free: true,
  cw_ingest: true,
  cw_tasks: true,
  cw_edges: true,
  cw_clock: true,
  cw_stats: true,
  cw_happens_before: true,
  cw_expect_message: true,
  cw_expect_response: true,
  cw_findings: true,
  cw_failures: true,
  cw_anomalies: true,
  cw_related: true,
  cw_causal_path: true,
  cw_result_ptr: true,
};
const REQUIRED = Object.keys(EXPORTS) as (keyof CoreExports)[];

/** Names of the exports `instance` lacks. */
export function missingExports(exports: WebAssembly.Exports): string[] {
  return REQUIRED.filter((name) => !(name in exports));
}
