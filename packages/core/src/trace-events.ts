/**
 * Every record of a loaded trace as an event a person can read: its task (as the core numbered
 * it), its code site, its time, the location and value of an access. What the TUI's timeline, the
 * server's events endpoint and the exports page through.
 *
 * Records stay in their chunks' bytes; an event object is built only when asked for, so a trace
 * of a million records costs a few typed arrays, not a million objects.
 */

import type { Task } from './causal-trace.ts';
import {
  AccessFlag,
  EVENT_KIND_NAMES,
  EventKind,
  hasTime,
  RECORD_SIZE,
  RecordOffset,
  VALUE_TAG_MASK,
  type ValueTag,
} from './format/event-format.ts';
import type { TraceFile } from './format/trace-file.ts';
import type { LoadedTrace } from './load-trace.ts';
import { type Site, SiteIndex } from './sites.ts';
import { StringIndex } from './strings.ts';
import { decodeValue, f64FromWords, renderValue, u64FromWords } from './values.ts';

/** What an access did: a plain read or write, a compound update (`+=`, `++`), a `delete`. */
export type AccessKind = 'read' | 'write' | 'update' | 'delete';

export interface EventAccess {
  kind: AccessKind;
  /** The location: one property (keyId) of one object (objectId), ids of the event's stream. */
  objectId: number;
  keyId: number;
  /** The property as source spells it after the object: `.balance`, `[3]`. */
  property: string;
  valueTag: ValueTag;
  /** The value read or written as source text (`100`, `"open"`, `object #3`); null when not captured. */
  value: string | null;
}

export interface TraceEvent {
  /** Position in the trace: chunks in file order, records in chunk order. */
  index: number;
  stream: number;
  seq: number;
  kind: number;
  /** `fn-enter`, `await-resume`, `read`, ... (docs/event-format.md). */
  kindName: string;
  flags: number;
  /** Index of the event's task in `CausalTrace.tasks()`; -1 when the core has no such task. */
  task: number;
  /** Where in the code; null when the record names no site or its table was not recorded. */
  site: Site | null;
  /** For task-starting kinds: ms since the stream's epoch. */
  timeMs: number | null;
  /** For function and await kinds: the async invocation id; null when 0 (a sync function). */
  invocation: number | null;
  /** For Read and Write records. */
  access: EventAccess | null;
}

/** Which events `select` keeps; every given criterion must hold. */
export interface EventFilter {
  kinds?: readonly number[];
  task?: number;
  stream?: number;
  site?: number;
}

/** The last value written to one location, as of some event (time travel). */
export interface LocationState {
  stream: number;
  objectId: number;
  keyId: number;
  property: string;
  /** null when not captured; `deleted` says the property was deleted. */
  value: string | null;
  deleted: boolean;
  /** The event that wrote it, and that event's task. */
  writtenAt: number;
  task: number;
}

/** How many events apart `stateAt` keeps its snapshots: the most one call replays. */
export const CHECKPOINT_EVERY = 4096;

function locationKey(stream: number, objectId: number, keyId: number): string {
  return `${stream}:${objectId}:${keyId}`;
}

export class TraceEvents {
  readonly length: number;
  readonly sites: SiteIndex;
  readonly strings: StringIndex;
  readonly #chunks: readonly { stream: number; view: DataView }[];
  /** Per event: the chunk it is in, and the task index the core gave it. */
  readonly #chunkOf: Uint32Array;
  readonly #firstOfChunk: Uint32Array;
  readonly #taskOf: Int32Array;
  readonly #kindOf: Uint8Array;
  /** Built on first use: stateAt's snapshots, and each stream's events for locate. */
  #checkpointCache: Map<string, LocationState>[] | null = null;
  #streamRangeCache: Map<number, { firstSeq: number; events: Uint32Array }> | null = null;

  constructor(file: TraceFile, tasks: readonly Task[]) {
    this.sites = new SiteIndex(file.sites);
    this.strings = new StringIndex(file.strings);
    this.#chunks = file.events.map((chunk) => ({
      stream: chunk.stream,
      view: new DataView(chunk.records.buffer, chunk.records.byteOffset, chunk.records.byteLength),
    }));
    let length = 0;
    this.#firstOfChunk = new Uint32Array(this.#chunks.length);
    this.#chunks.forEach((chunk, i) => {
      this.#firstOfChunk[i] = length;
      length += Math.floor(chunk.view.byteLength / RECORD_SIZE);
    });
    this.length = length;

    const taskIndex = new Map<number, number>();
    for (const task of tasks) taskIndex.set(task.stream * 2 ** 32 + task.localId, task.index);
    this.#chunkOf = new Uint32Array(length);
    this.#taskOf = new Int32Array(length);
    this.#kindOf = new Uint8Array(length);
    this.#chunks.forEach(({ stream, view }, c) => {
      const first = this.#firstOfChunk[c] as number;
      const count = Math.floor(view.byteLength / RECORD_SIZE);
      const streamBase = stream * 2 ** 32;
      for (let r = 0; r < count; r++) {
        const at = r * RECORD_SIZE;
        this.#chunkOf[first + r] = c;
        this.#kindOf[first + r] = view.getUint8(at + RecordOffset.kind);
        this.#taskOf[first + r] =
          taskIndex.get(streamBase + view.getUint32(at + RecordOffset.task, true)) ?? -1;
      }
    });
  }

  static of({ file, trace }: LoadedTrace): TraceEvents {
    return new TraceEvents(file, trace.tasks());
  }

  kindAt(index: number): number {
    return this.#kindOf[this.#checked(index)] as number;
  }

  taskAt(index: number): number {
    return this.#taskOf[this.#checked(index)] as number;
  }

  at(index: number): TraceEvent {
    const c = this.#chunkOf[this.#checked(index)] as number;
    const { stream, view } = this.#chunks[c] as { stream: number; view: DataView };
    const at = (index - (this.#firstOfChunk[c] as number)) * RECORD_SIZE;
    const kind = view.getUint8(at + RecordOffset.kind);
    const flags = view.getUint8(at + RecordOffset.flags);
    const aLow = view.getUint32(at + RecordOffset.a, true);
    const aHigh = view.getUint32(at + RecordOffset.a + 4, true);
    const bLow = view.getUint32(at + RecordOffset.b, true);
    const bHigh = view.getUint32(at + RecordOffset.b + 4, true);
    const isAccess = kind === EventKind.Read || kind === EventKind.Write;
    const invocation = !isAccess && kind !== EventKind.TaskBegin ? u64FromWords(aLow, aHigh) : 0;
    return {
      index,
      stream,
      seq: view.getUint32(at + RecordOffset.seq, true),
      kind,
      kindName: EVENT_KIND_NAMES[kind as EventKind] ?? `kind ${kind}`,
      flags,
      task: this.#taskOf[index] as number,
      site: this.sites.lookup(stream, view.getUint32(at + RecordOffset.site, true)),
      timeMs: hasTime(kind) ? f64FromWords(bLow, bHigh) : null,
      invocation: invocation === 0 ? null : invocation,
      access: isAccess ? this.#access(stream, kind, flags, aLow, aHigh, bLow, bHigh) : null,
    };
  }

  /** Events [start, end), clamped to the trace. */
  slice(start: number, end: number): TraceEvent[] {
    const events: TraceEvent[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.length); i++) events.push(this.at(i));
    return events;
  }

  /** Indices of the events that match `filter`, in trace order. */
  select(filter: EventFilter): Uint32Array {
    const kinds = filter.kinds === undefined ? null : new Set(filter.kinds);
    const matches: number[] = [];
    for (let i = 0; i < this.length; i++) {
      if (kinds !== null && !kinds.has(this.#kindOf[i] as number)) continue;
      if (filter.task !== undefined && this.#taskOf[i] !== filter.task) continue;
      if (filter.stream !== undefined || filter.site !== undefined) {
        const c = this.#chunkOf[i] as number;
        const chunk = this.#chunks[c] as { stream: number; view: DataView };
        if (filter.stream !== undefined && chunk.stream !== filter.stream) continue;
        if (filter.site !== undefined) {
          const at = (i - (this.#firstOfChunk[c] as number)) * RECORD_SIZE;
          if (chunk.view.getUint32(at + RecordOffset.site, true) !== filter.site) continue;
        }
      }
      matches.push(i);
    }
    return Uint32Array.from(matches);
  }

  /**
   * Time travel: every location written at or before event `index`, with the last value written
   * there, in the order the locations were first written. Records of one stream are in order
   * the program ran them, so this is the state the program itself saw after that event.
   *
   * The first call walks the trace once and keeps a snapshot every CHECKPOINT_EVERY events; each
   * call then replays at most that many events from the nearest snapshot, so stepping through a
   * million-event trace stays interactive.
   */
  stateAt(index: number): LocationState[] {
    this.#checked(index);
    const checkpoints = this.#checkpoints();
    const from = Math.floor(index / CHECKPOINT_EVERY);
    const state = new Map(checkpoints[from]);
    this.#replayWrites(state, from * CHECKPOINT_EVERY, index + 1);
    return Array.from(state.values(), (location) => ({ ...location }));
  }

  /**
   * The index of the event `seq` of `stream` (what a finding's access names), or -1 when that
   * record is not in the trace (dropped). Records of one stream follow each other in seq order
   * (modulo 2^32), so this is a binary search.
   */
  locate(stream: number, seq: number): number {
    const ranges = this.#streamRanges().get(stream);
    if (ranges === undefined) return -1;
    const base = ranges.firstSeq;
    const target = (seq - base) >>> 0;
    const offsets = ranges.events;
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const event = offsets[mid] as number;
      const at = (this.#seqAt(event) - base) >>> 0;
      if (at === target) return event;
      if (at < target) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  #checkpoints(): Map<string, LocationState>[] {
    if (this.#checkpointCache !== null) return this.#checkpointCache;
    const checkpoints: Map<string, LocationState>[] = [new Map()];
    const running = new Map<string, LocationState>();
    for (let start = 0; start + CHECKPOINT_EVERY < this.length; start += CHECKPOINT_EVERY) {
      this.#replayWrites(running, start, start + CHECKPOINT_EVERY);
      checkpoints.push(new Map(running));
    }
    this.#checkpointCache = checkpoints;
    return checkpoints;
  }

  /** Applies the writes of events [start, end) to `state`; a Map keeps a key's first position. */
  #replayWrites(state: Map<string, LocationState>, start: number, end: number): void {
    for (let i = start; i < end; i++) {
      if (this.#kindOf[i] !== EventKind.Write) continue;
      const event = this.at(i);
      const access = event.access as EventAccess;
      state.set(locationKey(event.stream, access.objectId, access.keyId), {
        stream: event.stream,
        objectId: access.objectId,
        keyId: access.keyId,
        property: access.property,
        value: access.kind === 'delete' ? null : access.value,
        deleted: access.kind === 'delete',
        writtenAt: i,
        task: event.task,
      });
    }
  }

  /** Per stream, the indices of its events in trace order (built on first use). */
  #streamRanges(): Map<number, { firstSeq: number; events: Uint32Array }> {
    if (this.#streamRangeCache !== null) return this.#streamRangeCache;
    const counts = new Map<number, number>();
    this.#chunks.forEach(({ stream, view }) => {
      counts.set(stream, (counts.get(stream) ?? 0) + Math.floor(view.byteLength / RECORD_SIZE));
    });
    const ranges = new Map<number, { firstSeq: number; events: Uint32Array }>();
    const filled = new Map<number, number>();
    for (const [stream, count] of counts) {
      ranges.set(stream, { firstSeq: 0, events: new Uint32Array(count) });
      filled.set(stream, 0);
    }
    this.#chunks.forEach(({ stream, view }, c) => {
      const range = ranges.get(stream) as { firstSeq: number; events: Uint32Array };
      const first = this.#firstOfChunk[c] as number;
      let at = filled.get(stream) as number;
      if (at === 0 && view.byteLength >= RECORD_SIZE) range.firstSeq = this.#seqAt(first);
      for (let r = 0; r < Math.floor(view.byteLength / RECORD_SIZE); r++) range.events[at++] = first + r;
      filled.set(stream, at);
    });
    this.#streamRangeCache = ranges;
    return ranges;
  }

  #seqAt(index: number): number {
    const c = this.#chunkOf[index] as number;
    const { view } = this.#chunks[c] as { view: DataView };
    return view.getUint32((index - (this.#firstOfChunk[c] as number)) * RECORD_SIZE + RecordOffset.seq, true);
  }

  #access(
    stream: number,
    kind: number,
    flags: number,
    objectId: number,
    keyId: number,
    bLow: number,
    bHigh: number,
  ): EventAccess {
    const valueTag = (flags & VALUE_TAG_MASK) as ValueTag;
    const accessKind: AccessKind =
      kind === EventKind.Read
        ? 'read'
        : flags & AccessFlag.Delete
          ? 'delete'
          : flags & AccessFlag.Update
            ? 'update'
            : 'write';
    return {
      kind: accessKind,
      objectId,
      keyId,
      property: this.strings.keyName(stream, keyId),
      valueTag,
      value: renderValue(this.strings, stream, valueTag, decodeValue(valueTag, bLow, bHigh)),
    };
  }

  #checked(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`TraceEvents: event ${index} is outside the trace (0..${this.length - 1})`);
    }
    return index;
  }
}
