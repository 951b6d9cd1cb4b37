/** `causeway export`: a trace as JSON, a causal graph (DOT, Mermaid), or OTLP for tracing backends. */

import { writeFileSync } from 'node:fs';
import { parseCommandArgs, TRACE_OPTIONS, TRACE_OPTIONS_HELP, traceFlags } from '../args.ts';
import { loadConfig } from '../config.ts';
import { CliErrorCode, ExitCode, InputError, UsageError } from '../errors.ts';
import { toDot, toMermaid } from '../export/graph.ts';
import { toOtlp } from '../export/otlp.ts';
import type { Io } from '../io.ts';
import { openTraces, traceRef } from '../trace-source.ts';
import { VERSION } from '../version.ts';

const FORMATS = ['json', 'dot', 'mermaid', 'otlp'] as const;
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
  test      a test that reproduces a finding: not built yet

Options:
  --format FORMAT     json (default), dot, mermaid or otlp
  --out FILE          write there instead of stdout
${TRACE_OPTIONS_HELP}

Examples:
  causeway export --trace-id 393b363d --format dot --out graph.dot && dot -Tsvg graph.dot > graph.svg
  causeway export --trace-id 393b363d --format mermaid >> docs/incident.md
  causeway export --trace-id 393b363d --format otlp --out spans.json
  curl -H 'Content-Type: application/json' --data-binary @spans.json http://localhost:4318/v1/traces
`;

function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'json';
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  if (value === 'test') {
    throw new UsageError(
      "export: --format test (a test that reproduces a finding) is not built yet; use json, dot, mermaid or otlp. Run 'causeway export --help' for usage.",
    );
  }
  throw new UsageError(
    `export: unknown --format '${value}'; the formats are ${FORMATS.join(', ')}. Run 'causeway export --help' for usage.`,
  );
}

export async function exportTrace(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', args, {
    ...TRACE_OPTIONS,
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
  });
  if (values.help) {
    io.out(EXPORT_HELP);
    return ExitCode.Ok;
  }
  const format = parseFormat(values.format);
  // Several files, or --trace-id's joined recordings, export as one trace (as analyze reports them).
  if (positionals.length === 0 || values['trace-id'] !== undefined) {
    traceRef('export', positionals[0], values['trace-id']);
  }
  const { config } = await loadConfig({ flags: traceFlags(values) });
  const opened = await openTraces(config, 'export', positionals, values['trace-id'], io, {
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
