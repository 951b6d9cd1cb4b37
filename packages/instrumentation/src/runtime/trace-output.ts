/**
 * Moves records from a recorder's ring into a trace file: every DRAIN_INTERVAL_MS on an unref'd
 * timer (so it never keeps the process alive), and a last time when the process exits.
 *
 * The file is written as the program runs, so a crash loses at most the records of the last
 * interval; only a finished file has an END chunk. A failure to write stops recording with one
 * warning; the application is never interrupted.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { RECORD_SIZE } from '@causeway/core/event-format';
import {
  readTraceMeta,
  type StreamInfo,
  TRACE_FILE_EXTENSION,
  TraceFileWriter,
  type TraceMeta,
} from '@causeway/core/trace-file';
import { type RuntimeConfig, safeName } from '../config.ts';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import type { Recorder } from './recorder.ts';
import { ServerTransport } from './transport.ts';

export const DRAIN_INTERVAL_MS = 100;

const { version: CAUSEWAY_VERSION } = createRequire(import.meta.url)('../../package.json') as {
  version: string;
};

function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function defaultTracePath(config: RuntimeConfig, started: Date, pid: number): string {
  if (config.traceFile !== null) return config.traceFile;
  return join(
    config.traceDir,
    `${safeName(config.service)}-${timestamp(started)}-${pid}${TRACE_FILE_EXTENSION}`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `path`, unless another live process is recording into it (a child that inherited
 * CAUSEWAY_TRACE_FILE from its parent): then the same name with this process's pid added.
 */
export function claimTracePath(path: string, pid: number): string {
  const owner = readTraceMeta(path)?.pid;
  if (owner === undefined || owner === pid || !isAlive(owner)) return path;
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${pid}${ext || TRACE_FILE_EXTENSION}`;
}

export class TraceOutput {
  readonly path: string;
  /** The recording's trace id (META.traceId), which propagation headers carry. */
  readonly traceId: string;
  readonly #recorder: Recorder;
  readonly #stream: number;
  readonly #quiet: boolean;
  #writer: TraceFileWriter | null;
  #timer: NodeJS.Timeout | null = null;
  #written = 0;
  /** Sends the same chunks to CAUSEWAY_SERVER, when set. */
  transport: ServerTransport | null = null;
  readonly #writeRecords = (records: Uint8Array): void => {
    this.#writer?.events(this.#stream, records);
    this.#written += records.byteLength / RECORD_SIZE;
    this.transport?.records(records);
  };

  private constructor(
    recorder: Recorder,
    writer: TraceFileWriter,
    traceId: string,
    stream: number,
    quiet: boolean,
  ) {
    this.path = writer.path;
    this.traceId = traceId;
    this.#recorder = recorder;
    this.#writer = writer;
    this.#stream = stream;
    this.#quiet = quiet;
  }

  /** The stream the recorder's records are filed under. */
  get stream(): number {
    return this.#stream;
  }

  /** Creates the trace file and starts draining into it; null (after a warning) if it cannot. */
  static start(
    recorder: Recorder,
    config: RuntimeConfig,
    stream: number,
    thread: number,
  ): TraceOutput | null {
    const started = new Date(performance.timeOrigin);
    const path = claimTracePath(defaultTracePath(config, started, process.pid), process.pid);
    let writer: TraceFileWriter;
    const traceId = randomBytes(16).toString('hex');
    const meta = {
      traceId,
      service: config.service,
      pid: process.pid,
      startedAt: started.toISOString(),
      node: process.versions.node,
      causeway: CAUSEWAY_VERSION,
    };
    const streamInfo = { stream, pid: process.pid, thread, epochMs: performance.timeOrigin };
    try {
      mkdirSync(dirname(path), { recursive: true });
      writer = TraceFileWriter.create(path, meta);
      writer.stream(streamInfo);
    } catch (error) {
      warn(
        InstrumentationErrorCode.TRACE_WRITE,
        `cannot create trace file ${path}: ${describe(error)}; not recording`,
      );
      return null;
    }
    const output = new TraceOutput(recorder, writer, traceId, stream, config.quiet);
    if (config.server !== null) output.transport = startTransport(config, meta, streamInfo);
    output.#timer = setInterval(() => output.drain(), DRAIN_INTERVAL_MS);
    output.#timer.unref();
    process.once('exit', () => output.finish());
    // A normal end (the event loop emptied): the last batch and END can still reach the server.
    const onBeforeExit = (): void => {
      const transport = output.transport;
      if (transport === null || output.#writer === null) return;
      process.removeListener('beforeExit', onBeforeExit);
      output.drain();
      transport.flush({
        records: output.#written,
        dropped: recorder.ring.dropped,
        endedAt: new Date().toISOString(),
      });
      // Keeps the process alive until the server answered, a send failed, or 3 s passed.
      const keepAlive = setInterval(() => undefined, 1000);
      void transport.idle(3000, true).then(() => clearInterval(keepAlive));
    };
    process.on('beforeExit', onBeforeExit);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      // A signal with no handler kills the process without 'exit': finish the file first, then
      // let the signal do what it would have done. If the application handles the signal, it
      // decides, and 'exit' finishes the file if it exits.
      const onSignal = (): void => {
        if (process.listenerCount(signal) > 1) return;
        output.finish();
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      };
      process.on(signal, onSignal);
    }
    return output;
  }

  /**
   * Writes the site tables, strings and records gathered since the last drain. Strings go first:
   * every string a drained record names was interned before the record was written.
   */
  drain(): void {
    if (this.#writer === null) return;
    try {
      for (const { base, table } of this.#recorder.takeSites()) {
        this.#writer.sites({ stream: this.#stream, base, table });
        this.transport?.sites({ stream: this.#stream, base, table });
      }
      const strings = this.#recorder.strings.take();
      if (strings !== null) {
        this.#writer.strings({ stream: this.#stream, ...strings });
        this.transport?.strings({ stream: this.#stream, ...strings });
      }
      this.#recorder.ring.drain(this.#writeRecords);
      this.transport?.flush();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Drains a last time, writes the END chunk and closes the file. */
  finish(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.drain();
    const writer = this.#writer;
    if (writer === null) return;
    this.#writer = null;
    const dropped = this.#recorder.ring.dropped;
    try {
      writer.end({ records: this.#written, dropped, endedAt: new Date().toISOString() });
    } catch (error) {
      warn(InstrumentationErrorCode.TRACE_WRITE, `cannot finish trace file ${this.path}: ${describe(error)}`);
      return;
    }
    if (!this.#quiet) {
      const lost = dropped > 0 ? `, ${dropped} dropped (ring full; raise CAUSEWAY_RING_RECORDS)` : '';
      process.stderr.write(
        `causeway: trace ${this.traceId} written to ${relative(process.cwd(), this.path) || this.path} (${this.#written} records${lost})\n`,
      );
    }
  }

  #fail(error: unknown): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    try {
      this.#writer?.close();
    } catch {
      // Already failing; the warning below is what matters.
    }
    this.#writer = null;
    warn(
      InstrumentationErrorCode.TRACE_WRITE,
      `cannot write trace file ${this.path}: ${describe(error)}; recording stopped`,
    );
  }
}

function startTransport(config: RuntimeConfig, meta: TraceMeta, stream: StreamInfo): ServerTransport | null {
  try {
    return new ServerTransport({ server: config.server as string, apiKey: config.apiKey, meta, stream });
  } catch (error) {
    warn(
      InstrumentationErrorCode.CONFIG_INVALID,
      `CAUSEWAY_SERVER=${config.server} is not a URL (${describe(error)}); writing the trace file only`,
    );
    return null;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
