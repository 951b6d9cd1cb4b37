/**
 * Several recordings (one trace file per process) loaded into one CausalTrace, joined where one
 * process sent an HTTP request that another handled: the sender's `HttpClientRequest` and the
 * receiver's `MessageReceived` name the same (trace id, stream, exchange id)
 * (docs/propagation.md). Each such pair becomes a message edge, from the sending task to the
 * request's task.
 *
 * Streams are per file, so each file's streams are renumbered: file i's stream s becomes
 * `i * STREAMS_PER_FILE + s`. The core needs a sender's task before the task it caused, so files
 * are ingested senders first; when services call each other both ways, the edges against that
 * order are not drawn, and `messages.unlinked` counts them. Response edges (the handler's
 * response before the sender's continuation) are not drawn yet.
 */

import { CausalTrace } from './causal-trace.ts';
import { decodeRecords, EventKind, ExchangeFlag } from './format/event-format.ts';
import { readTraceFile, type SitesChunk, type StringsChunk, type TraceFile } from './format/trace-file.ts';
import { StringIndex } from './strings.ts';

/** Streams a file may have; file i's streams are numbered from i * STREAMS_PER_FILE. */
export const STREAMS_PER_FILE = 1 << 16;

export interface LoadedRecordings {
  files: TraceFile[];
  trace: CausalTrace;
  /** Site and string chunks of every file, with their streams renumbered as in `trace`. */
  sites: SitesChunk[];
  strings: StringsChunk[];
  /** Requests joined to their sender; requests that named a sender not loaded or not joinable. */
  messages: { linked: number; unlinked: number };
}

/** The stream id, in a trace loaded by loadRecordings, of stream `stream` of file `file`. */
export function globalStream(file: number, stream: number): number {
  return file * STREAMS_PER_FILE + stream;
}

interface Received {
  file: number;
  stream: number;
  task: number;
  /** `traceId/stream/exchange` of the sending request. */
  sender: string;
}

interface Sent {
  file: number;
  stream: number;
  task: number;
}

const TWO_32 = 2 ** 32;

function scan(files: TraceFile[]): { sent: Map<string, Sent>; received: Received[] } {
  const sent = new Map<string, Sent>();
  const received: Received[] = [];
  files.forEach((file, index) => {
    const strings = new StringIndex(file.strings);
    for (const chunk of file.events) {
      for (const record of decodeRecords(chunk.records)) {
        // A sender: an HTTP request, or a context serialized for a message (causeway.serialize).
        if (record.kind === EventKind.HttpClientRequest || record.kind === EventKind.MessageSent) {
          sent.set(`${file.meta.traceId}/${chunk.stream}/${record.b}`, {
            file: index,
            stream: chunk.stream,
            task: record.task,
          });
        } else if (
          record.kind === EventKind.MessageReceived &&
          (record.flags & ExchangeFlag.Malformed) === 0 &&
          record.b !== 0
        ) {
          const traceId = strings.string(chunk.stream, record.a % TWO_32);
          if (traceId === null) continue;
          received.push({
            file: index,
            stream: chunk.stream,
            task: record.task,
            sender: `${traceId}/${record.b}/${Math.floor(record.a / TWO_32)}`,
          });
        }
      }
    }
  });
  return { sent, received };
}

/** Files in an order where senders come before receivers where possible, else as given. */
function ingestOrder(count: number, senders: Map<number, Set<number>>): number[] {
  const order: number[] = [];
  const placed = new Set<number>();
  while (order.length < count) {
    const ready = [...Array(count).keys()].filter(
      (f) => !placed.has(f) && [...(senders.get(f) ?? [])].every((s) => s === f || placed.has(s)),
    );
    // A cycle: take the first file left, as given.
    const next = ready[0] ?? [...Array(count).keys()].find((f) => !placed.has(f)) ?? 0;
    order.push(next);
    placed.add(next);
  }
  return order;
}

export function loadRecordings(paths: readonly string[]): LoadedRecordings {
  const files = paths.map((path) => readTraceFile(path));
  const { sent, received } = scan(files);
  const senders = new Map<number, Set<number>>();
  for (const r of received) {
    const from = sent.get(r.sender);
    if (from === undefined) continue;
    const set = senders.get(r.file) ?? new Set<number>();
    set.add(from.file);
    senders.set(r.file, set);
  }
  const trace = CausalTrace.create();
  const messages = { linked: 0, unlinked: 0 };
  try {
    for (const index of ingestOrder(files.length, senders)) {
      for (const r of received.filter((x) => x.file === index)) {
        const from = sent.get(r.sender);
        const declared =
          from !== undefined &&
          trace.expectMessage(
            globalStream(from.file, from.stream),
            from.task,
            globalStream(r.file, r.stream),
            r.task,
          );
        if (declared) messages.linked++;
        else messages.unlinked++;
      }
      const file = files[index] as TraceFile;
      for (const chunk of file.events) {
        trace.ingest(
          globalStream(index, chunk.stream),
          chunk.records,
          `${paths[index]}: stream ${chunk.stream}`,
        );
      }
    }
  } catch (error) {
    trace.dispose();
    throw error;
  }
  return {
    files,
    trace,
    sites: files.flatMap((file, i) => file.sites.map((c) => ({ ...c, stream: globalStream(i, c.stream) }))),
    strings: files.flatMap((file, i) =>
      file.strings.map((c) => ({ ...c, stream: globalStream(i, c.stream) })),
    ),
    messages,
  };
}
