/** `causeway tui [trace-file]`: the terminal UI over recorded traces. */

import { enableCompileCache } from 'node:module';
import { CausewayError } from '@causeway/core/errors';
import { parseCommandArgs } from '../args.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

export const TUI_HELP = `Usage: causeway tui [trace-file] [--server URL]

Opens the terminal UI over recorded traces: the traces (←→ to pick one), the timeline of the
selected trace's events, what caused the selected event's task and what it caused, which tasks
ran concurrently with it, its code site with the source line, the value read or written, the
task's vector clock, and the races Causeway found, in words.

Without a trace file, it lists the trace files in .causeway/traces/, newest first.

Keys:
  ↑↓ jk  events      ←→ hl  traces     g G  first / last     PgUp PgDn  a page
  Enter  details     t  time travel (the tracked objects' state as of the event)
  a  findings only   /  search (function, file, property, value); n N next / previous
  r  refresh         ?  help            q  quit

Options:
  --server URL  read traces from a Causeway server (not supported yet: see docs/cli.md)
  -h, --help    show this help

Examples:
  causeway tui
  causeway tui .causeway/traces/checkout.cwtrace
`;

/** Input the UI cannot show is refused before it starts, with the usage error's exit code. */
const BAD_INPUT = ExitCode.Usage;

export async function tui(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('tui', args, {
    server: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(TUI_HELP);
    return ExitCode.Ok;
  }
  const [file, ...extra] = positionals;
  if (extra.length > 0) {
    throw new UsageError(
      `tui: unexpected argument '${extra[0]}': tui opens one trace file, or the traces folder.`,
    );
  }
  if (values.server !== undefined) {
    throw new UsageError(
      'tui: --server is not supported yet: the TUI reads trace files only (docs/cli.md). Open a trace file instead: causeway tui <trace-file>.',
    );
  }
  // React's development build checks every element and halves the frame rate; this is an
  // application, not a component under development. Set before React is first imported.
  process.env.NODE_ENV ??= 'production';
  // Node's on-disk code cache (in the temporary folder, or NODE_COMPILE_CACHE; off with
  // NODE_DISABLE_COMPILE_CACHE=1) halves loading Ink, React and the core on every start after the
  // first, most of the time to the first frame (docs/benchmarks.md).
  enableCompileCache();
  // Loaded here, not at the CLI's start: Ink and React are only needed by this command.
  const { FileTraceSource, runTui } = await import('@causeway/tui');
  const source = new FileTraceSource({ file });
  const entries = await source.list();
  const first = entries[0];
  if (first === undefined) {
    io.err(
      `causeway: tui: no trace files in ${source.description}/. Record one with 'node --import @causeway/instrumentation/register your-app.ts', or name a trace file: causeway tui <trace-file>.\n`,
    );
    return BAD_INPUT;
  }
  let model: Awaited<ReturnType<typeof source.open>>;
  try {
    model = await source.open(first);
  } catch (error) {
    if (!(error instanceof CausewayError)) throw error;
    io.err(`causeway: ${error.message}\n`);
    return BAD_INPUT;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    model.dispose();
    io.err(
      "causeway: tui needs an interactive terminal (stdin and stdout must be a TTY). For text output use 'causeway analyze <trace-file>'.\n",
    );
    return BAD_INPUT;
  }
  await runTui({ source, entries, first: model });
  return ExitCode.Ok;
}
