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
