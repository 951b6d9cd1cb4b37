/**
 * Errors of @causeway/cli. A UsageError is the user's to fix on the command line (a wrong option,
 * a missing argument); a ConfigError is in a config file, a CAUSEWAY_* variable or a flag's value.
 * The CLI prints either on one line and exits with ExitCode.Usage; core errors about an unusable
 * trace exit with ExitCode.BadInput. docs/errors.md lists the codes; a test keeps the two in agreement.
 */

import { CausewayError } from '@causeway/core/errors';

export const CliErrorCode = {
  /** The command line is wrong: unknown command or option, missing or extra argument. */
  USAGE: 'CW_CLI_USAGE',
  /** A config file, CAUSEWAY_* variable or flag has a value the CLI does not accept. */
  CONFIG: 'CW_CLI_CONFIG',
  /** No trace matches the given trace id, or the trace directory has none. */
  TRACE_NOT_FOUND: 'CW_CLI_TRACE_NOT_FOUND',
  /** The Causeway server given with --server cannot be reached, or refused a request. */
  SERVER: 'CW_CLI_SERVER',
  /** A file the command writes (an export, the config, package.json) cannot be written or read. */
  FILE: 'CW_CLI_FILE',
  /** `export --format test` found no finding it can turn into a reproduction test. */
  NOTHING_TO_REPRODUCE: 'CW_CLI_NOTHING_TO_REPRODUCE',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** The documented exit codes (docs/cli.md, "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  /** `--fail-on` matched at least one finding. */
  FindingsMatched: 1,
  /** The command line, the config or the input (a trace file) is wrong or unusable. */
  Usage: 2,
  BadInput: 2,
  /** A bug in Causeway. */
  Internal: 70,
} as const;

export class UsageError extends CausewayError {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message);
    this.name = 'UsageError';
  }
}

export class ConfigError extends CausewayError {
  constructor(message: string) {
    super(CliErrorCode.CONFIG, message);
    this.name = 'ConfigError';
  }
}

/** An input the command was pointed at is missing or unusable (exit 2, like a core trace error). */
export class InputError extends CausewayError {
  constructor(code: CliErrorCode, message: string) {
    super(code, message);
    this.name = 'InputError';
  }
}
