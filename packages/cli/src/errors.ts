/**
 * Errors of @causeway/cli. A UsageError is the user's to fix (a wrong option, a missing argument):
 * the CLI prints its message on one line and exits with ExitCode.Usage. docs/errors.md lists the
 * codes; a test keeps the two in agreement.
 */

import { CausewayError } from '@causeway/core/errors';

export const CliErrorCode = {
  /** The command line is wrong: unknown command or option, missing or extra argument. */
  USAGE: 'CW_CLI_USAGE',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export const ExitCode = {
  Ok: 0,
  /** The input (a trace file) is unusable. */
  BadInput: 1,
  /** The command line is wrong. */
  Usage: 2,
  /** A bug in Causeway. */
  Internal: 70,
} as const;

export class UsageError extends CausewayError {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message);
    this.name = 'UsageError';
  }
}
