/** The causeway command: dispatches to a command, and turns errors into one line and an exit code. */

import { createRequire } from 'node:module';
import { CausewayError } from '@causeway/core/errors';
import { analyze } from './commands/analyze.ts';
import { instrument } from './commands/instrument.ts';
import { serve } from './commands/serve.ts';
import { ExitCode, UsageError } from './errors.ts';
import { type Io, processIo } from './io.ts';

export const MAIN_HELP = `Usage: causeway <command> [options]

Causeway records how the async work of a Node.js service causes other work, and finds what went
wrong between concurrent requests.

Commands:
  analyze <trace-file>   show the tasks of a recorded run and the happens-before edges between them
  instrument <dir>       instrument a source tree ahead of time (--out-dir DIR)
  serve                  start the server that stores traces and serves the REST API (127.0.0.1:7777)

Record a trace:
  node --import @causeway/instrumentation/register your-app.ts

Options:
  -h, --help     show this help (and 'causeway <command> --help' for a command)
  -v, --version  show the version

Docs: docs/architecture.md, docs/cli.md
`;

type Command = (args: string[], io: Io) => number | Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = { analyze, instrument, serve };

const { version: VERSION } = createRequire(import.meta.url)('../package.json') as { version: string };

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      io.out(MAIN_HELP);
      return ExitCode.Ok;
    }
    if (name === '-v' || name === '--version') {
      io.out(`causeway ${VERSION}\n`);
      return ExitCode.Ok;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) {
      throw new UsageError(`unknown command '${name}'. Run 'causeway --help' for the commands.`);
    }
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`causeway: ${error.message}\n`);
      return ExitCode.Usage;
    }
    if (error instanceof CausewayError) {
      io.err(`causeway: ${error.message}\n`);
      return ExitCode.BadInput;
    }
    io.err(
      `causeway: internal error (a bug in Causeway; please report it with this output):\n${error instanceof Error ? error.stack : String(error)}\n`,
    );
    return ExitCode.Internal;
  }
}
