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
  UNKNOWN_ROWS,
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
  /** For the interceptors' exchange records and custom events; null for every other kind. */
  exchange: EventExchange | null;
}

/**
 * What an interceptor's record says (docs/event-format.md, "Interceptors"), its string ids looked
 * up: `HttpClientRequest` (name: method, text: URL), `HttpClientResponse` (count: status),
 * `HttpClientError` (name: the error), `DbQuery` (text: statement), `DbResult` (count: rows, null
 * when unknown), `CustomEvent` (name, text: its data, a capture's JSON for `causeway:` names).
 */
export interface EventExchange {
  /** The exchange id the record names (per stream); 0 for a custom event. */
  id: number;
  name: string | null;
  text: string | null;
  count: number | null;
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

/** The writes of a trace by location (locations numbered in order of their first write). */
interface WriteIndex {
  /** Per event: the location it writes, -1 when it is not a write. */
  locationOf: Int32Array;
  locations: number;
  /** Per location: its first write (increasing, as locations are numbered by it). */
  firstWrite: Uint32Array;
  /** Location n's writes are events[offsets[n] .. offsets[n + 1]), in trace order. */
  offsets: Uint32Array;
  events: Uint32Array;
}

/** How many of the first `length` elements of the increasing `values` are <= `value`. */
function upperBound(values: Uint32Array, length: number, value: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Task index by a stream's local task id: a dense array when the ids are dense, else a map. */
function taskLookup(tasks: readonly Task[]): (stream: number) => (localId: number) => number {
  const byStream = new Map<number, Task[]>();
  for (const task of tasks) {
    const list = byStream.get(task.stream) ?? [];
    list.push(task);
    byStream.set(task.stream, list);
  }
  const none = () => -1;
  const lookups = new Map<number, (localId: number) => number>();
  for (const [stream, list] of byStream) {
    const max = list.reduce((m, t) => Math.max(m, t.localId), 0);
    if (max <= list.length * 4 + 1024) {
      const dense = new Int32Array(max + 1).fill(-1);
      for (const task of list) dense[task.localId] = task.index;
      lookups.set(stream, (localId) => (localId <= max ? (dense[localId] as number) : -1));
    } else {
      const map = new Map(list.map((t) => [t.localId, t.index]));
      lookups.set(stream, (localId) => map.get(localId) ?? -1);
    }
  }
  return (stream) => lookups.get(stream) ?? none;
}

/** How far back `stackAt` looks for the start of a task. */
const STACK_WALK_LIMIT = 100_000;

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
  /** Built on first use: the writes of each location for time travel, each stream's events for locate. */
  #writeCache: WriteIndex | null = null;
  #streamRangeCache: Map<number, { firstSeq: number; events: Uint32Array }> | null = null;

  constructor(file: TraceFile, tasks: readonly Task[] = []) {
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

    this.#chunkOf = new Uint32Array(length);
    this.#taskOf = new Int32Array(length);
    this.#kindOf = new Uint8Array(length);
    this.#chunks.forEach(({ view }, c) => {
      const first = this.#firstOfChunk[c] as number;
      const count = Math.floor(view.byteLength / RECORD_SIZE);
      this.#chunkOf.fill(c, first, first + count);
      for (let r = 0; r < count; r++)
        this.#kindOf[first + r] = view.getUint8(r * RECORD_SIZE + RecordOffset.kind);
    });
    this.assignTasks(tasks);
  }

  /**
   * Gives each event the index of its task in `tasks` (what `CausalTrace.tasks()` returned), -1
   * for none. The constructor does it; a reader that shows events before the core has analysed
   * them (the TUI) builds with no tasks and calls this once the analysis is done.
   */
  assignTasks(tasks: readonly Task[]): void {
    const lookup = taskLookup(tasks);
    this.#chunks.forEach(({ stream, view }, c) => {
      const first = this.#firstOfChunk[c] as number;
      const count = Math.floor(view.byteLength / RECORD_SIZE);
      const ofStream = lookup(stream);
      for (let r = 0; r < count; r++) {
        this.#taskOf[first + r] = ofStream(view.getUint32(r * RECORD_SIZE + RecordOffset.task, true));
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

  /** The stream and raw site id of event `index`, without decoding the rest (a search's first test). */
  siteKeyAt(index: number): number {
    const c = this.#chunkOf[this.#checked(index)] as number;
    const { stream, view } = this.#chunks[c] as { stream: number; view: DataView };
    const site = view.getUint32(
      (index - (this.#firstOfChunk[c] as number)) * RECORD_SIZE + RecordOffset.site,
      true,
    );
    return stream * 2 ** 32 + site;
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
      exchange: this.#exchange(stream, kind, aLow, aHigh, bLow),
    };
  }

  #exchange(stream: number, kind: number, aLow: number, aHigh: number, bLow: number): EventExchange | null {
    const text = (id: number) => (id === 0 ? null : this.strings.string(stream, id));
    switch (kind) {
      case EventKind.HttpClientRequest:
        return { id: bLow, name: text(aLow), text: text(aHigh), count: null };
      case EventKind.HttpClientResponse:
        return { id: aLow, name: null, text: null, count: aHigh };
      case EventKind.HttpClientError:
        return { id: aLow, name: text(aHigh), text: null, count: null };
      case EventKind.DbQuery:
        return { id: bLow, name: null, text: text(aLow), count: null };
      case EventKind.DbResult:
        return { id: aLow, name: null, text: null, count: aHigh === UNKNOWN_ROWS ? null : aHigh };
      case EventKind.CustomEvent:
        return { id: 0, name: text(aLow), text: text(aHigh), count: null };
      default:
        return null;
    }
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
   * there, in the order the locations were first written. Records of one stream are in the order
   * the program ran them, so this is the state the program itself saw after that event.
   *
   * The first call indexes the writes of the whole trace once (which location each write hits,
   * and each location's writes in order); a call then costs a binary search per location.
   */
  stateAt(index: number): LocationState[] {
    this.#checked(index);
    const writes = this.#writeIndex();
    const count = upperBound(writes.firstWrite, writes.locations, index);
    const state: LocationState[] = [];
    for (let loc = 0; loc < count; loc++) {
      const from = writes.offsets[loc] as number;
      const to = writes.offsets[loc + 1] as number;
      const last = writes.events[
        from + upperBound(writes.events.subarray(from, to), to - from, index) - 1
      ] as number;
      state.push(this.#locationState(last));
    }
    return state;
  }

  /**
   * The call stack at event `index`, outermost first: for an await continuation, the function it
   * resumed in (as its await site), then every function entered in the task and not yet exited.
   * Only the event's own task is walked, at most `STACK_WALK_LIMIT` events back.
   */
  stackAt(index: number): Site[] {
    const task = this.#taskOf[this.#checked(index)] as number;
    const stream = this.#streamOf(index);
    let start = index;
    for (let i = index - 1; i >= 0 && index - i <= STACK_WALK_LIMIT; i--) {
      if (this.#streamOf(i) !== stream) continue;
      if (this.#taskOf[i] !== task) break;
      start = i;
    }
    const frames: number[] = [];
    for (let i = start; i <= index; i++) {
      if (this.#streamOf(i) !== stream) continue;
      const kind = this.#kindOf[i];
      const site = this.siteKeyAt(i) % 2 ** 32;
      if (kind === EventKind.FnEnter || (i === start && kind === EventKind.AwaitResume)) {
        frames.push(site);
      } else if (kind === EventKind.FnExit && i !== index) {
        // Only the exit ends a frame: a throw is always followed by its frame's exit.
        const at = frames.lastIndexOf(site);
        if (at >= 0) frames.length = at;
      }
    }
    return frames.flatMap((site) => this.sites.lookup(stream, site) ?? []);
  }

  #streamOf(index: number): number {
    return (this.#chunks[this.#chunkOf[index] as number] as { stream: number }).stream;
  }

  /**
   * The `limit` locations written most recently as of event `index`, latest first, and how many
   * locations had been written by then: what a screen of time travel shows. It walks back from
   * `index` only until it has `limit` distinct locations.
   */
  recentWrites(index: number, limit: number): { locations: LocationState[]; written: number } {
    this.#checked(index);
    const writes = this.#writeIndex();
    const written = upperBound(writes.firstWrite, writes.locations, index);
    const seen = new Set<number>();
    const locations: LocationState[] = [];
    for (let i = index; i >= 0 && locations.length < Math.min(limit, written); i--) {
      const loc = writes.locationOf[i] as number;
      if (loc < 0 || seen.has(loc)) continue;
      seen.add(loc);
      locations.push(this.#locationState(i));
    }
    return { locations, written };
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

  #writeIndex(): WriteIndex {
    if (this.#writeCache !== null) return this.#writeCache;
    const locationOf = new Int32Array(this.length).fill(-1);
    /** Per stream, key id, object id: the location's number, in order of first write. */
    const numbers = new Map<number, Map<number, Map<number, number>>>();
    const firstWrite: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < this.length; i++) {
      if (this.#kindOf[i] !== EventKind.Write) continue;
      const c = this.#chunkOf[i] as number;
      const { stream, view } = this.#chunks[c] as { stream: number; view: DataView };
      const at = (i - (this.#firstOfChunk[c] as number)) * RECORD_SIZE + RecordOffset.a;
      const objectId = view.getUint32(at, true);
      const keyId = view.getUint32(at + 4, true);
      let byKey = numbers.get(stream);
      if (byKey === undefined) {
        byKey = new Map();
        numbers.set(stream, byKey);
      }
      let byObject = byKey.get(keyId);
      if (byObject === undefined) {
        byObject = new Map();
        byKey.set(keyId, byObject);
      }
      let loc = byObject.get(objectId);
      if (loc === undefined) {
        loc = firstWrite.length;
        byObject.set(objectId, loc);
        firstWrite.push(i);
        counts.push(0);
      }
      locationOf[i] = loc;
      counts[loc] = (counts[loc] as number) + 1;
    }
    const offsets = new Uint32Array(firstWrite.length + 1);
    for (let loc = 0; loc < counts.length; loc++)
      offsets[loc + 1] = (offsets[loc] as number) + (counts[loc] as number);
    const events = new Uint32Array(offsets[counts.length] as number);
    const filled = offsets.slice(0, counts.length);
    for (let i = 0; i < this.length; i++) {
      const loc = locationOf[i] as number;
      if (loc >= 0) events[(filled[loc] as number)++] = i;
    }
    this.#writeCache = {
      locationOf,
      locations: firstWrite.length,
      firstWrite: Uint32Array.from(firstWrite),
      offsets,
      events,
    };
    return this.#writeCache;
  }

  #locationState(writeIndex: number): LocationState {
    const event = this.at(writeIndex);
    const access = event.access as EventAccess;
    return {
      stream: event.stream,
      objectId: access.objectId,
      keyId: access.keyId,
      property: access.property,
      value: access.kind === 'delete' ? null : access.value,
      deleted: access.kind === 'delete',
      writtenAt: writeIndex,
      task: event.task,
    };
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
