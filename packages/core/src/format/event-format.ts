/**
 * The binary event record and the site table, version 1.
 *
 * docs/event-format.md is the contract; this module is its TypeScript owner and
 * crates/causeway-core/src/record.rs its Rust owner. Writers (the runtime) and readers (the core,
 * the CLI) take every constant from here. A test checks this module against the document.
 */

/** Version of the record layout, the kind table and the site table. */
export const EVENT_FORMAT_VERSION = 1;

/** Bytes per record. */
export const RECORD_SIZE = 32;
/** u32 words per record. */
export const RECORD_WORDS = RECORD_SIZE / 4;

/** Byte offsets of the fields inside a record (all little-endian). */
export const RecordOffset = {
  kind: 0,
  flags: 1,
  seq: 4,
  task: 8,
  site: 12,
  a: 16,
  b: 24,
} as const;

/** What a record says happened. Values are stable: never renumber, only add. */
export const EventKind = {
  /** A task with no recorded cause starts (process start, an entry point). b = time. */
  TaskBegin: 1,
  /** A function starts. a = invocation id for async functions, else 0. */
  FnEnter: 2,
  /** A function returns, or an async function settles. a = as for FnEnter. */
  FnExit: 3,
  /** An exception leaves a function. a = as for FnEnter. */
  FnThrow: 4,
  /** An async function reaches an await. a = invocation id. */
  AwaitSuspend: 5,
  /** The continuation after an await starts a new task. a = invocation id, b = time. */
  AwaitResume: 6,
  /** A property was read. a = location (object id | key id << 32), b = value (see ValueTag). */
  Read: 7,
  /** A property was written or deleted. a = location, b = value written (see ValueTag). */
  Write: 8,
  /** An incoming HTTP request starts a task. a = method id | target id << 32, b = time. */
  HttpRequest: 9,
  /** The request of task a.low matched route a.high (a string id). */
  HttpRoute: 10,
  /** The response to the request of task a.low ended with status a.high; b = duration (f64 ms). */
  HttpResponse: 11,
  /** The task sends an HTTP request. a = method id | url id << 32, b = exchange id. */
  HttpClientRequest: 12,
  /** Exchange a.low got a response with status a.high; b = duration. */
  HttpClientResponse: 13,
  /** Exchange a.low failed with the error named a.high; b = duration. */
  HttpClientError: 14,
  /** The task sends a database query. a = statement id, b = exchange id. */
  DbQuery: 15,
  /** The query of exchange a.low completed with a.high rows (0xffffffff: unknown); b = duration. */
  DbResult: 16,
  /** The request of the task carried propagation headers: a = sender trace id string | exchange << 32, b = sender stream. */
  MessageReceived: 17,
  /** The response to exchange a.low named its sender: task a.high of stream b of the recording that handled the request. */
  ResponseReceived: 18,
  /** The task scheduled callback a.low on the queue in flags (Queue); a.high = queue key; b = delay (f64 ms, timers). */
  Schedule: 20,
  /** Scheduled callback a starts running: a new task caused by its scheduler. b = time. */
  CallbackBegin: 21,
  /** The task cancelled scheduled callback a (clearTimeout, clearInterval, clearImmediate). */
  Cancel: 22,
  /** causeway.trace(name, fn) starts a task caused by task a.high; a.low = name string id; b = time. */
  SpanBegin: 23,
  /** The span's synchronous part ended: a new task continues the caller, caused by span task a.low. b = time. */
  SpanEnd: 24,
  /** causeway.event(name, data): a.low = name string id, a.high = data (JSON) string id or 0. */
  CustomEvent: 25,
  /** causeway.serialize(): the task hands its context to a message sent out of band; b = exchange id. */
  MessageSent: 26,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export const EVENT_KIND_NAMES: Readonly<Record<EventKind, string>> = {
  [EventKind.TaskBegin]: 'task-begin',
  [EventKind.FnEnter]: 'fn-enter',
  [EventKind.FnExit]: 'fn-exit',
  [EventKind.FnThrow]: 'fn-throw',
  [EventKind.AwaitSuspend]: 'await-suspend',
  [EventKind.AwaitResume]: 'await-resume',
  [EventKind.Read]: 'read',
  [EventKind.Write]: 'write',
  [EventKind.HttpRequest]: 'http-request',
  [EventKind.HttpRoute]: 'http-route',
  [EventKind.HttpResponse]: 'http-response',
  [EventKind.HttpClientRequest]: 'http-client-request',
  [EventKind.HttpClientResponse]: 'http-client-response',
  [EventKind.HttpClientError]: 'http-client-error',
  [EventKind.DbQuery]: 'db-query',
  [EventKind.DbResult]: 'db-result',
  [EventKind.MessageReceived]: 'message-received',
  [EventKind.ResponseReceived]: 'response-received',
  [EventKind.Schedule]: 'schedule',
  [EventKind.CallbackBegin]: 'callback-begin',
  [EventKind.Cancel]: 'cancel',
  [EventKind.SpanBegin]: 'span-begin',
  [EventKind.SpanEnd]: 'span-end',
  [EventKind.CustomEvent]: 'custom-event',
  [EventKind.MessageSent]: 'message-sent',
};

/** The queue a Schedule record names (its flags). Values are stable: never renumber, only add. */
export const Queue = {
  Timeout: 1,
  Interval: 2,
  Immediate: 3,
  NextTick: 4,
  /** queueMicrotask. */
  Microtask: 5,
  /** A promise reaction (then, catch, finally); the key is the promise's object id. */
  Reaction: 6,
  /** A readable stream's listeners; the key is the stream's object id (one callback id per stream). */
  Emitter: 7,
} as const;
export type Queue = (typeof Queue)[keyof typeof Queue];

/** Flag bits of the interceptor records (HttpResponse, HttpClientError, DbResult, MessageReceived). */
export const ExchangeFlag = {
  /** HttpResponse: the connection closed before the response was complete; DbResult: the query failed. */
  Failed: 1,
  /** HttpClientError: a timeout fired. */
  Timeout: 2,
  /** MessageReceived: a propagation header was malformed or oversized, and was ignored. */
  Malformed: 4,
} as const;

/** DbResult row count when the number of rows is not known. */
export const UNKNOWN_ROWS = 0xffff_ffff;

/** Flag bits of an AwaitResume record. */
export const ResumeFlag = {
  /** The continuation runs because the awaited promise rejected. */
  Rejected: 1,
  /**
   * An async generator suspended at a `yield` was resumed synchronously by a `next()` or
   * `throw()` called in the task of the stream's previous record: that task caused it too.
   */
  Called: 2,
} as const;

/** Flag bits of a Write record (the low three bits of Read and Write flags are the ValueTag). */
export const AccessFlag = {
  /** `delete o.p`. */
  Delete: 8,
  /** Compound assignment or ++/--: the write follows a read of the same location. */
  Update: 16,
} as const;

/** The low three bits of a Read or Write record's flags: what its b field holds. */
export const ValueTag = {
  /** Not captured; b = 0. */
  None: 0,
  /** b = the number's f64 bits. */
  Number: 1,
  Undefined: 2,
  Null: 3,
  False: 4,
  True: 5,
  /** b = the object's id. */
  Object: 6,
  /** b = the string's id in the stream's string table. */
  String: 7,
} as const;
export type ValueTag = (typeof ValueTag)[keyof typeof ValueTag];

/** Mask of the value tag in a Read or Write record's flags. */
export const VALUE_TAG_MASK = 7;

/** Key ids at or above this are array indices (key id - ARRAY_INDEX_KEY), not string table ids. */
export const ARRAY_INDEX_KEY = 0x8000_0000;

/** Why one task happens before another, as the core reports edges. */
export const EdgeKind = {
  /** A task reached an await whose continuation is the other task. */
  Await: 1,
  /** A task settled a promise (an async function returned or threw) that the other task's await waited for. */
  Resolve: 2,
  /**
   * The stream's first task (the program's start) precedes an event-loop callback whose
   * scheduling was not recorded: the event loop runs callbacks only after the start has finished.
   */
  Startup: 3,
  /** A task sent an HTTP request whose handling, in another recording, is the other task. */
  Message: 4,
  /** A task sent the response to an HTTP request; the other task is the sender's continuation after it, in another recording. */
  Response: 5,
  /**
   * A task scheduled a callback, or started a span (causeway.trace), that the other task runs;
   * or called an async generator's next() or throw() that resumed it in the other task.
   */
  Spawn: 6,
  /** Two callbacks of one queue that Node runs in registration order; or an interval's next firing. */
  Fifo: 7,
} as const;
export type EdgeKind = (typeof EdgeKind)[keyof typeof EdgeKind];

export const EDGE_KIND_NAMES: Readonly<Record<EdgeKind, string>> = {
  [EdgeKind.Await]: 'await',
  [EdgeKind.Resolve]: 'resolve',
  [EdgeKind.Startup]: 'startup',
  [EdgeKind.Message]: 'message',
  [EdgeKind.Response]: 'response',
  [EdgeKind.Spawn]: 'spawn',
  [EdgeKind.Fifo]: 'fifo',
};

/** What kind of construct a site is. Values are stable: never renumber, only add. */
export const SiteKind = {
  Function: 1,
  Await: 2,
  Read: 3,
  Write: 4,
} as const;
export type SiteKind = (typeof SiteKind)[keyof typeof SiteKind];

export const SITE_KIND_NAMES: Readonly<Record<SiteKind, string>> = {
  [SiteKind.Function]: 'function',
  [SiteKind.Await]: 'await',
  [SiteKind.Read]: 'read',
  [SiteKind.Write]: 'write',
};

/**
 * One site: `[kind, line, column, functionName, name]`. Lines and columns are 1-based and point
 * into the original source. `functionName` is the enclosing (or, for a function site, the
 * function's own) name; `name` is the property or variable name, '' when none applies.
 */
export type SiteRow = [kind: SiteKind, line: number, column: number, functionName: string, name: string];

/** A file's site table, emitted by the Babel plugin and registered once when the module loads. */
export interface SiteTable {
  /** EVENT_FORMAT_VERSION of the table. */
  v: number;
  /** Path of the original source, relative to the instrumentation root where possible. */
  file: string;
  sites: SiteRow[];
}

/**
 * The `file` of the site tables the PostgreSQL interceptor registers: one per statement that
 * touches a row, whose site's functionName is the statement and name the table. Accesses at these
 * sites are to database rows: the object is a table (and key column), the key the row's key.
 */
export const DB_SITE_FILE = '<postgres>';

/** The name site tables give a function that has none. */
export const ANONYMOUS = '<anonymous>';

/** A record's fields, as the reference encoder and decoder below see them. */
export interface RecordFields {
  kind: number;
  flags: number;
  seq: number;
  task: number;
  site: number;
  /** Unsigned; exact up to 2^53. */
  a: number;
  /** The raw 64 bits of b as an unsigned number, or the f64 it holds where hasFloatB says so. */
  b: number;
}

/** Kinds whose b field holds an f64 time rather than an integer. */
export function hasTime(kind: number): boolean {
  return (
    kind === EventKind.TaskBegin ||
    kind === EventKind.AwaitResume ||
    kind === EventKind.HttpRequest ||
    kind === EventKind.CallbackBegin ||
    kind === EventKind.SpanBegin ||
    kind === EventKind.SpanEnd
  );
}

/** Kinds whose b field holds an f64 duration in ms. */
export function hasDuration(kind: number): boolean {
  return (
    kind === EventKind.HttpResponse ||
    kind === EventKind.HttpClientResponse ||
    kind === EventKind.HttpClientError ||
    kind === EventKind.DbResult
  );
}

/** Does record b hold f64 bits (a time, or a captured number)? */
export function hasFloatB(kind: number, flags: number): boolean {
  return (
    hasTime(kind) ||
    hasDuration(kind) ||
    kind === EventKind.Schedule ||
    ((kind === EventKind.Read || kind === EventKind.Write) && (flags & VALUE_TAG_MASK) === ValueTag.Number)
  );
}

const TWO_32 = 2 ** 32;

/**
 * Encodes records into a fresh buffer. The reference encoder for tests and synthetic traces; the
 * runtime writes the same layout straight into its ring buffer.
 */
export function encodeRecords(records: readonly RecordFields[]): Uint8Array {
  const bytes = new Uint8Array(records.length * RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  records.forEach((r, i) => {
    const at = i * RECORD_SIZE;
    view.setUint8(at + RecordOffset.kind, r.kind);
    view.setUint8(at + RecordOffset.flags, r.flags);
    view.setUint32(at + RecordOffset.seq, r.seq, true);
    view.setUint32(at + RecordOffset.task, r.task, true);
    view.setUint32(at + RecordOffset.site, r.site, true);
    view.setUint32(at + RecordOffset.a, r.a % TWO_32, true);
    view.setUint32(at + RecordOffset.a + 4, Math.floor(r.a / TWO_32), true);
    if (hasFloatB(r.kind, r.flags)) {
      view.setFloat64(at + RecordOffset.b, r.b, true);
    } else {
      view.setUint32(at + RecordOffset.b, r.b % TWO_32, true);
      view.setUint32(at + RecordOffset.b + 4, Math.floor(r.b / TWO_32), true);
    }
  });
  return bytes;
}

/** Decodes whole records; the inverse of encodeRecords. */
export function decodeRecords(bytes: Uint8Array): RecordFields[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: RecordFields[] = [];
  for (let at = 0; at + RECORD_SIZE <= bytes.byteLength; at += RECORD_SIZE) {
    const kind = view.getUint8(at + RecordOffset.kind);
    const flags = view.getUint8(at + RecordOffset.flags);
    records.push({
      kind,
      flags,
      seq: view.getUint32(at + RecordOffset.seq, true),
      task: view.getUint32(at + RecordOffset.task, true),
      site: view.getUint32(at + RecordOffset.site, true),
      a: view.getUint32(at + RecordOffset.a, true) + view.getUint32(at + RecordOffset.a + 4, true) * TWO_32,
      b: hasFloatB(kind, flags)
        ? view.getFloat64(at + RecordOffset.b, true)
        : view.getUint32(at + RecordOffset.b, true) + view.getUint32(at + RecordOffset.b + 4, true) * TWO_32,
    });
  }
  return records;
}
