/**
 * Values the runtime captured in Read and Write records (docs/event-format.md, "Values"): the
 * value tag in the record's flags says what the 64-bit b field holds.
 */

import { ValueTag } from './format/event-format.ts';
import type { StringIndex } from './strings.ts';

/**
 * A captured value as data: the number, `undefined`, `null`, `false` or `true` for those tags; the
 * object's id (per stream) or the string's id (in the stream's string table) for Object and String;
 * `undefined` when the runtime did not capture it (tag None).
 */
export type CapturedValue = number | boolean | null | undefined;

const f64Scratch = new Float64Array(1);
const u32Scratch = new Uint32Array(f64Scratch.buffer);

export function f64FromWords(low: number, high: number): number {
  u32Scratch[0] = low;
  u32Scratch[1] = high;
  return f64Scratch[0] as number;
}

export function u64FromWords(low: number, high: number): number {
  return low + high * 2 ** 32;
}

/** b's two little-endian u32 words, read under `tag`. */
export function decodeValue(tag: ValueTag, low: number, high: number): CapturedValue {
  switch (tag) {
    case ValueTag.Number:
      return f64FromWords(low, high);
    case ValueTag.Null:
      return null;
    case ValueTag.False:
      return false;
    case ValueTag.True:
      return true;
    case ValueTag.Object:
    case ValueTag.String:
      return u64FromWords(low, high);
    default:
      // Undefined, and None (not captured): the tag tells them apart.
      return undefined;
  }
}

/** A captured value as source text (`100`, `"pending"`, `object #3`, `undefined`); null when not captured. */
export function renderValue(
  strings: StringIndex,
  stream: number,
  tag: ValueTag,
  value: CapturedValue,
): string | null {
  switch (tag) {
    case ValueTag.Number:
      return Object.is(value, -0) ? '-0' : String(value);
    case ValueTag.Undefined:
    case ValueTag.Null:
    case ValueTag.False:
    case ValueTag.True:
      return String(value);
    case ValueTag.Object:
      return `object #${value}`;
    case ValueTag.String: {
      const text = strings.string(stream, value as number);
      return text === null ? `string #${value}` : JSON.stringify(text);
    }
    default:
      return null;
  }
}
