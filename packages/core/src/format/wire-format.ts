/**
 * The wire format, version 1: how the runtime sends a batch of one trace to the server.
 *
 * docs/wire-format.md is the contract and this module its only encoder and decoder. A binary
 * batch (`application/x-causeway-batch`) is a 16-byte header (magic "CWBATCH\0", u32 wire
 * version, u32 reserved) followed by chunks in the trace file's encoding (docs/trace-file.md):
 * u32 type, u32 payload length, payload, zero padding to 8 bytes. The JSON variant carries the
 * same content with records in base64.
 */

import { CausewayError, CoreErrorCode } from '../errors.ts';
import { EVENT_KIND_NAMES, RECORD_SIZE, RecordOffset, type SiteTable } from './event-format.ts';
import type { StreamInfo, TraceEnd, TraceMeta } from './trace-file.ts';

export const WIRE_MAGIC = 'CWBATCH\0';
export const WIRE_VERSION = 1;
export const BATCH_CONTENT_TYPE = 'application/x-causeway-batch';

const HEADER_SIZE = 16;
const CHUNK_HEADER_SIZE = 8;
const EVENTS_PREFIX_SIZE = 8;

/** Chunk types: the trace file's numbers (docs/trace-file.md). */
export const WireChunk = { Meta: 1, Stream: 2, Sites: 3, Events: 4, End: 5, Strings: 6 } as const;

const CHUNK_NAMES: Record<number, string> = {
  1: 'META',
  2: 'STREAM',
  3: 'SITES',
  4: 'EVENTS',
  5: 'END',
  6: 'STRINGS',
};

/** The META chunk of a batch: the trace file's META plus the sender's batch number. */
export interface BatchMeta extends TraceMeta {
  /** 1, 2, 3, ... per sending process and trace: lets the server recognise a retried batch. */
  batch: number;
}

export interface Batch {
  meta: BatchMeta;
  streams: StreamInfo[];
  sites: { stream: number; base: number; table: SiteTable }[];
  strings: { stream: number; first: number; strings: string[] }[];
  events: { stream: number; records: Uint8Array }[];
  end: TraceEnd | null;
}

/** The JSON variant's body: a Batch with records in base64, and the wire version. */
export interface JsonBatch extends Omit<Batch, 'events'> {
  version: number;
  events: { stream: number; records: string }[];
}

function padding(length: number): number {
  return (8 - (length % 8)) % 8;
}

function bad(problem: string): never {
  throw new CausewayError(CoreErrorCode.BATCH_INVALID, problem);
}

/** Encodes a batch in the binary variant. */
export function encodeBatch(batch: Batch): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  const header = Buffer.alloc(HEADER_SIZE);
  header.write(WIRE_MAGIC, 0, 'latin1');
  header.writeUInt32LE(WIRE_VERSION, 8);
  parts.push(header);
  const json = (type: number, value: unknown) => {
    const payload = Buffer.from(JSON.stringify(value), 'utf8');
    const chunk = Buffer.alloc(CHUNK_HEADER_SIZE + payload.length + padding(payload.length));
    chunk.writeUInt32LE(type, 0);
    chunk.writeUInt32LE(payload.length, 4);
    payload.copy(chunk, CHUNK_HEADER_SIZE);
    parts.push(chunk);
  };
  json(WireChunk.Meta, batch.meta);
  for (const stream of batch.streams) json(WireChunk.Stream, stream);
  for (const sites of batch.sites) json(WireChunk.Sites, sites);
  for (const strings of batch.strings) json(WireChunk.Strings, strings);
  for (const events of batch.events) {
    const head = Buffer.alloc(CHUNK_HEADER_SIZE + EVENTS_PREFIX_SIZE);
    head.writeUInt32LE(WireChunk.Events, 0);
    head.writeUInt32LE(EVENTS_PREFIX_SIZE + events.records.byteLength, 4);
    head.writeUInt32LE(events.stream, 8);
    head.writeUInt32LE(events.records.byteLength / RECORD_SIZE, 12);
    parts.push(head, events.records);
    // Records are 32 bytes each, so the payload is always a multiple of 8: no padding.
  }
  if (batch.end !== null) json(WireChunk.End, batch.end);
  return Buffer.concat(parts);
}

/** The JSON variant of a batch. */
export function toJsonBatch(batch: Batch): JsonBatch {
  return {
    version: WIRE_VERSION,
    ...batch,
    events: batch.events.map((e) => ({
      stream: e.stream,
      records: Buffer.from(e.records.buffer, e.records.byteOffset, e.records.byteLength).toString('base64'),
    })),
  };
}

/** Decodes and checks a binary batch. Throws CausewayError(CW_BATCH_INVALID or CW_BATCH_VERSION). */
export function decodeBatch(bytes: Uint8Array): Batch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_SIZE || buf.toString('latin1', 0, 8) !== WIRE_MAGIC) {
    bad(`the body does not start with the batch magic "CWBATCH\\0" (${buf.length} bytes received)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== WIRE_VERSION) {
    throw new CausewayError(
      CoreErrorCode.BATCH_VERSION,
      `wire format version ${version} is not supported (this server reads version ${WIRE_VERSION}); update the server or the runtime so they match`,
    );
  }
  let meta: BatchMeta | null = null;
  const batch: Omit<Batch, 'meta'> = { streams: [], sites: [], strings: [], events: [], end: null };
  let at = HEADER_SIZE;
  while (at < buf.length) {
    const where = `byte ${at}`;
    if (buf.length - at < CHUNK_HEADER_SIZE) bad(`${where}: the body ends inside a chunk header`);
    const type = buf.readUInt32LE(at);
    const length = buf.readUInt32LE(at + 4);
    const name = CHUNK_NAMES[type];
    if (name === undefined) bad(`${where}: unknown chunk type ${type}`);
    const start = at + CHUNK_HEADER_SIZE;
    if (buf.length - start < length) {
      bad(`${where}: ${name} chunk declares ${length} bytes but only ${buf.length - start} remain`);
    }
    if (meta === null && type !== WireChunk.Meta) bad(`${where}: the first chunk is ${name}, expected META`);
    if (batch.end !== null) bad(`${where}: ${name} chunk after the END chunk`);
    const payload = buf.subarray(start, start + length);
    if (type === WireChunk.Events) {
      if (length < EVENTS_PREFIX_SIZE) bad(`${where}: EVENTS chunk is shorter than its 8-byte prefix`);
      const stream = payload.readUInt32LE(0);
      const count = payload.readUInt32LE(4);
      if (length - EVENTS_PREFIX_SIZE !== count * RECORD_SIZE) {
        bad(`${where}: EVENTS chunk says ${count} records but holds ${length - EVENTS_PREFIX_SIZE} bytes`);
      }
      batch.events.push({ stream, records: payload.subarray(EVENTS_PREFIX_SIZE) });
    } else {
      const value = parseJson(payload, `${where}: ${name} chunk`);
      switch (type) {
        case WireChunk.Meta:
          if (meta !== null) bad(`${where}: a second META chunk`);
          meta = value as unknown as BatchMeta;
          break;
        case WireChunk.Stream:
          batch.streams.push(value as unknown as StreamInfo);
          break;
        case WireChunk.Sites:
          batch.sites.push(value as unknown as Batch['sites'][number]);
          break;
        case WireChunk.Strings:
          batch.strings.push(value as unknown as Batch['strings'][number]);
          break;
        case WireChunk.End:
          batch.end = value as unknown as TraceEnd;
          break;
      }
    }
    at = start + length + padding(length);
  }
  if (meta === null) bad('the batch holds no META chunk');
  return checkBatch({ meta, ...batch });
}

/** Decodes and checks the JSON variant (already parsed from the body). */
export function decodeJsonBatch(body: unknown): Batch {
  if (!isObject(body)) bad('the JSON body is not an object');
  if (body.version !== WIRE_VERSION) {
    throw new CausewayError(
      CoreErrorCode.BATCH_VERSION,
      `wire format version ${JSON.stringify(body.version)} is not supported (this server reads version ${WIRE_VERSION})`,
    );
  }
  const list = (key: string): unknown[] => {
    const value = body[key] ?? [];
    if (!Array.isArray(value)) bad(`"${key}" should be an array`);
    return value;
  };
  const events = list('events').map((e, i) => {
    if (!isObject(e) || typeof e.records !== 'string')
      bad(`events[${i}] should be {stream, records: base64}`);
    const records = Buffer.from(e.records, 'base64');
    if (records.length % RECORD_SIZE !== 0) {
      bad(`events[${i}].records decodes to ${records.length} bytes, not a multiple of ${RECORD_SIZE}`);
    }
    return { stream: e.stream as number, records: new Uint8Array(records) };
  });
  return checkBatch({
    meta: body.meta as BatchMeta,
    streams: list('streams') as StreamInfo[],
    sites: list('sites') as Batch['sites'],
    strings: list('strings') as Batch['strings'],
    events,
    end: (body.end ?? null) as TraceEnd | null,
  });
}

function parseJson(payload: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    bad(`${where} is not valid JSON`);
  }
  if (!isObject(value)) bad(`${where} is not a JSON object`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TRACE_ID = /^[0-9a-f]{32}$/;

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Field checks shared by both variants, and the record checks a batch must pass before it is stored. */
function checkBatch(batch: Batch): Batch {
  const { meta } = batch;
  if (!isObject(meta)) bad('META should be an object');
  if (typeof meta.traceId !== 'string' || !TRACE_ID.test(meta.traceId)) {
    bad(`META.traceId should be 32 lowercase hex digits, got ${JSON.stringify(meta.traceId)}`);
  }
  for (const key of ['service', 'startedAt', 'node', 'causeway'] as const) {
    if (typeof meta[key] !== 'string') bad(`META.${key} should be a string`);
  }
  if (!isCount(meta.pid)) bad('META.pid should be a non-negative integer');
  if (!isCount(meta.batch) || meta.batch < 1) bad('META.batch should be an integer from 1');
  const declared = new Set<number>();
  for (const [i, s] of batch.streams.entries()) {
    if (!isObject(s) || !isCount(s.stream) || !isCount(s.pid) || !isCount(s.thread)) {
      bad(`STREAM ${i} should be {stream, pid, thread, epochMs} with integer ids`);
    }
    if (typeof s.epochMs !== 'number') bad(`STREAM ${i}: epochMs should be a number`);
    declared.add(s.stream);
  }
  for (const [i, s] of batch.sites.entries()) {
    if (!isObject(s) || !isCount(s.stream) || !isCount(s.base) || !isObject(s.table)) {
      bad(`SITES ${i} should be {stream, base, table}`);
    }
    const table = s.table as unknown as Record<string, unknown>;
    if (typeof table.file !== 'string' || !Array.isArray(table.sites)) {
      bad(`SITES ${i}: table should be {v, file, sites: [...]}`);
    }
  }
  for (const [i, s] of batch.strings.entries()) {
    if (!isObject(s) || !isCount(s.stream) || !isCount(s.first) || s.first < 1 || !Array.isArray(s.strings)) {
      bad(`STRINGS ${i} should be {stream, first (from 1), strings: [...]}`);
    }
    if (!s.strings.every((x) => typeof x === 'string')) bad(`STRINGS ${i}: strings should all be strings`);
  }
  for (const [i, e] of batch.events.entries()) {
    if (!isCount(e.stream)) bad(`EVENTS ${i}: stream should be a non-negative integer`);
    checkRecords(e.records, `EVENTS ${i} (stream ${e.stream})`);
  }
  if (batch.end !== null) {
    if (!isObject(batch.end) || !isCount(batch.end.records) || !isCount(batch.end.dropped)) {
      bad('END should be {records, dropped, endedAt}');
    }
  }
  return batch;
}

/** Every record has a known kind, and seq increases within the chunk. */
function checkRecords(records: Uint8Array, where: string): void {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let lastSeq = -1;
  for (let at = 0; at < records.byteLength; at += RECORD_SIZE) {
    const kind = view.getUint8(at + RecordOffset.kind);
    if (!(kind in EVENT_KIND_NAMES)) bad(`${where}: record ${at / RECORD_SIZE} has unknown kind ${kind}`);
    const seq = view.getUint32(at + RecordOffset.seq, true);
    if (seq <= lastSeq) bad(`${where}: record ${at / RECORD_SIZE} has seq ${seq}, not after ${lastSeq}`);
    lastSeq = seq;
  }
}

/** First and last seq of a checked EVENTS chunk. */
export function seqRange(records: Uint8Array): [number, number] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return [
    view.getUint32(RecordOffset.seq, true),
    view.getUint32(records.byteLength - RECORD_SIZE + RecordOffset.seq, true),
  ];
}
