/**
 * The runtime's settings, from CAUSEWAY_* environment variables. A bad value is reported as a
 * warning and replaced by the default: configuration never stops the application.
 */

import { basename, extname, join } from 'node:path';
import { InstrumentationErrorCode, warn } from './errors.ts';
import { type FileFilter, globList } from './file-filter.ts';

export interface RuntimeConfig {
  /** CAUSEWAY_ENABLED (default 1): 0 turns recording and instrumentation off. */
  enabled: boolean;
  /** CAUSEWAY_SERVICE: the name traces are filed under (default: the entry file's name). */
  service: string;
  /** CAUSEWAY_TRACE_FILE: exact output path; otherwise a new file in `traceDir`. */
  traceFile: string | null;
  /** CAUSEWAY_TRACE_DIR (default .causeway/traces under the working directory). */
  traceDir: string;
  /** CAUSEWAY_RING_RECORDS (default 65536): ring capacity in records, a power of two. */
  ringRecords: number;
  /** CAUSEWAY_QUIET=1: no summary line on stderr at exit. */
  quiet: boolean;
  /**
   * CAUSEWAY_ACCESSES (default all): which property accesses on-the-fly instrumentation records:
   * `all` (reads and writes), `writes` (cheaper; finds write-write races only) or `off`.
   */
  accesses: AccessLevel;
  /**
   * CAUSEWAY_INCLUDE, CAUSEWAY_EXCLUDE: comma-separated globs, relative to the working directory,
   * of the files on-the-fly loading instruments (the rule of `causeway instrument`'s --include and
   * --exclude; node_modules and Causeway's own files are never instrumented on the fly).
   */
  files: FileFilter;
  /** CAUSEWAY_SERVER: a `causeway serve` URL to send batches to, besides the trace file. */
  server: string | null;
  /** CAUSEWAY_API_KEY: sent to the server in the x-causeway-api-key header. */
  apiKey: string | null;
  /**
   * CAUSEWAY_INTERCEPTORS (default all): which interceptors record without user code: `all`,
   * `off`, or a comma-separated list of `server` (incoming HTTP: node:http/https, Express,
   * Fastify), `client` (outgoing HTTP: http.request, fetch) and `pg` (PostgreSQL queries).
   */
  interceptors: ReadonlySet<InterceptorName>;
  /**
   * CAUSEWAY_PROPAGATE (default 1): the client interceptor adds propagation headers
   * (`traceparent`, `x-causeway-trace`) to outgoing requests; 0 sends requests unchanged.
   */
  propagate: boolean;
  /**
   * CAUSEWAY_SCHEDULING (default 1): record which task scheduled each timer, immediate, nextTick,
   * microtask and promise reaction (spawn and FIFO edges); 0 leaves those functions unwrapped.
   */
  scheduling: boolean;
  /**
   * CAUSEWAY_CAPTURE (default headers): which values the interceptors capture. `off`: none
   * (query parameters are recorded as redacted); `headers`: HTTP headers, secret-looking ones
   * redacted; `on`: also bounded HTTP bodies, query parameters and result rows (secret-looking
   * headers, columns and keys still redacted).
   */
  capture: CaptureLevel;
  /** CAUSEWAY_CAPTURE_BYTES (default 1024, 64..65536): longest captured value, as JSON text. */
  captureBytes: number;
  /**
   * CAUSEWAY_SAMPLING_RATE (default 1, 0..1): the fraction of traces recorded, decided per trace
   * from its trace id (runtime/sampling.ts); 1 records every trace.
   */
  samplingRate: number;
}

export const DEFAULT_SAMPLING_RATE = 1;

/** A sampling rate: a finite number from 0 to 1. */
export function isSamplingRate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function samplingRate(env: Env): number {
  const value = env.CAUSEWAY_SAMPLING_RATE?.trim();
  if (value === undefined || value === '') return DEFAULT_SAMPLING_RATE;
  const n = Number(value);
  if (isSamplingRate(n)) return n;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `CAUSEWAY_SAMPLING_RATE=${value} is not a number from 0 to 1; using ${DEFAULT_SAMPLING_RATE}`,
  );
  return DEFAULT_SAMPLING_RATE;
}

export type CaptureLevel = 'off' | 'headers' | 'on';
const CAPTURE_LEVELS: readonly string[] = ['off', 'headers', 'on'];
export const DEFAULT_CAPTURE_BYTES = 1024;
export const MAX_CAPTURE_BYTES = 65536;

function captureLevel(env: Env): CaptureLevel {
  const value = env.CAUSEWAY_CAPTURE?.trim();
  if (value === undefined || value === '') return 'headers';
  if (CAPTURE_LEVELS.includes(value)) return value as CaptureLevel;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `CAUSEWAY_CAPTURE=${value} is not off, headers or on; using headers`,
  );
  return 'headers';
}

function captureBytes(env: Env): number {
  const value = env.CAUSEWAY_CAPTURE_BYTES;
  if (value === undefined || value === '') return DEFAULT_CAPTURE_BYTES;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 64 && n <= MAX_CAPTURE_BYTES) return n;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `CAUSEWAY_CAPTURE_BYTES=${value} is not an integer between 64 and ${MAX_CAPTURE_BYTES}; using ${DEFAULT_CAPTURE_BYTES}`,
  );
  return DEFAULT_CAPTURE_BYTES;
}

export type InterceptorName = 'server' | 'client' | 'pg';
export const INTERCEPTOR_NAMES: readonly InterceptorName[] = ['server', 'client', 'pg'];

function interceptors(env: Env): ReadonlySet<InterceptorName> {
  const value = env.CAUSEWAY_INTERCEPTORS?.trim();
  if (value === undefined || value === '' || value === 'all') return new Set(INTERCEPTOR_NAMES);
  if (value === 'off') return new Set();
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(INTERCEPTOR_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    warn(
      InstrumentationErrorCode.CONFIG_INVALID,
      `CAUSEWAY_INTERCEPTORS=${value} names ${unknown.join(', ')}, not all, off or a list of ${INTERCEPTOR_NAMES.join(', ')}; using all`,
    );
    return new Set(INTERCEPTOR_NAMES);
  }
  return new Set(names as InterceptorName[]);
}

// The values each setting accepts, defined once for the runtime (environment variables) and the
// CLI (config file and flags, packages/cli/src/config.ts), which imports them from here.

/** Which property accesses are recorded. */
export const ACCESS_LEVELS = ['all', 'writes', 'off'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function isAccessLevel(value: unknown): value is AccessLevel {
  return typeof value === 'string' && (ACCESS_LEVELS as readonly string[]).includes(value);
}

/** The ring's capacity in records: a power of two in this range. */
export const RING_RECORDS_MIN = 1024;
export const RING_RECORDS_MAX = 2 ** 26;

export function isRingRecords(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= RING_RECORDS_MIN &&
    value <= RING_RECORDS_MAX &&
    (value & (value - 1)) === 0
  );
}

function accessLevel(env: Env): AccessLevel {
  const value = env.CAUSEWAY_ACCESSES;
  if (value === undefined || value === '') return 'all';
  if (isAccessLevel(value)) return value;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `CAUSEWAY_ACCESSES=${value} is not all, writes or off; using all`,
  );
  return 'all';
}

export const DEFAULT_RING_RECORDS = 1 << 16;

type Env = Readonly<Record<string, string | undefined>>;

function flag(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `${name}=${value} is not 0, 1, true or false; using ${fallback ? 1 : 0}`,
  );
  return fallback;
}

function ringRecords(env: Env): number {
  const value = env.CAUSEWAY_RING_RECORDS;
  if (value === undefined || value === '') return DEFAULT_RING_RECORDS;
  const n = Number(value);
  if (isRingRecords(n)) return n;
  warn(
    InstrumentationErrorCode.CONFIG_INVALID,
    `CAUSEWAY_RING_RECORDS=${value} is not a power of two between ${RING_RECORDS_MIN} and ${RING_RECORDS_MAX}; using ${DEFAULT_RING_RECORDS}`,
  );
  return DEFAULT_RING_RECORDS;
}

/** A name safe in file names: letters, digits, '.', '_' and '-'. */
export function safeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return safe === '' ? 'node' : safe.slice(0, 64);
}

function defaultService(entry: string | undefined): string {
  if (entry === undefined) return 'node';
  const file = basename(entry);
  return file.slice(0, file.length - extname(file).length);
}

export function readConfig(
  env: Env = process.env,
  entry = process.argv[1],
  cwd = process.cwd(),
): RuntimeConfig {
  return {
    enabled: flag(env, 'CAUSEWAY_ENABLED', true),
    service: env.CAUSEWAY_SERVICE || defaultService(entry),
    traceFile: env.CAUSEWAY_TRACE_FILE || null,
    traceDir: env.CAUSEWAY_TRACE_DIR || join(cwd, '.causeway', 'traces'),
    ringRecords: ringRecords(env),
    quiet: flag(env, 'CAUSEWAY_QUIET', false),
    accesses: accessLevel(env),
    files: { include: globList(env.CAUSEWAY_INCLUDE), exclude: globList(env.CAUSEWAY_EXCLUDE) },
    server: env.CAUSEWAY_SERVER || null,
    apiKey: env.CAUSEWAY_API_KEY || null,
    interceptors: interceptors(env),
    propagate: flag(env, 'CAUSEWAY_PROPAGATE', true),
    scheduling: flag(env, 'CAUSEWAY_SCHEDULING', true),
    capture: captureLevel(env),
    captureBytes: captureBytes(env),
    samplingRate: samplingRate(env),
  };
}
