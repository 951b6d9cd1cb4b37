/**
 * Turns the ids of a stream's string table back into strings: property keys of locations and
 * captured string values (docs/event-format.md, "Locations").
 */

import { ARRAY_INDEX_KEY } from './format/event-format.ts';
import type { StringsChunk } from './format/trace-file.ts';

export class StringIndex {
  readonly #byStream = new Map<number, string[]>();

  /** `chunks` in file order; each stream's chunks continue each other (the reader checks it). */
  constructor(chunks: readonly StringsChunk[]) {
    for (const chunk of chunks) {
      let list = this.#byStream.get(chunk.stream);
      if (list === undefined) {
        list = [];
        this.#byStream.set(chunk.stream, list);
      }
      list.push(...chunk.strings);
    }
  }

  /** String `id` (from 1) of `stream`, or null when the table has no such entry. */
  string(stream: number, id: number): string | null {
    return this.#byStream.get(stream)?.[id - 1] ?? null;
  }

  /** The property a key id names, as source would spell it after the object: `.balance`, `[3]`. */
  keyName(stream: number, keyId: number): string {
    if (keyId >= ARRAY_INDEX_KEY) return `[${keyId - ARRAY_INDEX_KEY}]`;
    const key = this.string(stream, keyId);
    if (key === null) return `[key ${keyId}]`;
    return /^[A-Za-z_$#][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
}
