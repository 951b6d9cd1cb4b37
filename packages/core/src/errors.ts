/**
 * Errors of @causeway/core. Every error Causeway raises carries a stable `CW_*` code; this file
 * holds the base class and the core's codes (each package keeps its own codes in its own
 * errors.ts). docs/errors.md lists them all; a test keeps the two in agreement.
 */

export class CausewayError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CausewayError';
    this.code = code;
  }
}

export const CoreErrorCode = {
  /** A trace file does not exist or cannot be read. */
  TRACE_UNREADABLE: 'CW_TRACE_UNREADABLE',
  /** A file is not a Causeway trace (wrong magic bytes). */
  TRACE_NOT_A_TRACE: 'CW_TRACE_NOT_A_TRACE',
  /** A trace file was written by an unsupported format version. */
  TRACE_VERSION: 'CW_TRACE_VERSION',
  /** A trace file ends in the middle of a chunk. */
  TRACE_TRUNCATED: 'CW_TRACE_TRUNCATED',
  /** A trace file's chunk is malformed. */
  TRACE_CORRUPT: 'CW_TRACE_CORRUPT',
  /** A batch of records was refused by the core; nothing of it was applied. */
  RECORDS_REFUSED: 'CW_RECORDS_REFUSED',
  /** A wire-format batch (docs/wire-format.md) is malformed. */
  BATCH_INVALID: 'CW_BATCH_INVALID',
  /** A wire-format batch is in a version this package does not read. */
  BATCH_VERSION: 'CW_BATCH_VERSION',
  /** The WebAssembly core could not be loaded or does not match this package. */
  WASM_LOAD: 'CW_WASM_LOAD',
} as const;
export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];
