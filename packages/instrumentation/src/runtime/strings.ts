/**
 * The stream's string table (docs/event-format.md, "Locations"): property keys and captured
 * string values, each interned once and named in records by a small id. New entries are handed to
 * the trace output in order, so a reader always sees an id's string before or with its records.
 *
 * Bounded: keys and values each have a budget, so a program that uses unique strings (ids, UUIDs)
 * as keys or values cannot grow the table without limit. Past the budget, new keys are not
 * recorded and new string values are not captured; already interned ones still are.
 */

import { ARRAY_INDEX_KEY } from '@causeway/core/event-format';

/** Distinct property keys a stream interns before it stops recording accesses to new ones. */
export const MAX_KEYS = 1 << 16;
/** Distinct string values a stream captures before it stops capturing new ones. */
export const MAX_STRING_VALUES = 1 << 16;
/**
 * Values the interceptors capture (CAUSEWAY_CAPTURE: header blocks, bodies, rows) a stream
 * records. They have a budget of their own, so they never use up the one of program values.
 */
export const MAX_CAPTURES = 1 << 20;
/** Longest string value captured, in UTF-16 code units; longer ones are recorded as not captured. */
export const MAX_STRING_VALUE_LENGTH = 256;

/**
 * Words that make a key secret: its values look like credentials or personal data. Matched as
 * whole words of the key, so `accessToken`, `x-auth-token` and `card_number` are secret while
 * `author` and `cardinality` are not.
 */
const SECRET_WORD =
  /(?:^|_)(?:pass(?:word|wd|phrase)?|secret|token|auth(?:orization)?|cookie|session(?:_?id)?|credentials?|api_?key|private_?key|card(?:_?number)?|cvv|cvc|pin|ssn|iban)(?:_|$)/;

/** What replaces the value of a secret-looking key wherever one is recorded (event data, captures). */
export const REDACTED = '[redacted]';

export function isSecretKey(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_');
  return SECRET_WORD.test(words);
}

/** An array index as a property key: the canonical decimal form of an integer 0..2^31-1. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

export class StringTable {
  readonly #ids = new Map<string | symbol, number>();
  /** Entries not yet taken; the table keeps no other copy (#ids aside). */
  #pending: string[] = [];
  #size = 0;
  #keys = 0;
  #values = 0;
  #captures = 0;
  /** 1 at a key id whose values must not be captured. Grows with the table. */
  #secret = new Uint8Array(1024);

  /** Strings interned so far (ids 1..size). */
  get size(): number {
    return this.#size;
  }

  /** The key id of a property named by source text (a site's name), or 0 when over budget. */
  keyOfName(name: string): number {
    return ARRAY_INDEX.test(name) && Number(name) < ARRAY_INDEX_KEY
      ? ARRAY_INDEX_KEY + Number(name)
      : this.#internKey(name, name);
  }

  /**
   * The key id of a computed key, or 0 when it is not recorded: over budget, or an object whose
   * conversion to a key could run user code (a toString) a second time.
   */
  keyOf(key: unknown): number {
    switch (typeof key) {
      case 'string': {
        // A string of digits may be an array index, which must get the index's key whatever the
        // table already holds under that text (a captured value '7' is not the key '7').
        const first = key.charCodeAt(0);
        if (first >= 48 && first <= 57) return this.keyOfName(key);
        return this.#ids.get(key) ?? this.#internKey(key, key);
      }
      case 'number':
        return Number.isInteger(key) && key >= 0 && key < ARRAY_INDEX_KEY
          ? ARRAY_INDEX_KEY + key
          : this.#internKey(key, String(key));
      case 'symbol':
        // Looked up first: the description is built (and Symbol.prototype.toString run) only once.
        return this.#ids.get(key) ?? this.#internKey(key, key.toString());
      case 'boolean':
      case 'undefined':
        return this.#internKey(String(key), String(key));
      case 'bigint':
        return this.keyOfName(String(key));
      default:
        return key === null ? this.#internKey('null', 'null') : 0;
    }
  }

  /** Is the key id one whose values are redacted? */
  isSecret(keyId: number): boolean {
    return keyId < this.#secret.length && this.#secret[keyId] === 1;
  }

  /** The id of a captured string value, or 0 when it is not captured (too long, over budget). */
  valueOf(value: string): number {
    const known = this.#ids.get(value);
    if (known !== undefined) return known;
    if (value.length > MAX_STRING_VALUE_LENGTH || this.#values >= MAX_STRING_VALUES) return 0;
    this.#values++;
    return this.#add(value, value);
  }

  /**
   * The id of a value an interceptor captured (a JSON text), or 0 when it is not captured (longer
   * than `maxLength`, over MAX_CAPTURES). Not interned: such values are rarely repeated, so the
   * table does not keep them once taken.
   */
  capture(value: string, maxLength: number): number {
    if (value.length > maxLength || this.#captures >= MAX_CAPTURES) return 0;
    this.#captures++;
    this.#pending.push(value);
    return ++this.#size;
  }

  /** The id (from 1) of the first entry not yet taken, and the entries added since the last call. */
  take(): { first: number; strings: string[] } | null {
    if (this.#pending.length === 0) return null;
    const strings = this.#pending;
    this.#pending = [];
    return { first: this.#size - strings.length + 1, strings };
  }

  /** A key's id; a number key is interned under its number, so `o[1.5]` and `o['1.5']` agree. */
  #internKey(key: string | number | symbol, name: string): number {
    const lookup = typeof key === 'number' ? name : key;
    const known = this.#ids.get(lookup);
    if (known !== undefined) return known;
    if (this.#keys >= MAX_KEYS) return 0;
    this.#keys++;
    return this.#add(lookup, name);
  }

  /** Every new string is checked once, so a value later used as a key is still redacted. */
  #add(lookup: string | symbol, name: string): number {
    this.#pending.push(name);
    const id = ++this.#size;
    this.#ids.set(lookup, id);
    if (isSecretKey(name)) this.#markSecret(id);
    return id;
  }

  #markSecret(id: number): void {
    if (id >= this.#secret.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.#secret.length * 2));
      grown.set(this.#secret);
      this.#secret = grown;
    }
    this.#secret[id] = 1;
  }
}
