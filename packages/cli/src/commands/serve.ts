/** `causeway serve`: the server that stores traces from many processes and serves the REST API. */

import { createServer, SERVER_VERSION, ServerError, ServerErrorCode, TraceStore } from '@causeway/server';
import { parseCommandArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

export const SERVE_HELP = `Usage: causeway serve [options]

Starts the Causeway server: it stores the batches the runtime sends (CAUSEWAY_SERVER=http://...)
and OpenTelemetry spans (OTLP/HTTP JSON at /v1/traces), and serves traces, events, causal graphs
and findings over a REST API (docs/rest-api.md) with live updates (Server-Sent Events).

Options:
  --port <n>          port to listen on (default 7777; 0 picks a free one)
  --host <address>    address to bind (default 127.0.0.1). Any address other than loopback
                      needs an API key.
  --store <where>     a SQLite file (default .causeway/causeway.db) or postgres://user@host/db
                      (?schema=name picks the schema, default causeway)
  --api-key <key>     require this key in the x-causeway-api-key header of every request
                      (default: $CAUSEWAY_API_KEY)
  --max-traces <n>    keep at most n traces (the most recently updated)
  --max-age <time>    delete traces not updated for this long: 30m, 12h, 7d
  --body-limit <mb>   largest request body in MiB (default 16)
  --log-level <lvl>   fatal, error, warn, info (default), debug, or silent; logs are JSON on stderr
  -h, --help          show this help

It prints one line when it listens (address, store, version) and stops cleanly on SIGINT or
SIGTERM, finishing the batches it is storing.

Examples:
  causeway serve                                   127.0.0.1:7777, SQLite in .causeway/causeway.db
  causeway serve --store postgres://postgres@127.0.0.1:5432/causeway --max-age 7d
  CAUSEWAY_API_KEY=s3cret causeway serve --host 0.0.0.0
`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function positiveInt(option: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`serve: --${option} ${text} should be an integer from ${min}.`);
  }
  return value;
}

function duration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (match === null)
    throw new UsageError(`serve: --max-age ${text} should be a number and a unit: 30m, 12h, 7d.`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export async function serve(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    store: { type: 'string' },
    'api-key': { type: 'string' },
    'max-traces': { type: 'string' },
    'max-age': { type: 'string' },
    'body-limit': { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`serve: unexpected argument '${positionals[0]}'.`);
  const port = positiveInt('port', values.port, 0) ?? 7777;
  if (port > 65535) throw new UsageError(`serve: --port ${port} should be at most 65535.`);
  const host = values.host ?? '127.0.0.1';
  const apiKey = values['api-key'] ?? (process.env.CAUSEWAY_API_KEY || undefined);
  if (!LOOPBACK.test(host) && apiKey === undefined) {
    throw new ServerError(
      ServerErrorCode.CONFIG,
      `serve: refusing to listen on ${host} without an API key: anyone who can reach it could read and write traces. Pass --api-key <key> or set CAUSEWAY_API_KEY (senders set the same key), or bind to 127.0.0.1.`,
    );
  }
  const maxTraces = positiveInt('max-traces', values['max-traces']);
  const maxAgeMs = duration(values['max-age']);
  const bodyLimit = (positiveInt('body-limit', values['body-limit']) ?? 16) * 1024 * 1024;
  const level = values['log-level'] ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'silent'].includes(level)) {
    throw new UsageError(`serve: --log-level ${level} should be fatal, error, warn, info, debug or silent.`);
  }

  const store = await TraceStore.open(values.store);
  const server = createServer({
    store,
    apiKey,
    bodyLimit,
    logger: { level, stream: process.stderr },
    retention: maxTraces === undefined && maxAgeMs === undefined ? undefined : { maxTraces, maxAgeMs },
  });
  try {
    await server.app.listen({ port, host });
  } catch (error) {
    await store.close();
    throw new ServerError(
      ServerErrorCode.CONFIG,
      `serve: cannot listen on ${host}:${port}: ${(error as Error).message}`,
    );
  }
  const address = server.app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  io.out(
    `causeway serve: listening on http://${shown}:${bound} (store: ${store.kind} ${store.location}; version ${SERVER_VERSION}${apiKey === undefined ? '' : '; API key required'})\n`,
  );
  await server.retain();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
      await server.app.close();
      await store.close();
      resolve(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}
