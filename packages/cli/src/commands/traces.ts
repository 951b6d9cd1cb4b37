/** `causeway traces`: the traces in the trace directory, newest first. */

import { parseCommandArgs, TRACE_OPTIONS, traceFlags } from '../args.ts';
import { loadConfig } from '../config.ts';
import { ExitCode, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';
import { type TraceSummary, traceSource } from '../trace-source.ts';

export const TRACES_HELP = `Usage: causeway traces [options]

Lists the traces in the trace directory, newest first: the trace id (what --trace-id takes; a
unique prefix is enough), the service, when it started, how long it ran, how many records it holds
and how many findings the core reports. Each trace is analyzed to count its findings, so a
directory of large traces takes a moment (progress shows on a terminal).

Options:
  --json              print the list as JSON: an array of
                      { traceId, service, startedAt, durationMs, records, dropped, findings,
                        finished, file }
  --trace-dir DIR     where traces are (default .causeway/traces; config traceDir, CAUSEWAY_TRACE_DIR)
  --server URL        list a Causeway server's traces (config server, CAUSEWAY_SERVER)
  --api-key KEY       the server's API key (config apiKey, CAUSEWAY_API_KEY)
  -h, --help          show this help

Examples:
  causeway traces
  causeway traces --trace-dir /tmp/run-42/traces
  causeway traces --server http://127.0.0.1:7777
  causeway traces --json | jq '.[] | select(.findings > 0) | .traceId'
`;

function duration(ms: number | null): string {
  if (ms === null) return '?';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function render(summaries: TraceSummary[], dir: string): string {
  if (summaries.length === 0) {
    return `No traces in ${dir}. Record one with 'causeway run -- node app.js'.\n`;
  }
  const rows = [
    ['trace id', 'service', 'started', 'duration', 'records', 'findings'],
    ...summaries.map((trace) => [
      trace.traceId,
      trace.service,
      trace.startedAt,
      `${duration(trace.durationMs)}${trace.finished ? '' : ' (unfinished)'}`,
      `${trace.records}${trace.dropped > 0 ? ` (${trace.dropped} dropped)` : ''}`,
      trace.findings === null ? '? (not analysed yet)' : String(trace.findings),
    ]),
  ];
  const widths = (rows[0] as string[]).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] as string).length)),
  );
  return `${rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export async function traces(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('traces', args, {
    'trace-dir': TRACE_OPTIONS['trace-dir'],
    server: TRACE_OPTIONS.server,
    'api-key': TRACE_OPTIONS['api-key'],
    help: TRACE_OPTIONS.help,
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(TRACES_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `traces: unexpected argument '${positionals[0]}'; to list another directory, use --trace-dir DIR.`,
    );
  }
  const { config } = await loadConfig({ flags: traceFlags(values) });
  const source = traceSource(config);
  const summaries = await source.list(io);
  io.out(values.json ? `${JSON.stringify(summaries, null, 2)}\n` : render(summaries, source.where));
  return ExitCode.Ok;
}
