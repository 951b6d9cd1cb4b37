/** `causeway export`: a trace as JSON, a causal graph (DOT, Mermaid), or OTLP for tracing backends. */

import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from '@babel/parser';
import { parseCommandArgs, TRACE_OPTIONS, TRACE_OPTIONS_HELP, traceFlags } from '../args.ts';
import { loadConfig } from '../config.ts';
import { CliErrorCode, ExitCode, InputError, UsageError } from '../errors.ts';
import { toDot, toMermaid } from '../export/graph.ts';
import { toOtlp } from '../export/otlp.ts';
import { TEST_FRAMEWORKS, type TestFramework, toTestFile } from '../export/test-file.ts';
import { recordingOf } from '../export/test-recording.ts';
import type { Io } from '../io.ts';
import { openTrace, openTraces, traceRef } from '../trace-source.ts';
import { VERSION } from '../version.ts';

const FORMATS = ['json', 'dot', 'mermaid', 'otlp', 'test'] as const;
type Format = (typeof FORMATS)[number];

export const EXPORT_HELP = `Usage: causeway export --trace-id ID [--format FORMAT] [--out FILE] [options]
       causeway export <trace-file>... [--format FORMAT] [--out FILE] [options]

Writes one trace in another form, to stdout or to --out FILE:
  json      the full report ('causeway analyze --json') plus every event: its task, code site,
            time, and the location and value of each property access
  dot       the causal graph for Graphviz: tasks as nodes (where each started, when), edges by
            kind (await solid, resolve dashed), race findings in red
  mermaid   the same graph as a Mermaid flowchart (renders in GitHub markdown)
  otlp      OTLP/HTTP JSON for an OpenTelemetry collector: one span per task, links for the
            happens-before edges, race findings as span events and attributes
  test      a test file (node:test, or Vitest with --framework vitest) that reproduces a lost
            update: it replays the recorded requests against the app in-process, releases
            their calls in the recorded order, and asserts that no change is lost
            (docs/export-test.md). Needs --app.

Options:
  --format FORMAT     json (default), dot, mermaid, otlp or test
  --out FILE          write there instead of stdout
  --app MODULE        (test) the module exporting the app's replayTarget (docs/export-test.md)
  --framework NAME    (test) node (node:test, the default) or vitest; jest is not offered (it
                      cannot load the TypeScript ES modules without a transform)
${TRACE_OPTIONS_HELP}

Examples:
  causeway export --trace-id 393b363d --format dot --out graph.dot && dot -Tsvg graph.dot > graph.svg
  causeway export --trace-id 393b363d --format mermaid >> docs/incident.md
  causeway export --trace-id 393b363d --format otlp --out spans.json
  causeway export --trace-id 393b363d --format test --app src/replay-target.ts --out test/race.test.ts
  curl -H 'Content-Type: application/json' --data-binary @spans.json http://localhost:4318/v1/traces
`;

function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'json';
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(
    `export: unknown --format '${value}'; the formats are ${FORMATS.join(', ')}. Run 'causeway export --help' for usage.`,
  );
}

/** What a generated test imports the replay harness from. */
const REPLAY_MODULE = '@causeway/instrumentation/replay';

/** The --app module of `--format test`, checked; options of other formats are refused there. */
function testFramework(framework: string | undefined): TestFramework {
  if (framework === undefined) return 'node';
  if ((TEST_FRAMEWORKS as readonly string[]).includes(framework)) return framework as TestFramework;
  if (framework === 'jest') {
    throw new UsageError(
      "export: --framework jest is not offered: Jest cannot load the TypeScript ES modules the test and the replay harness are without a transform the app would have to configure (docs/export-test.md); use node or vitest. Run 'causeway export --help' for usage.",
    );
  }
  throw new UsageError(
    `export: --framework ${framework} is not offered: node (node:test) or vitest. Run 'causeway export --help' for usage.`,
  );
}

function testApp(app: string | undefined): string {
  if (app === undefined) {
    throw new UsageError(
      "export: --format test needs --app MODULE, the module exporting the app's replayTarget (docs/export-test.md). Run 'causeway export --help' for usage.",
    );
  }
  const path = resolve(app);
  if (!existsSync(path)) {
    throw new InputError(
      CliErrorCode.FILE,
      `${app}: no such module (--app names the module exporting replayTarget)`,
    );
  }
  exportsReplayTarget(app, path);
  return path;
}

/**
 * Checks, without running it, that the --app module exports `replayTarget`: `export const
 * replayTarget`, `export function replayTarget`, `export { x as replayTarget }`, or a re-export
 * (`export { replayTarget } from`, `export * from`, which is taken on trust).
 */
function exportsReplayTarget(app: string, path: string): void {
  let body: ReturnType<typeof parse>['program']['body'];
  try {
    const source = readFileSync(path, 'utf8');
    const jsx = /\.[jt]sx$/.test(path);
    body = parse(source, {
      sourceType: 'module',
      plugins: [['typescript', {}], ...(jsx ? (['jsx'] as const) : [])],
      errorRecovery: false,
    }).program.body;
  } catch (error) {
    throw new InputError(
      CliErrorCode.FILE,
      `${app}: cannot be read as a module (${(error as Error).message}); --app names the TypeScript or JavaScript module exporting replayTarget`,
    );
  }
  const named = (node: { type: string; name?: string; value?: string }) =>
    (node.type === 'Identifier' ? node.name : node.value) === 'replayTarget';
  for (const node of body) {
    if (node.type === 'ExportAllDeclaration') return;
    if (node.type !== 'ExportNamedDeclaration') continue;
    const declaration = node.declaration;
    if (declaration?.type === 'VariableDeclaration') {
      for (const { id } of declaration.declarations) if (id.type === 'Identifier' && named(id)) return;
    } else if (
      (declaration?.type === 'FunctionDeclaration' || declaration?.type === 'ClassDeclaration') &&
      declaration.id != null &&
      named(declaration.id)
    ) {
      return;
    }
    for (const specifier of node.specifiers) {
      if (specifier.type !== 'ExportDefaultSpecifier' && named(specifier.exported)) return;
    }
  }
  throw new InputError(
    CliErrorCode.FILE,
    `${app}: exports no replayTarget (--app names the module exporting the app's replayTarget: docs/export-test.md, "The replay target")`,
  );
}

/**
 * Does `@causeway/instrumentation` resolve from `dir`, as the generated test imports it? Looked
 * for as Node looks for a package: node_modules/@causeway/instrumentation in `dir` or a parent.
 */
function replayResolvesFrom(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules', '@causeway', 'instrumentation', 'package.json'))) return true;
    if (dirname(at) === at) return false;
  }
}

function writable(out: string): void {
  try {
    accessSync(dirname(resolve(out)), constants.W_OK);
  } catch (error) {
    throw new InputError(
      CliErrorCode.FILE,
      `${out}: cannot write the export (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

/** An import specifier for `path` from a file in `dir`: `./x.ts`, `../src/x.ts`. */
function specifierFrom(dir: string, path: string): string {
  const rel = relative(dir, path).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

export async function exportTrace(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', args, {
    ...TRACE_OPTIONS,
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
    app: { type: 'string' },
    framework: { type: 'string' },
  });
  if (values.help) {
    io.out(EXPORT_HELP);
    return ExitCode.Ok;
  }
  const format = parseFormat(values.format);
  if (format === 'test' && positionals.length > 1) {
    throw new UsageError(
      "export: --format test reproduces a finding of one recording; give one trace file. Run 'causeway export --help' for usage.",
    );
  }
  // Several files, or --trace-id's joined recordings, export as one trace (as analyze reports them).
  if (positionals.length === 0 || values['trace-id'] !== undefined) {
    traceRef('export', positionals[0], values['trace-id']);
  }
  const { config } = await loadConfig({ flags: traceFlags(values) });
  if (format !== 'test' && (values.app !== undefined || values.framework !== undefined)) {
    throw new UsageError(
      `export: --app and --framework are options of --format test, not of --format ${format}. Run 'causeway export --help' for usage.`,
    );
  }
  const framework = format === 'test' ? testFramework(values.framework) : 'node';
  const app = format === 'test' ? testApp(values.app) : null;
  // A test export reads every event first: say now, not after that, that it cannot be written.
  if (format === 'test' && values.out !== undefined) {
    writable(values.out);
    if (!replayResolvesFrom(dirname(resolve(values.out)))) {
      io.err(
        `causeway: warning: ${REPLAY_MODULE} does not resolve from ${dirname(values.out)}: the generated test imports it; put the test inside the app's project (where @causeway/instrumentation is installed)\n`,
      );
    }
  }
  // A test reproduces one process: --trace-id names one recording there, not its joined ones.
  const opened =
    format === 'test'
      ? await openTrace(config, traceRef('export', positionals[0], values['trace-id']), io, { events: true })
      : await openTraces(config, 'export', positionals, values['trace-id'], io, {
          events: format === 'json',
        });
  const { report } = opened;
  let text: string;
  if (format === 'json') {
    text = `${JSON.stringify({ ...report, events: opened.events }, null, 2)}\n`;
  } else if (format === 'dot') {
    text = toDot(report);
  } else if (format === 'mermaid') {
    text = toMermaid(report);
  } else if (format === 'test') {
    const recording = recordingOf(report, opened.events ?? [], opened.where);
    const from = values.out === undefined ? process.cwd() : dirname(resolve(values.out));
    text = toTestFile(
      recording,
      { target: specifierFrom(from, app as string), replay: REPLAY_MODULE },
      framework,
    );
  } else {
    text = `${JSON.stringify(toOtlp(report, VERSION), null, 2)}\n`;
  }
  if (values.out === undefined) {
    io.out(text);
    return ExitCode.Ok;
  }
  try {
    writeFileSync(values.out, text);
  } catch (error) {
    throw new InputError(
      CliErrorCode.FILE,
      `${values.out}: cannot write the export (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  io.out(
    `causeway: wrote ${format} of trace ${opened.where} to ${values.out} (${Buffer.byteLength(text)} bytes)\n`,
  );
  return ExitCode.Ok;
}
