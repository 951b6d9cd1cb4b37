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
} as const;

/** u32 words per row of cw_tasks (ffi.rs, TASK_ROW_WORDS). */
export const TASK_ROW_WORDS = 10;
/** u32 words per row of cw_edges. */
export const EDGE_ROW_WORDS = 3;

const REQUIRED: readonly (keyof CoreExports)[] = [
  'memory',
  'cw_format_version',
  'cw_record_size',
  'cw_alloc',
  'cw_free',
  'cw_trace_new',
  'cw_trace_free',
  'cw_ingest',
  'cw_tasks',
  'cw_edges',
  'cw_clock',
  'cw_stats',
  'cw_happens_before',
  'cw_result_ptr',
];

/** Names of the exports `instance` lacks. */
export function missingExports(exports: WebAssembly.Exports): string[] {
  return REQUIRED.filter((name) => !(name in exports));
}
