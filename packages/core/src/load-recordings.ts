/**
 * Several recordings (one trace file per process) loaded into one CausalTrace, joined where one
 * process sent an HTTP request that another handled (docs/propagation.md):
 *
 * - *message* edges: the sender's `HttpClientRequest` and the receiver's `MessageReceived` name
 *   the same (trace id, stream, exchange id); the edge goes from the sending task to the
 *   request's task;
 * - *response* edges: the sender's `ResponseReceived` names the task that sent the response (in
 *   the file that received the request); the edge goes from it (or from the request's task, when
 *   the named task does not descend from it) to the sender's continuation:
 *   the task that resumes the await the sending task suspended at (`await fetch(...)`), when it
 *   resumes after the response came, or the callback that begins right after the response record
 *   (`http.request`'s response callback).
 *
 * Streams are per file, so each file's streams are renumbered: file i's stream s becomes
 * `i * STREAMS_PER_FILE + s`. The core needs a cause ingested before the task it causes, and
 * requests and responses go both ways between two processes, so streams are ingested
 * interleaved: each stream up to a task that needs another stream's task, then the other. An
 * edge that cannot be ordered so (it would need a cycle) is not drawn, and counted as unlinked.
 */

import { CausalTrace } from './causal-trace.ts';
import {
  decodeRecords,
  EventKind,
  ExchangeFlag,
  RECORD_SIZE,
  type RecordFields,
} from './format/event-format.ts';
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
  /** Responses joined to the sender's continuation; responses that named a responder but could not be. */
  responses: { linked: number; unlinked: number };
  /** Every HTTP request a loaded file sent, with what became of it (failure reports use them). */
  exchanges: RemoteExchange[];
}

/** An HTTP request one loaded recording sent, and, when loaded, the request task that handled it. */
export interface RemoteExchange {
  /** Global stream and local task of the sending task; the exchange id. */
  stream: number;
  task: number;
  exchange: number;
  /** The `HttpClientRequest` record's method and URL string ids (in `stream`'s table). */
  method: number;
  url: number;
  /** What the sender saw: a status, or an error (string id) and whether a timeout fired; null if neither was recorded. */
  outcome:
    | { status: number; durationMs: number }
    | { error: number; timedOut: boolean; durationMs: number }
    | null;
  /** The receiving request task (global stream, local task), when its file is loaded, and its response. */
  handledBy: {
    file: number;
    stream: number;
    task: number;
    /** Its `HttpResponse`: the status and how long the handling took; null if it never ended. */
    response: HandledResponse | null;
  } | null;
}

/** How a request's handling ended (its `HttpResponse`); `failed`: the connection closed first. */
export interface HandledResponse {
  status: number;
  durationMs: number;
  failed: boolean;
}

/** The stream id, in a trace loaded by loadRecordings, of stream `stream` of file `file`. */
export function globalStream(file: number, stream: number): number {
  return file * STREAMS_PER_FILE + stream;
}

const TWO_32 = 2 ** 32;

interface StreamRecords {
  file: number;
  stream: number;
  bytes: Uint8Array;
  records: RecordFields[];
  /** Next record to ingest. */
  cursor: number;
  /** Before ingesting record `at`, `need` must be ingested through record `through`; then declare. */
  waits: Wait[];
  label: string;
  /** Indexes built in one pass, so that joining is linear in the records, not requests × records. */
  index: StreamIndex;
}

interface StreamIndex {
  /** Each task's first record. */
  firstOfTask: Map<number, number>;
  /** Each request task's `HttpResponse`. */
  responseOfTask: Map<number, HandledResponse>;
  /** Each await invocation's `AwaitResume` records, in order. */
  resumesOf: Map<number, number[]>;
}

function indexOf(records: readonly RecordFields[]): StreamIndex {
  const index: StreamIndex = { firstOfTask: new Map(), responseOfTask: new Map(), resumesOf: new Map() };
  records.forEach((record, at) => {
    if (!index.firstOfTask.has(record.task)) index.firstOfTask.set(record.task, at);
    if (record.kind === EventKind.HttpResponse) {
      const task = record.a % TWO_32;
      if (!index.responseOfTask.has(task)) {
        const failed = (record.flags & ExchangeFlag.Failed) !== 0;
        index.responseOfTask.set(task, {
          status: Math.floor(record.a / TWO_32),
          durationMs: record.b,
          failed,
        });
      }
    } else if (record.kind === EventKind.AwaitResume) {
      const list = index.resumesOf.get(record.a);
      if (list === undefined) index.resumesOf.set(record.a, [at]);
      else list.push(at);
    }
  });
  return index;
}

interface Wait {
  at: number;
  need: StreamRecords;
  through: number;
  declare: () => boolean;
  kind: 'messages' | 'responses';
}

function streamsOf(files: TraceFile[], paths: readonly string[]): Map<string, StreamRecords> {
  const streams = new Map<string, StreamRecords>();
  files.forEach((file, index) => {
    const parts = new Map<number, Uint8Array[]>();
    for (const chunk of file.events) {
      const list = parts.get(chunk.stream) ?? [];
      list.push(chunk.records);
      parts.set(chunk.stream, list);
    }
    for (const [stream, list] of parts) {
      const bytes = new Uint8Array(list.reduce((n, part) => n + part.byteLength, 0));
      let at = 0;
      for (const part of list) {
        bytes.set(part, at);
        at += part.byteLength;
      }
      const records = decodeRecords(bytes);
      streams.set(`${index}/${stream}`, {
        file: index,
        stream,
        bytes,
        records,
        cursor: 0,
        waits: [],
        label: `${paths[index]}: stream ${stream}`,
        index: indexOf(records),
      });
    }
  });
  return streams;
}

/** The last record of the run of `task`'s records that includes record `at` (a task runs to completion). */
function endOfRun(records: readonly RecordFields[], at: number): number {
  const task = records[at]?.task;
  let end = at;
  while (records[end + 1]?.task === task) end++;
  return end;
}

/**
 * The client's continuation after the response recorded at `at`, for the request sent at `sentAt`:
 * the callback beginning right after the record, else the resumption, after the record, of the
 * await the sending task suspended at first. The record index of its first record, or -1.
 */
function continuationAfter(s: StreamRecords, sentAt: number, at: number): number {
  const { records } = s;
  let next = at + 1;
  // The HttpClientResponse record and this one are written together; skip the other.
  if (records[next]?.kind === EventKind.HttpClientResponse) next++;
  const following = records[next];
  if (following?.kind === EventKind.TaskBegin && following.site !== 0) return next;
  const sender = records[sentAt]?.task;
  let invocation: number | null = null;
  for (let i = sentAt + 1; i < records.length && records[i]?.task === sender; i++) {
    if (records[i]?.kind === EventKind.AwaitSuspend) {
      invocation = records[i]?.a ?? null;
      break;
    }
  }
  if (invocation === null) return -1;
  const resume = s.index.resumesOf.get(invocation)?.find((i) => i > sentAt);
  return resume !== undefined && resume > at ? resume : -1;
}

interface Sent {
  streams: StreamRecords;
  at: number;
  record: RecordFields;
  outcome: RemoteExchange['outcome'];
  handledBy: RemoteExchange['handledBy'];
}

/** Finds every join and turns it into waits on the streams; returns the exchanges sent. */
function plan(
  files: TraceFile[],
  streams: Map<string, StreamRecords>,
  trace: CausalTrace,
  counts: Pick<LoadedRecordings, 'messages' | 'responses'>,
): Sent[] {
  const sent = new Map<string, Sent>();
  const sentList: Sent[] = [];
  for (const s of streams.values()) {
    const traceId = files[s.file]?.meta.traceId;
    s.records.forEach((record, at) => {
      // A sender: an HTTP request, or a context serialized for a message (causeway.serialize).
      if (record.kind === EventKind.HttpClientRequest || record.kind === EventKind.MessageSent) {
        const entry = { streams: s, at, record, outcome: null, handledBy: null };
        sent.set(`${traceId}/${s.stream}/${record.b}`, entry);
        sentList.push(entry);
      }
    });
  }
  const strings = files.map((file) => new StringIndex(file.strings));
  // Requests: the receiver's request task waits for the sending task.
  for (const s of streams.values()) {
    s.records.forEach((record, at) => {
      if (record.kind !== EventKind.MessageReceived) return;
      if ((record.flags & ExchangeFlag.Malformed) !== 0 || record.b === 0) return;
      const traceId = strings[s.file]?.string(s.stream, record.a % TWO_32);
      const from =
        traceId == null ? undefined : sent.get(`${traceId}/${record.b}/${Math.floor(record.a / TWO_32)}`);
      // The request's task begins with its HttpRequest record (a message's, continued with
      // causeway.continueTrace, with its SpanBegin), just before this one.
      const begin = at - 1;
      const begins = s.records[begin]?.kind;
      if (from === undefined || (begins !== EventKind.HttpRequest && begins !== EventKind.SpanBegin)) {
        counts.messages.unlinked++;
        return;
      }
      from.handledBy = {
        file: s.file,
        stream: globalStream(s.file, s.stream),
        task: record.task,
        response: s.index.responseOfTask.get(record.task) ?? null,
      };
      s.waits.push({
        at: begin,
        need: from.streams,
        through: endOfRun(from.streams.records, from.at),
        kind: 'messages',
        declare: () =>
          trace.expectMessage(
            globalStream(from.streams.file, from.streams.stream),
            from.record.task,
            globalStream(s.file, s.stream),
            record.task,
          ),
      });
    });
  }
  // Outcomes, and responses: the sender's continuation waits for the responding task.
  for (const s of streams.values()) {
    const traceId = files[s.file]?.meta.traceId;
    s.records.forEach((record, at) => {
      const kind = record.kind;
      if (
        kind !== EventKind.HttpClientResponse &&
        kind !== EventKind.HttpClientError &&
        kind !== EventKind.ResponseReceived
      ) {
        return;
      }
      const exchange = record.a % TWO_32;
      const from = sent.get(`${traceId}/${s.stream}/${exchange}`);
      if (from === undefined) return;
      const high = Math.floor(record.a / TWO_32);
      if (kind === EventKind.HttpClientResponse) {
        from.outcome = { status: high, durationMs: record.b };
        return;
      }
      if (kind === EventKind.HttpClientError) {
        const timedOut = (record.flags & ExchangeFlag.Timeout) !== 0;
        from.outcome = { error: high, timedOut, durationMs: record.b };
        return;
      }
      if ((record.flags & ExchangeFlag.Malformed) !== 0) return;
      const handled = from.handledBy;
      const responder = handled === null ? undefined : streams.get(`${handled.file}/${record.b}`);
      const responderAt = responder?.index.firstOfTask.get(high) ?? -1;
      // The request task too must be ingested: the core falls back to it when the named task does
      // not descend from it.
      const requestAt =
        handled === null || responder?.stream !== handled.stream - handled.file * STREAMS_PER_FILE
          ? -1
          : (responder.index.firstOfTask.get(handled.task) ?? -1);
      const target = continuationAfter(s, from.at, at);
      if (handled === null || responder === undefined || responderAt < 0 || requestAt < 0 || target < 0) {
        counts.responses.unlinked++;
        return;
      }
      const targetTask = (s.records[target] as RecordFields).task;
      s.waits.push({
        at: target,
        need: responder,
        through: Math.max(endOfRun(responder.records, responderAt), requestAt),
        kind: 'responses',
        declare: () =>
          trace.expectResponse(
            globalStream(responder.file, responder.stream),
            high,
            handled.task,
            globalStream(s.file, s.stream),
            targetTask,
          ),
      });
    });
  }
  for (const s of streams.values()) s.waits.sort((x, y) => x.at - y.at);
  return sentList;
}

/** Ingests every stream, interleaved so that each declared cause is ingested before its effect. */
function ingestInterleaved(
  streams: StreamRecords[],
  trace: CausalTrace,
  counts: Pick<LoadedRecordings, 'messages' | 'responses'>,
): void {
  const ingest = (s: StreamRecords, end: number) => {
    if (end <= s.cursor) return;
    trace.ingest(
      globalStream(s.file, s.stream),
      s.bytes.subarray(s.cursor * RECORD_SIZE, end * RECORD_SIZE),
      s.label,
    );
    s.cursor = end;
  };
  const settle = (s: StreamRecords, wait: Wait, linked: boolean) => {
    s.waits.shift();
    if (linked && wait.declare()) counts[wait.kind].linked++;
    else counts[wait.kind].unlinked++;
  };
  for (;;) {
    let progress = false;
    for (const s of streams) {
      for (;;) {
        const wait = s.waits[0];
        if (wait === undefined) {
          progress ||= s.cursor < s.records.length;
          ingest(s, s.records.length);
          break;
        }
        if (wait.at > s.cursor) {
          ingest(s, wait.at);
          progress = true;
        }
        if (wait.need.cursor <= wait.through) break;
        settle(s, wait, true);
        progress = true;
      }
    }
    const blocked = streams.find((s) => s.waits.length > 0);
    if (blocked === undefined) return;
    // Every stream waits on another: a cycle. Give up the first wait and carry on.
    if (!progress) settle(blocked, blocked.waits[0] as Wait, false);
  }
}

export function loadRecordings(paths: readonly string[]): LoadedRecordings {
  const files = paths.map((path) => readTraceFile(path));
  const streams = streamsOf(files, paths);
  const trace = CausalTrace.create();
  const counts = { messages: { linked: 0, unlinked: 0 }, responses: { linked: 0, unlinked: 0 } };
  let sent: Sent[];
  try {
    sent = plan(files, streams, trace, counts);
    ingestInterleaved([...streams.values()], trace, counts);
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
    ...counts,
    exchanges: sent.map(({ streams: s, record, outcome, handledBy }) => ({
      stream: globalStream(s.file, s.stream),
      task: record.task,
      exchange: record.b,
      method: record.a % TWO_32,
      url: Math.floor(record.a / TWO_32),
      outcome,
      handledBy,
    })),
  };
}

/**
 * The loaded files as one TraceFile, streams renumbered as in `trace`: what a single-file reader
 * (the report, the event list) takes. Its META and END are the first file's.
 */
export function mergedFile({ files }: Pick<LoadedRecordings, 'files'>): TraceFile {
  const renumber = <T extends { stream: number }>(i: number, chunks: readonly T[]): T[] =>
    chunks.map((chunk) => ({ ...chunk, stream: globalStream(i, chunk.stream) }));
  const first = files[0] as TraceFile;
  return {
    meta: first.meta,
    streams: files.flatMap((file, i) => renumber(i, file.streams)),
    sites: files.flatMap((file, i) => renumber(i, file.sites)),
    strings: files.flatMap((file, i) => renumber(i, file.strings)),
    events: files.flatMap((file, i) => renumber(i, file.events)),
    end: first.end,
  };
}

/** The trace ids of the senders of the requests a recording handled (its `MessageReceived` records). */
export function senderTraceIds(file: TraceFile): Set<string> {
  const strings = new StringIndex(file.strings);
  const ids = new Set<string>();
  for (const chunk of file.events) {
    for (const record of decodeRecords(chunk.records)) {
      if (record.kind !== EventKind.MessageReceived || (record.flags & ExchangeFlag.Malformed) !== 0)
        continue;
      const id = strings.string(chunk.stream, record.a % TWO_32);
      if (id !== null) ids.add(id);
    }
  }
  return ids;
}
