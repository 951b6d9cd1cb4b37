/**
 * The recording state of one thread: its ring, its sequence counter, the current task, and the
 * ids it hands out. The probes (../probes.ts) are thin calls into one Recorder.
 *
 * The task model (docs/architecture.md, "Tasks"): the thread starts in a root task; every await
 * continuation starts a new task, linked by the core to the task that suspended the same
 * invocation; and a function entered from a different event-loop callback than the current
 * task's (a timer, an I/O callback: another async resource) starts a new task whose cause is not
 * recorded. Everything else recorded belongs to the current task.
 *
 * Accesses (docs/event-format.md, "Locations"): an object gets an id the first time a record
 * names it, kept in a WeakMap so it can still be collected; a property key gets an id in the
 * stream's string table. A site that spells its property (`o.p`) has its key id looked up once,
 * at registration, so the probe does an array read instead of a string lookup.
 *
 * Sampling (./sampling.ts): when a task starts, the recorder asks the sampler whether the code
 * now running belongs to an unsampled trace, and if so the task is *muted*: it gets no id and
 * every probe returns after one check of a field, writing nothing.
 */

import {
  AccessFlag,
  EventKind,
  ResumeFlag,
  SiteKind,
  type SiteTable,
  ValueTag,
} from '@causeway/core/event-format';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import { RecordRing } from './ring.ts';
import { Sampler } from './sampling.ts';
import { StringTable } from './strings.ts';
import { SuspendedInvocations } from './suspended.ts';

export const ROOT_TASK = 1;

const TWO_32 = 2 ** 32;

/** Passed as the key of an access whose site names its property (`o.p`). */
const NAMED_BY_SITE = Symbol('named by site');

/** Where a recorder's times come from (performance, or a fake in tests). */
export interface Clock {
  now(): number;
}

/** The id of the async resource whose callback is running (async_hooks.executionAsyncId). */
export type AsyncIdSource = () => number;

export interface RegisteredSites {
  base: number;
  table: SiteTable;
}

export class Recorder {
  readonly ring: RecordRing;
  readonly sampler: Sampler;
  /** Does the current task belong to an unsampled trace (see the module's comment)? */
  #muted = false;
  readonly #clock: Clock;
  readonly #asyncId: AsyncIdSource;
  /** The async resource the current task started in. */
  #taskAsyncId: number;
  #seq = 0;
  #task = ROOT_TASK;
  #nextTask = ROOT_TASK + 1;
  #nextInvocation = 1;
  #nextExchange = 1;
  #nextCallback = 1;
  #startingUp = true;
  /** The callback whose task has begun but not been written yet (see #current); 0 if none. */
  #pendingCallback = 0;
  /** The task, and its async id, that the callback begun last interrupted. */
  #interruptedTask = ROOT_TASK;
  #interruptedAsyncId = 0;
  #interruptedMuted = false;
  /** Site ids start at 1: 0 means "no site" in records. */
  #nextSite = 1;
  /** The tasks that called the async generators' `next()`/`throw()` on the stack (0: unknown). */
  readonly #callers: number[] = [];
  /** Suspended invocations, and the await site each is suspended at. */
  readonly #suspendedAt = new SuspendedInvocations();
  #unwrittenSites: RegisteredSites[] = [];
  readonly strings = new StringTable();
  readonly #objectIds = new WeakMap<object, number>();
  #nextObject = 1;
  #lastObject: object | null = null;
  #lastObjectId = 0;
  /** Key id of each access site that names its property, by global site id; 0 otherwise. */
  #siteKeys = new Uint32Array(1024);
  #failures = 0;

  constructor(
    ringRecords: number,
    clock: Clock,
    asyncId: AsyncIdSource = () => 0,
    sampler: Sampler = new Sampler(1),
  ) {
    this.ring = new RecordRing(ringRecords);
    this.sampler = sampler;
    this.#clock = clock;
    this.#asyncId = asyncId;
    this.#taskAsyncId = asyncId();
    this.ring.writeTimed(EventKind.TaskBegin, 0, this.#seq++, ROOT_TASK, 0, 0, clock.now());
  }

  /** Records written or dropped so far (the next sequence number). */
  get sequence(): number {
    return this.#seq;
  }

  get currentTask(): number {
    return this.#current();
  }

  /** Is the current task muted (its trace unsampled: nothing it does is recorded)? */
  get muted(): boolean {
    return this.#muted;
  }

  /** Does the code running now belong to an unsampled trace? (Asks the sampler; not for probes.) */
  unsampledNow(): boolean {
    return this.sampler.active && !this.sampler.current().sampled;
  }

  /** The sampling rate or the process's trace changed: decide the current task again. */
  resample(): void {
    this.#muted = this.unsampledNow();
  }

  /**
   * Runs `fn` muted (the synchronous part of an unsampled span: what it causes asks the sampler
   * again when it starts), then goes on as before. Returns and throws what `fn` does.
   */
  muteDuring<T>(fn: () => T): T {
    const muted = this.#muted;
    this.#muted = true;
    try {
      return fn();
    } finally {
      this.#muted = muted;
    }
  }

  /**
   * An entry whose trace is not sampled starts here (an incoming request): until the next task
   * starts, nothing is recorded.
   */
  skipTask(): void {
    this.#pendingCallback = 0;
    this.#lastObject = null;
    this.#taskAsyncId = this.#asyncId();
    this.#muted = true;
  }

  /**
   * The current task, writing its begin record first if it is a callback's that has recorded
   * nothing yet. A callback's task is begun lazily so that callbacks that record nothing (most
   * of Node's own ticks and promise jobs) leave no task behind.
   */
  #current(): number {
    if (this.#pendingCallback !== 0) {
      const id = this.#pendingCallback;
      this.#pendingCallback = 0;
      const task = this.#nextTask++;
      this.#task = task;
      this.ring.writeTimed(EventKind.CallbackBegin, 0, this.#seq++, task, 0, id, this.#clock.now());
    }
    return this.#task;
  }

  registerSites(table: SiteTable): number {
    const base = this.#nextSite;
    this.#nextSite += table.sites.length;
    this.#unwrittenSites.push({ base, table });
    if (this.#nextSite > this.#siteKeys.length) {
      const grown = new Uint32Array(Math.max(this.#nextSite, this.#siteKeys.length * 2));
      grown.set(this.#siteKeys);
      this.#siteKeys = grown;
    }
    table.sites.forEach(([kind, , , , name], i) => {
      if ((kind === SiteKind.Read || kind === SiteKind.Write) && typeof name === 'string' && name !== '') {
        this.#siteKeys[base + i] = this.strings.keyOfName(name);
      }
    });
    return base;
  }

  /** Site tables registered since the last call. */
  takeSites(): RegisteredSites[] {
    const taken = this.#unwrittenSites;
    if (taken.length > 0) this.#unwrittenSites = [];
    return taken;
  }

  invocation(): number {
    return this.#nextInvocation++;
  }

  enter(site: number): void {
    if (this.#asyncId() !== this.#taskAsyncId) this.#beginCallback(site);
    if (this.#muted) return;
    const task = this.#current();
    this.ring.write(EventKind.FnEnter, 0, this.#seq++, task, site, 0);
  }

  enterAsync(site: number): number {
    if (this.#asyncId() !== this.#taskAsyncId) this.#beginCallback(site);
    const invocation = this.#nextInvocation++;
    if (this.#muted) return invocation;
    const task = this.#current();
    this.ring.write(EventKind.FnEnter, 0, this.#seq++, task, site, invocation);
    return invocation;
  }

  exit(site: number, invocation: number): void {
    if (this.#muted) return;
    const task = this.#current();
    this.ring.write(EventKind.FnExit, 0, this.#seq++, task, site, invocation);
  }

  threw(site: number, invocation: number): void {
    if (this.#muted) return;
    const task = this.#current();
    this.ring.write(EventKind.FnThrow, 0, this.#seq++, task, site, invocation);
  }

  suspend(site: number, invocation: number): void {
    // Kept when muted too: `caught` must know where a rejected continuation starts its task.
    this.#suspendedAt.set(invocation, site);
    if (this.#muted) return;
    const task = this.#current();
    this.ring.write(EventKind.AwaitSuspend, 0, this.#seq++, task, site, invocation);
  }

  resume(site: number, invocation: number): void {
    this.#suspendedAt.delete(invocation);
    this.#startTask(EventKind.AwaitResume, this.#calledFlag(), site, invocation);
  }

  /**
   * Called first in every catch and finally an await can reach. If the invocation is suspended,
   * the await it is suspended at rejected and this is the first code of its continuation.
   */
  caught(invocation: number): void {
    const site = this.#suspendedAt.take(invocation);
    if (site < 0) return;
    this.#startTask(EventKind.AwaitResume, ResumeFlag.Rejected | this.#calledFlag(), site, invocation);
  }

  /**
   * An async generator's `next()` or `throw()` is being called (scheduling.ts): a generator
   * suspended at a yield resumes synchronously inside it, caused by the calling task. `known` is
   * false when the call comes from code outside the current task (an uninstrumented callback).
   */
  beginResumingCall(known: boolean): void {
    this.#callers.push(known ? this.#current() : 0);
  }

  endResumingCall(): void {
    this.#callers.pop();
  }

  /**
   * `ResumeFlag.Called` when a continuation starting now runs synchronously inside a `next()` or
   * `throw()` call (an await's continuation never does: it runs from a microtask, with nothing
   * of the program's on the stack) whose caller is the task of the last record written, which
   * the core then takes as a cause; else 0.
   */
  #calledFlag(): number {
    const caller = this.#callers.length === 0 ? 0 : (this.#callers[this.#callers.length - 1] ?? 0);
    return caller !== 0 && caller === this.#task && this.ring.lastTask === caller ? ResumeFlag.Called : 0;
  }

  /**
   * Is the code running now part of the current task? False in an event-loop callback that has
   * not entered instrumented code (Node's own I/O callbacks): what it schedules is not recorded.
   */
  inCurrentTask(): boolean {
    return !this.#muted && this.#asyncId() === this.#taskAsyncId;
  }

  /**
   * The current task runs on, synchronously, in the scope of async resource `asyncId`
   * (`AsyncResource.runInAsyncScope`): code there belongs to it. Returns what `leaveScope` needs.
   */
  enterScope(asyncId: number): number {
    const outer = this.#taskAsyncId;
    this.#taskAsyncId = asyncId;
    return outer;
  }

  /**
   * The scope entered with `enterScope(asyncId)`, which returned `outer`, is left: the task goes
   * on outside it, unless a callback's task began and ended inside it (then, as after any
   * callback, no task is current).
   */
  leaveScope(asyncId: number, outer: number): void {
    if (this.#taskAsyncId === asyncId) this.#taskAsyncId = outer;
  }

  /**
   * Has control come back from the event loop since the current task started (the code running
   * now is in another async resource's callback)? Whether or not the current task is muted.
   */
  outsideTask(): boolean {
    return this.#asyncId() !== this.#taskAsyncId;
  }

  /**
   * The current task registers a callback on `queue` (docs/event-format.md, "Scheduling kinds");
   * `key` is the queue's key (a promise's object id for reactions), `delay` a timer's delay in ms.
   * Returns the callback's id, for `beginCallback`.
   */
  schedule(queue: number, key: number, delay: number): number {
    const id = this.#nextCallback++;
    this.scheduleAgain(id, queue, key, delay);
    return id;
  }

  /** A fresh callback id, for a callback that several `Schedule` records name (a stream's). */
  callbackId(): number {
    return this.#nextCallback++;
  }

  /** As `schedule`, for callback `id` given already (by `callbackId`). */
  scheduleAgain(id: number, queue: number, key: number, delay: number): void {
    const task = this.#current();
    this.ring.writePair(EventKind.Schedule, queue, this.#seq++, task, id, key, delay, true, false);
  }

  /** Scheduled callback `id` starts running: a new task, caused by the task that scheduled it. */
  beginCallback(id: number): void {
    this.#interruptedTask = this.#task;
    this.#interruptedAsyncId = this.#taskAsyncId;
    this.#interruptedMuted = this.#muted;
    // Only a recorded task's callbacks are wrapped (inCurrentTask): the callback is recorded too.
    this.#muted = false;
    this.#pendingCallback = id;
    this.#lastObject = null;
    this.#taskAsyncId = this.#asyncId();
  }

  /**
   * The callback begun by `beginCallback` returned or threw: its task is over. Until a task
   * starts again, what runs is not part of it (promise jobs all share async id 0, so the id alone
   * would attribute the next uninstrumented job to this task).
   */
  endCallback(): void {
    this.#pendingCallback = 0;
    if (this.#startingUp) {
      // Node runs ticks and promise jobs of its own between the steps of loading the main
      // module: the program's start goes on after them.
      this.#task = this.#interruptedTask;
      this.#taskAsyncId = this.#interruptedAsyncId;
      this.#muted = this.#interruptedMuted;
    } else {
      this.#taskAsyncId = -1;
    }
  }

  /** The event loop has started: the program's start is over (see endCallback). */
  endStartup(): void {
    this.#startingUp = false;
  }

  /**
   * `causeway.trace(name, fn)` starts: a new task, caused by the current one, in which fn runs.
   * Returns the span's task, for endSpan.
   */
  beginSpan(nameId: number): number {
    const caller = this.#current();
    this.#startTask(EventKind.SpanBegin, 0, 0, nameId + caller * TWO_32);
    return this.#task;
  }

  /** fn's synchronous part is over: the caller goes on in a new task, after the span's. */
  endSpan(span: number): void {
    this.#startTask(EventKind.SpanEnd, 0, 0, span);
  }

  /** A `causeway.event`: `nameId` and `dataId` are string ids (0: not captured). */
  customEvent(nameId: number, dataId: number): void {
    if (this.#muted) return;
    const task = this.#current();
    this.ring.writePair(EventKind.CustomEvent, 0, this.#seq++, task, nameId, dataId, 0, false, false);
  }

  /** The current task cancels scheduled callback `id`. */
  cancel(id: number): void {
    if (this.#muted) return;
    const task = this.#current();
    this.ring.write(EventKind.Cancel, 0, this.#seq++, task, 0, id);
  }

  /** Access records not written because recording them failed inside Causeway. */
  get failures(): number {
    return this.#failures;
  }

  /** `o.p` read `value` (a site that names its property). */
  read(site: number, object: unknown, value: unknown): void {
    this.#access(EventKind.Read, 0, site, object, NAMED_BY_SITE, value);
  }

  /** `o[key]` read `value`. */
  readKey(site: number, object: unknown, key: unknown, value: unknown): void {
    this.#access(EventKind.Read, 0, site, object, key, value);
  }

  /** `o.p` was given `value`; `flags` is 0, AccessFlag.Update or AccessFlag.Delete. */
  write(site: number, object: unknown, value: unknown, flags: number): void {
    this.#access(EventKind.Write, flags, site, object, NAMED_BY_SITE, value);
  }

  writeKey(site: number, object: unknown, key: unknown, value: unknown, flags: number): void {
    this.#access(EventKind.Write, flags, site, object, key, value);
  }

  /**
   * An incoming HTTP request starts being handled (an interceptor saw it before the application):
   * starts its task, in which the handler's synchronous part then runs. `now` is the clock, when
   * the caller has read it already. Returns the task id.
   */
  beginRequest(method: string, target: string, now: number = this.#clock.now()): number {
    this.#pendingCallback = 0;
    this.#muted = false;
    const task = this.#nextTask++;
    this.#task = task;
    this.#lastObject = null;
    this.#taskAsyncId = this.#asyncId();
    this.ring.writePair(
      EventKind.HttpRequest,
      0,
      this.#seq++,
      task,
      this.strings.valueOf(method),
      this.strings.valueOf(target),
      now,
      true,
      true,
    );
    return task;
  }

  /** A fresh exchange id (HTTP client requests and database queries share the counter). */
  exchange(): number {
    return this.#nextExchange++;
  }

  /**
   * An interceptor record that starts no task, written in the current task: `low` and `high`
   * are the halves of `a`; `b` is an f64 (a duration) when `floatB`, else an integer id.
   */
  exchangeStep(kind: number, flags: number, low: number, high: number, b: number, floatB: boolean): void {
    if (this.#muted) return;
    const task = this.#current();
    this.ring.writePair(kind, flags, this.#seq++, task, low, high, b, floatB, false);
  }

  /**
   * Runs `record` with `task` as the current task: an interceptor recording, from a callback, for
   * the task that started the operation (a pooled query).
   */
  inTask(task: number, record: () => void): void {
    const current = this.#current();
    const muted = this.#muted;
    this.#task = task;
    this.#muted = false;
    try {
      record();
    } finally {
      this.#task = current;
      this.#muted = muted;
    }
  }

  /** Milliseconds on the recorder's clock (what durations are measured with). */
  now(): number {
    return this.#clock.now();
  }

  /** The id of `object`, given on first sight. */
  objectId(object: object): number {
    // Code touches one object several times in a row (`o.a = o.b + o.c`): a one-entry cache in
    // front of the WeakMap saves its lookup. Cleared at each task start, so it keeps an object
    // alive no longer than the task that last touched it.
    if (object === this.#lastObject) return this.#lastObjectId;
    let id = this.#objectIds.get(object);
    if (id === undefined) {
      id = this.#nextObject++;
      this.#objectIds.set(object, id);
    }
    this.#lastObject = object;
    this.#lastObjectId = id;
    return id;
  }

  /**
   * Every access probe ends here, inside one try: a failure of Causeway's own is counted and
   * reported once (CW_PROBE_FAILED), never thrown into the application.
   */
  #access(kind: number, flags: number, site: number, object: unknown, key: unknown, value: unknown): void {
    if (this.#muted) return;
    try {
      this.#record(kind, flags, site, object, key, value);
    } catch (error) {
      if (this.#failures++ === 0) {
        warn(
          InstrumentationErrorCode.PROBE_FAILED,
          `recording an access failed (${error instanceof Error ? error.message : String(error)}); the event was not recorded and later failures are only counted`,
        );
      }
    }
  }

  #record(kind: number, flags: number, site: number, object: unknown, key: unknown, value: unknown): void {
    if (typeof object !== 'function' && (typeof object !== 'object' || object === null)) return;
    const keyId = key === NAMED_BY_SITE ? (this.#siteKeys[site] ?? 0) : this.strings.keyOf(key);
    if (keyId === 0) return;
    const objectId = this.objectId(object);
    let tag: number = ValueTag.None;
    let id = 0;
    let number = 0;
    if ((flags & AccessFlag.Delete) === 0 && !this.strings.isSecret(keyId)) {
      switch (typeof value) {
        case 'number':
          tag = ValueTag.Number;
          number = value;
          break;
        case 'undefined':
          tag = ValueTag.Undefined;
          break;
        case 'boolean':
          tag = value ? ValueTag.True : ValueTag.False;
          break;
        case 'string':
          id = this.strings.valueOf(value);
          if (id !== 0) tag = ValueTag.String;
          break;
        case 'object':
        case 'function':
          if (value === null) {
            tag = ValueTag.Null;
          } else {
            tag = ValueTag.Object;
            id = this.objectId(value);
          }
          break;
      }
    }
    const task = this.#current();
    this.ring.writeAccess(kind, flags | tag, this.#seq++, task, site, objectId, keyId, id, number);
  }

  /**
   * Control came back from the event loop into a callback Causeway did not see scheduled: start a
   * task with no recorded cause rather than invent an edge from whatever task ran last.
   */
  #beginCallback(site: number): void {
    this.#startTask(EventKind.TaskBegin, 0, site, 0);
  }

  #startTask(kind: number, flags: number, site: number, invocation: number): void {
    this.#pendingCallback = 0;
    this.#lastObject = null;
    this.#taskAsyncId = this.#asyncId();
    if (this.sampler.active && !this.sampler.current().sampled) {
      this.#muted = true;
      return;
    }
    this.#muted = false;
    const task = this.#nextTask++;
    this.#task = task;
    this.ring.writeTimed(kind, flags, this.#seq++, task, site, invocation, this.#clock.now());
  }
}
