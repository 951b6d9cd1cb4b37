/** Command-line parsing shared by the commands: node:util's parseArgs, with usage errors that say what to run. */

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const reason =
      error instanceof Error ? error.message.replace(/\.?\s*To specify a positional.*$/s, '') : String(error);
    throw new UsageError(`${command}: ${reason}. Run 'causeway ${command} --help' for usage.`);
  }
}

/** Options of every command that reads traces. */
export const TRACE_OPTIONS = {
  'trace-id': { type: 'string' },
  'trace-dir': { type: 'string' },
  server: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The config flags of TRACE_OPTIONS, as parsed. */
export function traceFlags(values: { 'trace-dir'?: string; server?: string; 'api-key'?: string }) {
  return { traceDir: values['trace-dir'], server: values.server, apiKey: values['api-key'] };
}

/** The help lines of TRACE_OPTIONS. */
export const TRACE_OPTIONS_HELP = `  --trace-id ID       a trace in the trace directory: its file name (without .cwtrace) or its
                      trace id (a unique prefix is enough), or latest; 'causeway traces' lists them
  --trace-dir DIR     where traces are (default .causeway/traces; config traceDir, CAUSEWAY_TRACE_DIR)
  --server URL        look --trace-id up on a Causeway server ('causeway serve') instead of the
                      trace directory (config server, CAUSEWAY_SERVER)
  --api-key KEY       the server's API key, if it has one (config apiKey, CAUSEWAY_API_KEY)
  -h, --help          show this help`;
