/**
 * Loading the WebAssembly core. `instantiateCore` works anywhere WebAssembly does (Node, browsers);
 * `loadCore` finds the shipped .wasm file next to this package in Node.
 */

import { readFileSync } from 'node:fs';
import { CausewayError, CoreErrorCode } from '../errors.ts';
import { EVENT_FORMAT_VERSION, RECORD_SIZE } from '../format/event-format.ts';
import { type CoreExports, missingExports } from './exports.ts';

/** The shipped artifact, built from crates/causeway-core by scripts/build-wasm.sh. */
export const WASM_URL = new URL('../../wasm/causeway_core.wasm', import.meta.url);

/** Instantiates the core from its bytes (or a compiled module) and checks it matches this package. */
export function instantiateCore(source: BufferSource | WebAssembly.Module): CoreExports {
  let instance: WebAssembly.Instance;
  try {
    const module = source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source);
    instance = new WebAssembly.Instance(module, {});
  } catch (error) {
    throw new CausewayError(CoreErrorCode.WASM_LOAD, `the WebAssembly core does not load: ${String(error)}`, {
      cause: error,
    });
  }
  const missing = missingExports(instance.exports);
  if (missing.length > 0) {
    throw new CausewayError(
      CoreErrorCode.WASM_LOAD,
      `the WebAssembly core lacks ${missing.join(', ')}; rebuild it with scripts/build-wasm.sh`,
    );
  }
  const exports = instance.exports as unknown as CoreExports;
  const version = exports.cw_format_version();
  const size = exports.cw_record_size();
  if (version !== EVENT_FORMAT_VERSION || size !== RECORD_SIZE) {
    throw new CausewayError(
      CoreErrorCode.WASM_LOAD,
      `the WebAssembly core reads event format v${version} (${size}-byte records) but @causeway/core writes ` +
        `v${EVENT_FORMAT_VERSION} (${RECORD_SIZE}-byte records); rebuild it with scripts/build-wasm.sh`,
    );
  }
  return exports;
}

let shared: CoreExports | null = null;

/** The core instance of this thread, loaded from the shipped file on first use. */
export function loadCore(): CoreExports {
  if (shared === null) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(WASM_URL);
    } catch (error) {
      throw new CausewayError(
        CoreErrorCode.WASM_LOAD,
        `cannot read ${WASM_URL.pathname}: ${String(error)}; reinstall @causeway/core`,
        { cause: error },
      );
    }
    shared = instantiateCore(bytes);
  }
  return shared;
}
