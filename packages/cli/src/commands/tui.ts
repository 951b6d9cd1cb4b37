/** `causeway tui [trace-file] [--server URL]`: the terminal UI over recorded traces. */

import { enableCompileCache } from 'node:module';
import { CausewayError } from '@causeway/core/errors';
import { parseCommandArgs, TRACE_OPTIONS, traceFlags } from '../args.ts';
import { loadConfig } from '../config.ts';
import { CliErrorCode, ExitCode, InputError, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';
import { ServerTraceSource } from '../trace-source.ts';

export const TUI_HELP = `Usage: causeway tui [trace-file] [--server URL] [--api-key KEY]

Opens the terminal UI over recorded traces: the traces (←→ to pick one), the timeline of the
selected trace's events, what caused the selected event's task and what it caused, which tasks
ran concurrently with it, its code site with the source line, the value read or written, the
task's vector clock, and the races Causeway found, in words.

Without a trace file, it lists the trace files in .causeway/traces/, newest first. With
--server (or the server setting: config server, CAUSEWAY_SERVER) it lists the server's traces
instead, reads events a page at a time, and follows a trace still being recorded (live): new
events appear, a selection on the last event follows them, and new traces join the list. From
a server there is no time travel and no vector clock (the server serves neither).

Keys:
  ↑↓ jk  events      ←→ hl  traces     g G  first / last     PgUp PgDn  a page
  Enter  details     t  time travel (the tracked objects' state as of the event)
  a  findings only   /  search (function, file, property, value); n N next / previous
  r  refresh         ?  help            q  quit

Options:
  --server URL   read traces from a Causeway server ('causeway serve'); a trace id (a unique
                 prefix is enough, or latest) selects that trace first
  --api-key KEY  the server's API key, if it has one (config apiKey, CAUSEWAY_API_KEY)
  --trace-dir DIR  the traces folder (default .causeway/traces; config traceDir, CAUSEWAY_TRACE_DIR)
  -h, --help     show this help

Examples:
  causeway tui
  causeway tui .causeway/traces/checkout.cwtrace
  causeway tui --server http://127.0.0.1:7777
`;

/** Input the UI cannot show is refused before it starts, with the usage error's exit code. */
const BAD_INPUT = ExitCode.Usage;

export async function tui(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('tui', args, {
    'trace-dir': TRACE_OPTIONS['trace-dir'],
    server: TRACE_OPTIONS.server,
    'api-key': TRACE_OPTIONS['api-key'],
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
  // A trace file is read from disk whatever the settings say; otherwise a configured server wins.
  const { config } =
    file !== undefined && values.server === undefined
      ? { config: null }
      : await loadConfig({ flags: traceFlags(values) });
  const server = config?.server ?? null;
  // React's development build checks every element and halves the frame rate; this is an
  // application, not a component under development. Set before React is first imported.
  process.env.NODE_ENV ??= 'production';
  // Node's on-disk code cache (in the temporary folder, or NODE_COMPILE_CACHE; off with
  // NODE_DISABLE_COMPILE_CACHE=1) halves loading Ink, React and the core on every start after the
  // first, most of the time to the first frame (docs/benchmarks.md).
  enableCompileCache();
  // Ink without the 415 modules of es-toolkit's index it imports one function from (about half
  // of loading Ink; docs/benchmarks.md). Registered before Ink is first imported.
  const { registerQuickImports } = await import('@causeway/tui/quick-imports');
  registerQuickImports();
  // Loaded here, not at the CLI's start: Ink and React are only needed by this command.
  const tuiModule = await import('@causeway/tui');
  if (server !== null)
    return serverTui(tuiModule, new ServerTraceSource(server, config?.apiKey ?? null), file, io);
  const { FileTraceSource, runTui } = tuiModule;
  const source = new FileTraceSource({ file, directory: config?.traceDir });
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
  if (!isTerminal(io)) {
    model.dispose();
    return BAD_INPUT;
  }
  await runTui({ source, entries, first: model });
  return ExitCode.Ok;
}

/**
 * The TUI over a server. What fails before the UI starts (server unreachable, 401, an unknown
 * trace) is one line and exit 2; afterwards the UI says it in its status line. An empty server
 * is not an error: the UI waits for the first trace to arrive.
 */
async function serverTui(
  { ServerSource, runTui }: typeof import('@causeway/tui'),
  client: ServerTraceSource,
  traceId: string | undefined,
  io: Io,
): Promise<number> {
  const source = new ServerSource(client);
  let entries: Awaited<ReturnType<typeof source.list>>;
  let first: Awaited<ReturnType<typeof source.open>> | null = null;
  try {
    entries = await source.list();
    if (traceId !== undefined) {
      // By whole id, unique prefix or `latest`, as the other commands name a server's traces.
      const id = await client.resolve(traceId);
      const at = entries.findIndex((entry) => entry.id === id);
      if (at < 0) {
        throw new InputError(
          CliErrorCode.TRACE_NOT_FOUND,
          `no trace '${traceId}' on ${client.base}. Run 'causeway traces --server ${client.base}' to list them.`,
        );
      }
      // The named trace goes first: it is the one shown at start.
      entries = [entries[at] as (typeof entries)[number], ...entries.filter((_, i) => i !== at)];
    }
    if (entries[0] !== undefined) first = await source.open(entries[0]);
  } catch (error) {
    if (!(error instanceof CausewayError)) throw error;
    io.err(`causeway: tui: ${error.message}\n`);
    return BAD_INPUT;
  }
  if (!isTerminal(io)) {
    first?.dispose();
    return BAD_INPUT;
  }
  await runTui({ source, entries, first });
  return ExitCode.Ok;
}

function isTerminal(io: Io): boolean {
  if (process.stdin.isTTY && process.stdout.isTTY) return true;
  io.err(
    "causeway: tui needs an interactive terminal (stdin and stdout must be a TTY). For text output use 'causeway analyze <trace-file>'.\n",
  );
  return false;
}
