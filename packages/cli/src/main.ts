/** The causeway command: dispatches to a command, and turns errors into one line and an exit code. */

import { CausewayError } from '@causeway/core/errors';
import { ExitCode, UsageError } from './errors.ts';
import { type Io, processIo } from './io.ts';
import { VERSION } from './version.ts';

type CommandRun = (args: string[], io: Io) => number | Promise<number>;

interface Command {
  /** The synopsis shown in `causeway --help`, after the name. */
  usage: string;
  summary: string;
  run: CommandRun;
}

/**
 * Every command, in the order `causeway --help` lists them. Each command's module is loaded when
 * it runs: Babel (instrument) and fastify with pg (serve) take most of a second to load, which
 * every other command, and `causeway tui`'s first frame, would otherwise wait for.
 */
const COMMANDS: Readonly<Record<string, Command>> = {
  init: {
    usage: '',
    summary: 'set a project up: causeway.config.json and npm scripts',
    run: (args, io) => import('./commands/init.ts').then((m) => m.init(args, io)),
  },
  instrument: {
    usage: '<dir> [--out-dir DIR]',
    summary: 'instrument a source tree ahead of time',
    run: (args, io) => import('./commands/instrument.ts').then((m) => m.instrument(args, io)),
  },
  run: {
    usage: '-- <command> [args]',
    summary: 'run a program with on-the-fly instrumentation, recording a trace',
    run: (args, io) => import('./commands/run.ts').then((m) => m.runCommand(args, io)),
  },
  serve: {
    usage: '[--port N] [--store S]',
    summary: 'start the server that stores traces and serves the REST API (127.0.0.1:7777)',
    run: (args, io) => import('./commands/serve.ts').then((m) => m.serve(args, io)),
  },
  tui: {
    usage: '[trace-file] [--server URL]',
    summary: 'the terminal UI: traces, timeline, causes, details, time travel, findings',
    run: (args, io) => import('./commands/tui.ts').then((m) => m.tui(args, io)),
  },
  analyze: {
    usage: '<trace> | --trace-id ID',
    summary: 'the findings (races) of a run, its tasks and happens-before edges',
    run: (args, io) => import('./commands/analyze.ts').then((m) => m.analyze(args, io)),
  },
  traces: {
    usage: '',
    summary: 'the recorded traces, newest first, with their findings counts',
    run: (args, io) => import('./commands/traces.ts').then((m) => m.traces(args, io)),
  },
  export: {
    usage: '<trace> | --trace-id ID --format F',
    summary: 'a trace as JSON, a causal graph (dot, mermaid), OTLP spans or a reproduction test',
    run: (args, io) => import('./commands/export.ts').then((m) => m.exportTrace(args, io)),
  },
};

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, { usage }]) => `${name} ${usage}`);
  const width = Math.max(...rows.map((row) => row.length));
  const lines = Object.values(COMMANDS).map(
    ({ summary }, i) => `  ${(rows[i] as string).padEnd(width)}  ${summary}`,
  );
  return `Usage: causeway <command> [options]

Causeway records how the async work of a Node.js service causes other work, and finds what went
wrong between concurrent requests.

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help (and 'causeway <command> --help' for a command, with examples)
  -v, --version  show the version

Settings come from causeway.config.json (or .js, .ts; the nearest from the working directory
upward), then CAUSEWAY_* environment variables, then flags: docs/cli.md lists them.

Exit codes: 0 done, 1 a finding matched --fail-on, 2 usage, config or input error.
Docs: docs/cli.md, docs/architecture.md
`;
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      io.out(mainHelp());
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
    return await command.run(args, io);
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
