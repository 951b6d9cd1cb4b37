/**
 * The probes: what instrumented code calls. The Babel plugin emits calls to these names (see
 * docs/instrumentation.md); they are the runtime's whole surface towards the application.
 *
 * Every probe returns quickly, allocates nothing on its common path, and never throws into the
 * caller: the ones that pass a value through (`suspend`, `resume`, the access probes) return it
 * untouched. The recorder catches its own failures in the access probes (Recorder.failures).
 */

import { isMap, isSet } from 'node:util/types';
import { AccessFlag, type SiteTable } from '@causeway/core/event-format';
import { InstrumentationErrorCode, warn } from './errors.ts';
import { session } from './runtime/session.ts';

const recorder = session.recorder;

function isSiteTable(value: unknown): value is SiteTable {
  const table = value as SiteTable | null;
  return (
    typeof table === 'object' &&
    table !== null &&
    typeof table.file === 'string' &&
    Array.isArray(table.sites)
  );
}

/** Registers a file's site table; returns the global id of its first site (0 if refused). */
export function registerSites(table: SiteTable): number {
  if (!isSiteTable(table)) {
    warn(
      InstrumentationErrorCode.PROBE_INPUT,
      'registerSites was given something that is not a site table; ignored',
    );
    return 0;
  }
  return recorder.registerSites(table);
}

/** A fresh invocation id, for code that awaits outside any function (top-level await). */
export function invocation(): number {
  return recorder.invocation();
}

export function enter(site: number): void {
  recorder.enter(site);
}

/** Enters an async function; returns its invocation id. */
export function enterAsync(site: number): number {
  return recorder.enterAsync(site);
}

export function exit(site: number, invocation = 0): void {
  recorder.exit(site, invocation);
}

export function threw(site: number, invocation = 0): void {
  recorder.threw(site, invocation);
}

/** Just before an await: records the suspension; returns the awaited value. */
export function suspend<T>(site: number, invocation: number, value: T): T {
  recorder.suspend(site, invocation);
  return value;
}

/** First thing after an await: starts the continuation's task; returns the awaited result. */
export function resume<T>(site: number, invocation: number, value: T): T {
  recorder.resume(site, invocation);
  return value;
}

/** First thing in a catch or finally of async code (see Recorder.caught). */
export function caught(invocation: number): void {
  recorder.caught(invocation);
}

// Generators (docs/instrumentation.md, "Generators"). A sync generator's body runs in slices, each
// inside a call of next(), return() or throw(): each slice is recorded as a call of the generator's
// function (FnEnter ... FnExit, invocation 0) in the task of the code that resumed it. The
// generator keeps its own "suspended" flag in a local variable, so these allocate nothing.

/** A generator's slice ends at `yield value`. Returns `value`; `_suspended` only orders the flag's update. */
export function yielded<T>(site: number, value: T, _suspended: boolean): T {
  recorder.exit(site, 0);
  return value;
}

/** A generator's slice starts after a yield, with `sent` from next(sent). Returns `sent`. */
export function resumed<T>(site: number, sent: T, _running: boolean): T {
  recorder.enter(site);
  return sent;
}

/**
 * First thing in a catch or finally of a generator that a yield can reach: if the generator was
 * suspended, return() or throw() resumed it there, and a slice starts. Returns the new flag.
 */
export function reentered(site: number, suspended: boolean): false {
  if (suspended) recorder.enter(site);
  return false;
}

/** `o.p` evaluated to `value`. Returns `value`. */
export function read<T>(site: number, object: unknown, value: T): T {
  recorder.read(site, object, value);
  return value;
}

/** `o[key]` evaluated to `value`. Returns `value`. */
export function readKey<T>(site: number, object: unknown, key: unknown, value: T): T {
  recorder.readKey(site, object, key, value);
  return value;
}

/** `o.p = value` happened. Returns `value`. */
export function write<T>(site: number, object: unknown, value: T): T {
  recorder.write(site, object, value, 0);
  return value;
}

/** `o[key] = value` happened. Returns `value`. */
export function writeKey<T>(site: number, object: unknown, key: unknown, value: T): T {
  recorder.writeKey(site, object, key, value, 0);
  return value;
}

/** `o.p op= v` or `++o.p` left `value` in o.p. Returns `value`. */
export function update<T>(site: number, object: unknown, value: T): T {
  recorder.write(site, object, value, AccessFlag.Update);
  return value;
}

/** `o[key] op= v` or `++o[key]` left `value` in it. Returns `value`. */
export function updateKey<T>(site: number, object: unknown, key: unknown, value: T): T {
  recorder.writeKey(site, object, key, value, AccessFlag.Update);
  return value;
}

/** Stands for a value the record does not capture (its value tag is None). */
const UNCAPTURED = Symbol('uncaptured');

/**
 * A destructuring target `o.p` was assigned (its value not captured) by the assignment whose
 * value is `result`, returned (it comes first: the object is read once the assignment is done).
 */
export function assigned<T>(site: number, result: T, object: unknown): T {
  recorder.write(site, object, UNCAPTURED, 0);
  return result;
}

/** A destructuring target `o[key]` was assigned. Returns `result`. */
export function assignedKey<T>(site: number, result: T, object: unknown, key: unknown): T {
  recorder.writeKey(site, object, key, UNCAPTURED, 0);
  return result;
}

/**
 * An object pattern is about to read `object[key]` for a property whose site names the key
 * (`const { a } = o`): records the read (its value not captured: the pattern gets it). Returns
 * `key`, which the pattern then uses as its computed key.
 */
export function patternRead<K>(site: number, object: unknown, key: K): K {
  recorder.read(site, object, UNCAPTURED);
  return key;
}

/** As `patternRead`, for a computed key (`const { [k]: a } = o`), passed unconverted. Returns `key`. */
export function patternReadKey<K>(site: number, object: unknown, key: K): K {
  recorder.readKey(site, object, key, UNCAPTURED);
  return key;
}

/** The new value of `o.p++` / `o.p--` (delta ±1) given its result, when it is a number. */
function incremented(old: unknown, delta: number): unknown {
  return typeof old === 'number' ? old + delta : UNCAPTURED;
}

/** `o.p++` (delta 1) or `o.p--` (delta -1) evaluated to `old`. Returns `old`. */
export function postfix<T>(site: number, object: unknown, old: T, delta: number): T {
  recorder.write(site, object, incremented(old, delta), AccessFlag.Update);
  return old;
}

export function postfixKey<T>(site: number, object: unknown, key: unknown, old: T, delta: number): T {
  recorder.writeKey(site, object, key, incremented(old, delta), AccessFlag.Update);
  return old;
}

/** `delete o.p` evaluated to `result`. Returns `result`. */
export function remove(site: number, object: unknown, result: boolean): boolean {
  if (result) recorder.write(site, object, undefined, AccessFlag.Delete);
  return result;
}

/** `delete o[key]` evaluated to `result`. Returns `result`. */
export function removeKey(site: number, object: unknown, key: unknown, result: boolean): boolean {
  if (result) recorder.writeKey(site, object, key, undefined, AccessFlag.Delete);
  return result;
}

// Built-in collections (docs/event-format.md, "Collections"). The plugin calls these after every
// call of a method with one of these names; the method is a Map's, a Set's or an Array's only if
// the receiver is one, so each checks it first and records nothing otherwise. The checks read
// internal slots (util.types, Array.isArray), never the receiver's properties or prototype: no
// getter or proxy trap of the application runs because of them (~15 ns each).

/** The key a collection's whole contents are recorded under (also entries keyed by an object). */
export const ENTRIES = Symbol('entries');

/** The location key of a Map or Set entry: the key itself when it is a primitive, else ENTRIES. */
function entryKey(key: unknown): unknown {
  return (typeof key === 'object' && key !== null) || typeof key === 'function' ? ENTRIES : key;
}

/** `c.size` evaluated to `value`: a read of a Map's or Set's whole contents, else of property `size`. */
export function readSize<T>(site: number, object: unknown, value: T): T {
  if (isMap(object) || isSet(object)) recorder.readKey(site, object, ENTRIES, value);
  else recorder.read(site, object, value);
  return value;
}

/** `c.get(key)` returned `result`: a read of the Map's entry. */
export function mapGet<T>(site: number, receiver: unknown, result: T, key: unknown): T {
  if (isMap(receiver)) recorder.readKey(site, receiver, entryKey(key), result);
  return result;
}

/** `c.has(key)` returned `result`: a read of the entry (for a Set, its value is `result`). */
export function has<T>(site: number, receiver: unknown, result: T, key: unknown): T {
  if (isMap(receiver)) recorder.readKey(site, receiver, entryKey(key), UNCAPTURED);
  else if (isSet(receiver)) recorder.readKey(site, receiver, entryKey(key), result);
  return result;
}

/** `c.set(key, value)` returned `result`: a write of the Map's entry. */
export function mapSet<T>(site: number, receiver: unknown, result: T, key: unknown, value: unknown): T {
  if (isMap(receiver)) recorder.writeKey(site, receiver, entryKey(key), value, 0);
  return result;
}

/** `c.add(key)` returned `result`: a write of the Set's entry (its value: `true`, present). */
export function setAdd<T>(site: number, receiver: unknown, result: T, key: unknown): T {
  if (isSet(receiver)) recorder.writeKey(site, receiver, entryKey(key), true, 0);
  return result;
}

/**
 * `c.delete(key)` returned `result`: a Map's or Set's entry was removed (a write), or was found
 * absent (a read).
 */
export function entryDelete<T>(site: number, receiver: unknown, result: T, key: unknown): T {
  if (isMap(receiver) || isSet(receiver)) {
    if (result === true) recorder.writeKey(site, receiver, entryKey(key), undefined, AccessFlag.Delete);
    else recorder.readKey(site, receiver, entryKey(key), undefined);
  }
  return result;
}

/** `c.clear()`: a write of the Map's or Set's whole contents. */
export function clear<T>(site: number, receiver: unknown, result: T): T {
  if (isMap(receiver) || isSet(receiver)) {
    recorder.writeKey(site, receiver, ENTRIES, undefined, AccessFlag.Delete);
  }
  return result;
}

/** `c.forEach(f)`, `c.keys()`..., `for (x of c)`, `[...c]`: a read of a Map's or Set's whole contents. */
export function iterate<T>(site: number, receiver: unknown, result: T): T {
  if (isMap(receiver) || isSet(receiver)) recorder.readKey(site, receiver, ENTRIES, UNCAPTURED);
  return result;
}

/** `a.push(...)`, `a.unshift(...)` returned `result`, the new length: an update of the Array's `length`. */
export function arrayPush<T>(site: number, receiver: unknown, result: T): T {
  if (Array.isArray(receiver)) recorder.writeKey(site, receiver, 'length', result, AccessFlag.Update);
  return result;
}

/**
 * `a.pop()`, `shift`, `splice`: an update of the Array's `length` (its new value not captured:
 * reading it could run a proxy's trap).
 */
export function arrayResize<T>(site: number, receiver: unknown, result: T): T {
  if (Array.isArray(receiver)) recorder.writeKey(site, receiver, 'length', UNCAPTURED, AccessFlag.Update);
  return result;
}

/** `a.sort()`, `reverse`, `fill`: a write of the Array's whole contents. */
export function arrayReorder<T>(site: number, receiver: unknown, result: T): T {
  if (Array.isArray(receiver)) recorder.writeKey(site, receiver, ENTRIES, UNCAPTURED, 0);
  return result;
}
