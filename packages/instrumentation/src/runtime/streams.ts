/**
 * Spawn and FIFO edges for readable streams (docs/event-format.md, "Scheduling kinds", queue
 * `Emitter`). Node emits a stream's `'data'`, `'readable'`, `'end'`, `'error'` and `'close'` from
 * its own I/O callbacks and ticks, which instrumented code does not see scheduled: without this,
 * each run of a listener would start a task with no recorded cause, unordered with the request
 * that registered it and with the stream's other events (`body += chunk` in `'data'`, read in
 * `'end'`, reported as a race; Express's handler after `express.json()` cut off from its request).
 *
 * Readable.prototype's `on`/`addListener` and `prependListener` (which `once`,
 * `prependOnceListener`, `pipe`, `finished` and async iteration call) note a stream when a recorded
 * task adds a listener of one of those events: a `Schedule` record on queue `Emitter`, keyed by the
 * stream's object id, with one callback id per stream. Readable.prototype's `emit` runs an event of
 * a noted stream that Node emits outside the current task in a callback task (`CallbackBegin` with
 * that id), which the core orders after every task that noted the stream since its previous such
 * emission, and after that emission: a stream emits its events one after another, in its own
 * order. An event emitted inside the current task (the program's own `emit` or `push`, a tick the
 * task queued) runs its listeners in that task, as Node does, and notes the stream again, so that
 * the next emission from the event loop follows it.
 *
 * Listeners are stored as given: `listeners()`, `rawListeners()`, `removeListener`/`off`,
 * `once`, `listenerCount`, and what `emit` returns or throws are Node's own. Only `emit` runs in a
 * wrapper (one more frame in a stack trace through it). Sockets (`net.Socket`, TLS sockets) are
 * not noted: a socket is often a connection that a pool shares between requests, and ordering
 * its emissions would order the requests' callbacks by the order their replies happened to come.
 */

import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Queue } from '@causeway/core/event-format';
import { InstrumentationErrorCode, warn } from '../errors.ts';
import type { Recorder } from './recorder.ts';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** A noted stream: its callback id, its object id, and the task that noted it last (0: none since its last emission from the event loop). */
interface Noted {
  id: number;
  key: number;
  task: number;
}

/** The events whose emissions a readable stream orders (its read side, then its end). */
function ordered(type: unknown): boolean {
  return type === 'data' || type === 'end' || type === 'readable' || type === 'error' || type === 'close';
}

export function installStreams(recorder: Recorder, settings: { enabled: boolean }): void {
  const noted = new WeakMap<object, Noted>();
  /** Sockets seen, which are never noted (see the module's comment). */
  const skipped = new WeakSet<object>();

  /** The current task, recorded, adds a listener to or emits an event of the stream of `state`. */
  const noteAgain = (state: Noted): void => {
    const task = recorder.currentTask;
    if (state.task === task) return;
    state.task = task;
    recorder.scheduleAgain(state.id, Queue.Emitter, state.key, 0);
  };

  /** The current task, recorded, adds a listener to `stream`. */
  const note = (stream: object): void => {
    try {
      let state = noted.get(stream);
      if (state === undefined) {
        if (skipped.has(stream)) return;
        if (stream instanceof Socket) {
          skipped.add(stream);
          return;
        }
        state = { id: recorder.callbackId(), key: recorder.objectId(stream), task: 0 };
        noted.set(stream, state);
      }
      noteAgain(state);
    } catch (error) {
      warn(
        InstrumentationErrorCode.PROBE_FAILED,
        `noting a stream's listener failed (${error instanceof Error ? error.message : String(error)}); its events may show no cause`,
      );
    }
  };

  const wrapAdd = (original: AnyFunction): AnyFunction => {
    const wrapped = function (this: unknown, type: unknown, listener: unknown) {
      if (
        typeof listener === 'function' &&
        ordered(type) &&
        typeof this === 'object' &&
        this !== null &&
        settings.enabled &&
        recorder.inCurrentTask()
      ) {
        note(this);
      }
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    };
    Object.defineProperty(wrapped, 'name', { value: original.name });
    Object.defineProperty(wrapped, 'length', { value: original.length });
    return wrapped;
  };

  const proto = Readable.prototype as unknown as Record<string, AnyFunction>;
  const emit = proto.emit as AnyFunction;
  const wrappedEmit = function (this: unknown, type: unknown) {
    const state = settings.enabled && ordered(type) ? noted.get(this as object) : undefined;
    if (state === undefined) {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(emit, this, arguments);
    }
    if (!recorder.outsideTask()) {
      if (!recorder.muted) noteAgain(state);
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(emit, this, arguments);
    }
    state.task = 0;
    recorder.beginCallback(state.id);
    try {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(emit, this, arguments);
    } finally {
      recorder.endCallback();
    }
  };
  Object.defineProperty(wrappedEmit, 'name', { value: emit.name });
  Object.defineProperty(wrappedEmit, 'length', { value: emit.length });

  // Readable.prototype.addListener is the same function as its `on`: both get one wrapper.
  const on = proto.on as AnyFunction;
  const wrappedOn = wrapAdd(on);
  for (const name of ['on', 'addListener']) {
    if (proto[name] === on) proto[name] = wrappedOn;
  }
  proto.prependListener = wrapAdd(proto.prependListener as AnyFunction);
  proto.emit = wrappedEmit;
}
