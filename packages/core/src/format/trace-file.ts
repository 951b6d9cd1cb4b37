/**
 * The trace file, version 2: what one recording process wrote, readable anywhere. Version 1
 * files (before the STRINGS chunk existed) are read too.
 *
 * docs/trace-file.md is the contract and this module its only reader and writer. Layout: a
 * 16-byte header (magic "CAUSEWAY", u32 version, u32 reserved), then chunks, each an 8-byte
 * header (u32 type, u32 payload length) and the payload, padded with zeros to a multiple of
 * 8 bytes. All integers little-endian. A complete file ends with an END chunk.
 */

import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { CausewayError, CoreErrorCode } from '../errors.ts';
import { RECORD_SIZE, type SiteTable } from './event-format.ts';

export const TRACE_FILE_MAGIC = 'CAUSEWAY';
export const TRACE_FILE_VERSION = 2;
/** The oldest file version this reader still reads. */
export const TRACE_FILE_OLDEST_VERSION = 1;
export const TRACE_FILE_EXTENSION = '.cwtrace';

const HEADER_SIZE = 16;
const CHUNK_HEADER_SIZE = 8;
const EVENTS_PREFIX_SIZE = 8;
/** A larger chunk means a corrupt length field, not a real chunk: writers stay far below it. */
const MAX_CHUNK_SIZE = 1 << 30;

export const ChunkType = {
  Meta: 1,
  Stream: 2,
  Sites: 3,
  Events: 4,
  End: 5,
  Strings: 6,
} as const;
export type ChunkType = (typeof ChunkType)[keyof typeof ChunkType];

const CHUNK_NAMES: Record<number, string> = {
  [ChunkType.Meta]: 'META',
  [ChunkType.Stream]: 'STREAM',
  [ChunkType.Sites]: 'SITES',
  [ChunkType.Events]: 'EVENTS',
  [ChunkType.End]: 'END',
  [ChunkType.Strings]: 'STRINGS',
};

/** About the recording as a whole. */
export interface TraceMeta {
  /** 32 lowercase hex digits (a W3C trace id). */
  traceId: string;
  /** Name of the recorded service (its package name, or the entry file). */
  service: string;
  pid: number;
  /** Wall-clock start, ISO 8601. */
  startedAt: string;
  /** Node.js version of the recorded process. */
  node: string;
  /** Version of @causeway/instrumentation that recorded it. */
  causeway: string;
}

/** One recording stream: a thread of a process, with its own records and site ids. */
export interface StreamInfo {
  stream: number;
  pid: number;
  /** worker_threads thread id; 0 for the main thread. */
  thread: number;
  /** Wall-clock time (ms since 1970) of the stream's time 0; record times are relative to it. */
  epochMs: number;
}

/** A file's site table as registered in one stream, with the first global id it was given. */
export interface SitesChunk {
  stream: number;
  base: number;
  table: SiteTable;
}

/** Entries added to a stream's string table (property keys, captured strings), ids from `first`. */
export interface StringsChunk {
  stream: number;
  first: number;
  strings: string[];
}

export interface EventsChunk {
  stream: number;
  /** Whole records, RECORD_SIZE bytes each. */
  records: Uint8Array;
}

export interface TraceEnd {
  /** Records the runtime wrote to this file. */
  records: number;
  /** Records the runtime could not keep (full ring). */
  dropped: number;
  endedAt: string;
}

export interface TraceFile {
  meta: TraceMeta;
  streams: StreamInfo[];
  sites: SitesChunk[];
  /** In file order; each stream's chunks continue each other (ids 1, 2, ... without gaps). */
  strings: StringsChunk[];
  events: EventsChunk[];
  /** null when the recording process did not finish the file (it crashed or was killed). */
  end: TraceEnd | null;
}

function padding(length: number): number {
  return (8 - (length % 8)) % 8;
}

/** Writes a trace file chunk by chunk, synchronously (it must work inside a process 'exit' handler). */
export class TraceFileWriter {
  readonly path: string;
  #fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /** Creates (or replaces) the file at `path` and writes the header and the META chunk. */
  static create(path: string, meta: TraceMeta): TraceFileWriter {
    const fd = openSync(path, 'w');
    const header = Buffer.alloc(HEADER_SIZE);
    header.write(TRACE_FILE_MAGIC, 0, 'latin1');
    header.writeUInt32LE(TRACE_FILE_VERSION, 8);
    writeSync(fd, header);
    const writer = new TraceFileWriter(path, fd);
    writer.#json(ChunkType.Meta, meta);
    return writer;
  }

  stream(info: StreamInfo): void {
    this.#json(ChunkType.Stream, info);
  }

  sites(chunk: SitesChunk): void {
    this.#json(ChunkType.Sites, chunk);
  }

  strings(chunk: StringsChunk): void {
    this.#json(ChunkType.Strings, chunk);
  }

  /** Appends whole records of `stream`; `records.byteLength` must be a multiple of RECORD_SIZE. */
  events(stream: number, records: Uint8Array): void {
    if (records.byteLength % RECORD_SIZE !== 0) {
      throw new RangeError(`events: ${records.byteLength} bytes is not a whole number of records`);
    }
    if (records.byteLength === 0) return;
    const head = Buffer.alloc(CHUNK_HEADER_SIZE + EVENTS_PREFIX_SIZE);
    head.writeUInt32LE(ChunkType.Events, 0);
    head.writeUInt32LE(EVENTS_PREFIX_SIZE + records.byteLength, 4);
    head.writeUInt32LE(stream, 8);
    head.writeUInt32LE(records.byteLength / RECORD_SIZE, 12);
    writeSync(this.#fd, head);
    writeSync(this.#fd, records);
  }

  /** Writes the END chunk and closes the file. */
  end(end: TraceEnd): void {
    this.#json(ChunkType.End, end);
    this.close();
  }

  /** Closes without an END chunk: readers will see an unfinished recording. */
  close(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  #json(type: ChunkType, value: unknown): void {
    const payload = Buffer.from(JSON.stringify(value), 'utf8');
    const chunk = Buffer.alloc(CHUNK_HEADER_SIZE + payload.length + padding(payload.length));
    chunk.writeUInt32LE(type, 0);
    chunk.writeUInt32LE(payload.length, 4);
    payload.copy(chunk, CHUNK_HEADER_SIZE);
    writeSync(this.#fd, chunk);
  }
}

function fail(code: string, where: string, problem: string): never {
  throw new CausewayError(code, `${where}: ${problem}`);
}

/** Reads and checks the trace file at `path`. Errors name the file and the byte at fault. */
export function readTraceFile(path: string): TraceFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    fail(CoreErrorCode.TRACE_UNREADABLE, path, `cannot read the trace file (${reason})`);
  }
  return parseTraceFile(bytes, path);
}

/**
 * The META chunk of the trace file at `path`, read without the rest of the file (which may be
 * in the middle of being written); null if the file is missing or does not start like a trace.
 */
export function readTraceMeta(path: string): TraceMeta | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(HEADER_SIZE + CHUNK_HEADER_SIZE);
    if (readSync(fd, head, 0, head.length, 0) < head.length) return null;
    if (head.toString('latin1', 0, TRACE_FILE_MAGIC.length) !== TRACE_FILE_MAGIC) return null;
    if (head.readUInt32LE(HEADER_SIZE) !== ChunkType.Meta) return null;
    const length = head.readUInt32LE(HEADER_SIZE + 4);
    if (length > 64 * 1024) return null;
    const payload = Buffer.alloc(length);
    if (readSync(fd, payload, 0, length, head.length) < length) return null;
    return checkMeta(parseJson(payload, path, 'META'), path);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Parses trace file bytes; `name` is used in error messages. */
export function parseTraceFile(bytes: Uint8Array, name: string): TraceFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) {
    fail(
      CoreErrorCode.TRACE_TRUNCATED,
      name,
      'the file is empty; the recording wrote nothing (was it killed at once?)',
    );
  }
  const magic = buf.toString('latin1', 0, Math.min(buf.length, TRACE_FILE_MAGIC.length));
  if (buf.length < HEADER_SIZE && TRACE_FILE_MAGIC.startsWith(magic)) {
    fail(
      CoreErrorCode.TRACE_TRUNCATED,
      name,
      `the file ends inside its ${HEADER_SIZE}-byte header; the recording was cut off`,
    );
  }
  if (buf.length < HEADER_SIZE || magic !== TRACE_FILE_MAGIC) {
    fail(
      CoreErrorCode.TRACE_NOT_A_TRACE,
      name,
      'not a Causeway trace file (it does not start with "CAUSEWAY"); pass a .cwtrace file written by the runtime',
    );
  }
  const version = buf.readUInt32LE(8);
  if (version < TRACE_FILE_OLDEST_VERSION || version > TRACE_FILE_VERSION) {
    fail(
      CoreErrorCode.TRACE_VERSION,
      name,
      `trace file version ${version} is not supported (this Causeway reads versions ${TRACE_FILE_OLDEST_VERSION} to ${TRACE_FILE_VERSION}); a newer file needs a newer Causeway`,
    );
  }

  let meta: TraceMeta | null = null;
  const trace: Omit<TraceFile, 'meta'> = { streams: [], sites: [], strings: [], events: [], end: null };
  /** Per stream, the id the next STRINGS chunk must start at. */
  const nextString = new Map<number, number>();
  let at = HEADER_SIZE;
  while (at < buf.length) {
    const where = `${name}: byte ${at}`;
    if (buf.length - at < CHUNK_HEADER_SIZE) {
      fail(
        CoreErrorCode.TRACE_TRUNCATED,
        where,
        'the file ends inside a chunk header; the recording was cut off',
      );
    }
    const type = buf.readUInt32LE(at);
    const length = buf.readUInt32LE(at + 4);
    const chunkName = CHUNK_NAMES[type];
    if (chunkName === undefined) {
      fail(CoreErrorCode.TRACE_CORRUPT, where, `unknown chunk type ${type}`);
    }
    if (length > MAX_CHUNK_SIZE) {
      fail(
        CoreErrorCode.TRACE_CORRUPT,
        where,
        `${chunkName} chunk claims ${length} bytes, more than any writer emits`,
      );
    }
    const start = at + CHUNK_HEADER_SIZE;
    const remaining = buf.length - start;
    if (remaining < length) {
      fail(
        CoreErrorCode.TRACE_TRUNCATED,
        where,
        `${chunkName} chunk declares ${length} bytes but only ${remaining} remain; the recording was cut off`,
      );
    }
    const payload = buf.subarray(start, start + length);
    if (trace.end !== null) {
      fail(CoreErrorCode.TRACE_CORRUPT, where, `${chunkName} chunk after the END chunk`);
    }
    if (meta === null && type !== ChunkType.Meta) {
      fail(CoreErrorCode.TRACE_CORRUPT, where, `the first chunk is ${chunkName}, expected META`);
    }
    switch (type) {
      case ChunkType.Meta:
        if (meta !== null) fail(CoreErrorCode.TRACE_CORRUPT, where, 'a second META chunk');
        meta = checkMeta(parseJson(payload, where, chunkName), where);
        break;
      case ChunkType.Stream:
        trace.streams.push(checkStream(parseJson(payload, where, chunkName), where));
        break;
      case ChunkType.Sites:
        trace.sites.push(checkSites(parseJson(payload, where, chunkName), where));
        break;
      case ChunkType.Strings: {
        const chunk = checkStrings(parseJson(payload, where, chunkName), where);
        const expected = nextString.get(chunk.stream) ?? 1;
        if (chunk.first !== expected) {
          fail(
            CoreErrorCode.TRACE_CORRUPT,
            where,
            `STRINGS chunk of stream ${chunk.stream} starts at id ${chunk.first}, expected ${expected}`,
          );
        }
        nextString.set(chunk.stream, expected + chunk.strings.length);
        trace.strings.push(chunk);
        break;
      }
      case ChunkType.Events:
        trace.events.push(readEvents(payload, where));
        break;
      case ChunkType.End:
        trace.end = checkEnd(parseJson(payload, where, chunkName), where);
        break;
    }
    at = start + length + padding(length);
  }
  if (meta === null) {
    fail(CoreErrorCode.TRACE_TRUNCATED, name, 'the file holds only a header; the recording was cut off');
  }
  const known = new Set(trace.streams.map((s) => s.stream));
  for (const chunk of [...trace.events, ...trace.sites, ...trace.strings]) {
    if (!known.has(chunk.stream)) {
      fail(
        CoreErrorCode.TRACE_CORRUPT,
        name,
        `records, sites or strings of stream ${chunk.stream}, which no STREAM chunk declares`,
      );
    }
  }
  return { meta, ...trace };
}

function parseJson(payload: Uint8Array, where: string, chunkName: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    fail(CoreErrorCode.TRACE_CORRUPT, where, `${chunkName} chunk is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(CoreErrorCode.TRACE_CORRUPT, where, `${chunkName} chunk is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

type FieldType = 'string' | 'number' | 'object';

function field<T>(
  obj: Record<string, unknown>,
  key: string,
  type: FieldType,
  where: string,
  chunk: string,
): T {
  const value = obj[key];
  if (typeof value !== type || value === null) {
    fail(CoreErrorCode.TRACE_CORRUPT, where, `${chunk} chunk: field "${key}" should be a ${type}`);
  }
  return value as T;
}

function checkMeta(obj: Record<string, unknown>, where: string): TraceMeta {
  const f = <T>(key: string, type: FieldType) => field<T>(obj, key, type, where, 'META');
  return {
    traceId: f('traceId', 'string'),
    service: f('service', 'string'),
    pid: f('pid', 'number'),
    startedAt: f('startedAt', 'string'),
    node: f('node', 'string'),
    causeway: f('causeway', 'string'),
  };
}

function checkStream(obj: Record<string, unknown>, where: string): StreamInfo {
  const f = <T>(key: string, type: FieldType) => field<T>(obj, key, type, where, 'STREAM');
  return {
    stream: f('stream', 'number'),
    pid: f('pid', 'number'),
    thread: f('thread', 'number'),
    epochMs: f('epochMs', 'number'),
  };
}

function checkSites(obj: Record<string, unknown>, where: string): SitesChunk {
  const f = <T>(key: string, type: FieldType) => field<T>(obj, key, type, where, 'SITES');
  const table = f<Record<string, unknown>>('table', 'object');
  const t = <T>(key: string, type: FieldType) => field<T>(table, key, type, where, 'SITES table');
  const sites = t<unknown[]>('sites', 'object');
  if (!Array.isArray(sites) || !sites.every(isSiteRow)) {
    fail(
      CoreErrorCode.TRACE_CORRUPT,
      where,
      'SITES chunk: "table.sites" should be an array of [kind, line, column, function, name]',
    );
  }
  return {
    stream: f('stream', 'number'),
    base: f('base', 'number'),
    table: { v: t('v', 'number'), file: t('file', 'string'), sites },
  };
}

function checkStrings(obj: Record<string, unknown>, where: string): StringsChunk {
  const f = <T>(key: string, type: FieldType) => field<T>(obj, key, type, where, 'STRINGS');
  const strings = f<unknown[]>('strings', 'object');
  if (!Array.isArray(strings) || !strings.every((s) => typeof s === 'string')) {
    fail(CoreErrorCode.TRACE_CORRUPT, where, 'STRINGS chunk: "strings" should be an array of strings');
  }
  return { stream: f('stream', 'number'), first: f('first', 'number'), strings };
}

function isSiteRow(row: unknown): row is SiteTable['sites'][number] {
  return (
    Array.isArray(row) &&
    row.length === 5 &&
    typeof row[0] === 'number' &&
    typeof row[1] === 'number' &&
    typeof row[2] === 'number' &&
    typeof row[3] === 'string' &&
    typeof row[4] === 'string'
  );
}

function readEvents(payload: Uint8Array, where: string): EventsChunk {
  if (payload.byteLength < EVENTS_PREFIX_SIZE) {
    fail(CoreErrorCode.TRACE_CORRUPT, where, 'EVENTS chunk is shorter than its 8-byte prefix');
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const stream = view.getUint32(0, true);
  const count = view.getUint32(4, true);
  const records = payload.subarray(EVENTS_PREFIX_SIZE);
  if (records.byteLength !== count * RECORD_SIZE) {
    fail(
      CoreErrorCode.TRACE_CORRUPT,
      where,
      `EVENTS chunk says ${count} records but holds ${records.byteLength} bytes (${RECORD_SIZE} per record)`,
    );
  }
  return { stream, records };
}

function checkEnd(obj: Record<string, unknown>, where: string): TraceEnd {
  const f = <T>(key: string, type: FieldType) => field<T>(obj, key, type, where, 'END');
  return {
    records: f('records', 'number'),
    dropped: f('dropped', 'number'),
    endedAt: f('endedAt', 'string'),
  };
}
