/**
 * Spawn and FIFO edges for the event loop's scheduling APIs (docs/event-format.md, "Scheduling
 * kinds"): `setTimeout`, `setInterval`, `setImmediate`, `process.nextTick`, `queueMicrotask` and
 * `Promise.prototype.then` (through which `catch` and `finally` go) are replaced, when `register`
 * loads, by wrappers that record which task registered a callback and start the callback's task
 * with that cause. The core adds FIFO edges between callbacks of one queue. Async generators'
 * `next` and `throw` are wrapped too: they resume a generator synchronously (wrapResuming).
 *
 * A wrapper changes nothing the program can compute with: it calls the original with the same
 * `this` and arguments (the callback replaced by a wrapper that passes its own `this`, arguments,
 * return value and exceptions through) and returns what the original returned, so timer objects
 * (ref, unref, refresh, hasRef, Symbol.toPrimitive, clearTimeout by id) are Node's own. A call
 * the original would reject (a callback that is not a function) goes to it untouched. Callbacks
 * registered outside any recorded task (Node's own I/O callbacks) are not wrapped: they run as
 * before, with no recorded cause.
 */

import { createRequire, syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';
import { Queue } from '@causeway/core/event-format';
import type { Recorder } from './recorder.ts';

/** The callback id of a timer or immediate object, for clearTimeout & co (a symbol: invisible to JSON, for...in, Object.keys). */
const CALLBACK_ID = Symbol('causeway.callback');

/** Node's largest timer delay; a delay outside 1..TIMEOUT_MAX becomes 1. */
const TIMEOUT_MAX = 2 ** 31 - 1;

/**
 * The delay Node will use, without calling anything of the program's: only a number is read
 * (anything else would run its valueOf twice); NaN (never equal to another delay) otherwise.
 */
function timerDelay(delay: unknown): number {
  if (delay === undefined) return 1;
  if (typeof delay !== 'number') return Number.NaN;
  return delay >= 1 && delay <= TIMEOUT_MAX ? delay : 1;
}

/** Whether the wrappers record: configure({ enabled: false }) turns them off. */
let settings: { enabled: boolean } = { enabled: true };

function active(recorder: Recorder): boolean {
  return settings.enabled && recorder.inCurrentTask();
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

function callbackFor(recorder: Recorder, id: number, callback: AnyFunction): AnyFunction {
  return function scheduledCallback(this: unknown) {
    recorder.beginCallback(id);
    try {
      // biome-ignore lint/complexity/noArguments: passes the arguments through without an array
      return Reflect.apply(callback, this, arguments);
    } finally {
      recorder.endCallback();
    }
  };
}

function tag(handle: unknown, id: number): void {
  if (typeof handle === 'object' && handle !== null && Object.isExtensible(handle)) {
    (handle as Record<symbol, number>)[CALLBACK_ID] = id;
  }
}

function copyProperties(from: AnyFunction, to: AnyFunction): void {
  // util.promisify(setTimeout) and friends look up promisify.custom on the function.
  const custom = Object.getOwnPropertyDescriptor(from, promisify.custom);
  if (custom !== undefined) Object.defineProperty(to, promisify.custom, custom);
  Object.defineProperty(to, 'name', { value: from.name });
  Object.defineProperty(to, 'length', { value: from.length });
}

/** A wrapper of setTimeout, setInterval or setImmediate (the callback is the first argument). */
function wrapTimer(recorder: Recorder, original: AnyFunction, queue: number, timed: boolean): AnyFunction {
  const wrapped = function (this: unknown, callback: unknown, delay?: unknown) {
    if (typeof callback !== 'function' || !active(recorder)) {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    }
    const id = recorder.schedule(queue, 0, timed ? timerDelay(delay) : 0);
    // biome-ignore lint/complexity/noArguments: replaces the callback in place, no array built
    const args = arguments;
    args[0] = callbackFor(recorder, id, callback as AnyFunction);
    const handle = Reflect.apply(original, this, args);
    // Only intervals are tagged for clearInterval: a property added to every Timeout makes
    // Node's timer code see two shapes of timer and slows every timer down (measured ~2x).
    if (queue === Queue.Interval) tag(handle, id);
    return handle;
  };
  copyProperties(original, wrapped);
  return wrapped;
}

function wrapClear(recorder: Recorder, original: AnyFunction): AnyFunction {
  const wrapped = function (this: unknown, handle: unknown) {
    if (typeof handle === 'object' && handle !== null) {
      const id = (handle as Record<symbol, unknown>)[CALLBACK_ID];
      if (typeof id === 'number') recorder.cancel(id);
    }
    // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
    return Reflect.apply(original, this, arguments);
  };
  copyProperties(original, wrapped);
  return wrapped;
}

/** process.nextTick or queueMicrotask. */
function wrapQueue(recorder: Recorder, original: AnyFunction, queue: number): AnyFunction {
  const wrapped = function (this: unknown, callback: unknown) {
    if (typeof callback !== 'function' || !active(recorder)) {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    }
    const id = recorder.schedule(queue, 0, 0);
    // biome-ignore lint/complexity/noArguments: replaces the callback in place, no array built
    const args = arguments;
    args[0] = callbackFor(recorder, id, callback as AnyFunction);
    return Reflect.apply(original, this, args);
  };
  copyProperties(original, wrapped);
  return wrapped;
}

type Then = (this: unknown, onFulfilled?: unknown, onRejected?: unknown) => unknown;

/** A reaction handler: no `this`, one argument. */
function reactionFor(recorder: Recorder, id: number, handler: (value: unknown) => unknown) {
  return (value: unknown): unknown => {
    recorder.beginCallback(id);
    try {
      return handler(value);
    } finally {
      recorder.endCallback();
    }
  };
}

function wrapThen(recorder: Recorder, original: Then): Then {
  const wrapped = function (this: unknown, onFulfilled?: unknown, onRejected?: unknown) {
    const fulfilled = typeof onFulfilled === 'function';
    const rejected = typeof onRejected === 'function';
    if ((!fulfilled && !rejected) || typeof this !== 'object' || this === null || !active(recorder)) {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    }
    // One id for both handlers: exactly one of them runs.
    const id = recorder.schedule(Queue.Reaction, recorder.objectId(this), 0);
    // biome-ignore lint/complexity/noArguments: replaces the handlers in place, no array built
    const args = arguments;
    if (fulfilled) args[0] = reactionFor(recorder, id, onFulfilled as (value: unknown) => unknown);
    if (rejected) args[1] = reactionFor(recorder, id, onRejected as (value: unknown) => unknown);
    return Reflect.apply(original, this, args);
  };
  copyProperties(original as AnyFunction, wrapped as AnyFunction);
  return wrapped;
}

/**
 * An async generator's `next` or `throw`: a generator suspended at a `yield` resumes
 * synchronously inside the call, so the recorder notes the calling task for the continuation
 * (ResumeFlag.Called). `return` is left alone: it resumes the generator only after awaiting.
 */
function wrapResuming(recorder: Recorder, original: AnyFunction): AnyFunction {
  const wrapped = function (this: unknown) {
    recorder.beginResumingCall(active(recorder));
    try {
      // biome-ignore lint/complexity/noArguments: the original gets exactly what was passed
      return Reflect.apply(original, this, arguments);
    } finally {
      recorder.endResumingCall();
    }
  };
  copyProperties(original, wrapped);
  return wrapped;
}

const require = createRequire(import.meta.url);

/** Replaces the scheduling functions, globally and in `node:timers`. Call once. */
export function installScheduling(recorder: Recorder, manual: { enabled: boolean } = settings): void {
  settings = manual;
  // The first check phase of the event loop: the program's start has run by then.
  setImmediate(() => recorder.endStartup()).unref();
  const timers = require('node:timers') as Record<string, AnyFunction>;
  const globals = globalThis as unknown as Record<string, AnyFunction>;
  const replace = (name: string, wrapper: (original: AnyFunction) => AnyFunction): void => {
    const original = globals[name];
    if (typeof original !== 'function') return;
    const wrapped = wrapper(original);
    globals[name] = wrapped;
    if (timers[name] === original) timers[name] = wrapped;
  };
  replace('setTimeout', (original) => wrapTimer(recorder, original, Queue.Timeout, true));
  replace('setInterval', (original) => wrapTimer(recorder, original, Queue.Interval, true));
  replace('setImmediate', (original) => wrapTimer(recorder, original, Queue.Immediate, false));
  replace('clearTimeout', (original) => wrapClear(recorder, original));
  replace('clearInterval', (original) => wrapClear(recorder, original));
  replace('clearImmediate', (original) => wrapClear(recorder, original));
  replace('queueMicrotask', (original) => wrapQueue(recorder, original, Queue.Microtask));
  // biome-ignore lint/suspicious/noExplicitAny: process.nextTick's overloads
  (process as any).nextTick = wrapQueue(recorder, process.nextTick as AnyFunction, Queue.NextTick);
  // %AsyncGeneratorPrototype%, which every async generator object inherits next and throw from.
  const asyncGenerators = Object.getPrototypeOf(async function* () {}).prototype as Record<
    string,
    AnyFunction
  >;
  for (const name of ['next', 'throw']) {
    const original = asyncGenerators[name];
    if (typeof original === 'function') asyncGenerators[name] = wrapResuming(recorder, original);
  }
  // biome-ignore lint/suspicious/noThenProperty: replacing Promise's own then is the point
  Promise.prototype.then = wrapThen(
    recorder,
    Promise.prototype.then as Then,
  ) as typeof Promise.prototype.then;
  syncBuiltinESMExports();
}
