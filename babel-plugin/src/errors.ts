/**
 * Errors of @causeway/babel-plugin. docs/errors.md lists them; a test keeps the two in agreement.
 */

import { CausewayError } from '@causeway/core/errors';

export const InstrumentErrorCode = {
  /** The source file is not valid JavaScript or TypeScript; nothing was instrumented. */
  SYNTAX: 'CW_INSTRUMENT_SYNTAX',
  /** The file was parsed but could not be instrumented (a Causeway bug: please report it). */
  FAILED: 'CW_INSTRUMENT_FAILED',
} as const;
export type InstrumentErrorCode = (typeof InstrumentErrorCode)[keyof typeof InstrumentErrorCode];

interface BabelErrorShape {
  code?: unknown;
  reasonCode?: unknown;
  loc?: { line: number; column: number };
}

/** Turns what Babel threw while transforming `file` into an error that names the file and position. */
export function instrumentError(file: string, cause: unknown): CausewayError {
  const shape = (typeof cause === 'object' && cause !== null ? cause : {}) as BabelErrorShape;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (shape.code === 'BABEL_PARSE_ERROR' || typeof shape.reasonCode === 'string') {
    const at = shape.loc ? `:${shape.loc.line}:${shape.loc.column + 1}` : '';
    // Babel prefixes the file name and appends a code frame; keep only the reason.
    const reason = message
      .replace(/^[^:]*:\s*/, '')
      .split('\n')[0]
      ?.replace(/\s*\(\d+:\d+\):?$/, '');
    return new CausewayError(
      InstrumentErrorCode.SYNTAX,
      `${file}${at}: cannot instrument: the parser stopped here: ${reason}`,
      { cause },
    );
  }
  return new CausewayError(
    InstrumentErrorCode.FAILED,
    `${file}: instrumentation failed: ${message.split('\n')[0]}. This is a Causeway bug: please report it to the Causeway maintainers with this file.`,
    { cause },
  );
}
