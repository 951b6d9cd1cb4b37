// Helpers for the interceptor tests: a recorder of its own, and its records read back with the
// strings they name.

import { executionAsyncId } from 'node:async_hooks';
import { decodeRecords, type RecordFields } from '@causeway/core/event-format';
import { Recorder } from '../src/runtime/recorder.ts';

export interface Recorded {
  records: RecordFields[];
  /** The string of a string-table id (ids from 1). */
  string(id: number): string | undefined;
}

export function newRecorder(): Recorder {
  return new Recorder(1 << 14, performance, executionAsyncId);
}

/** Everything the recorder has written so far (the strings accumulate across calls). */
export function reader(recorder: Recorder): () => Recorded {
  const strings: string[] = [];
  const records: RecordFields[] = [];
  return () => {
    recorder.ring.drain((bytes) => records.push(...decodeRecords(bytes.slice())));
    const taken = recorder.strings.take();
    if (taken !== null) strings.push(...taken.strings);
    return { records: [...records], string: (id) => strings[id - 1] };
  };
}

export const low = (a: number): number => a % 2 ** 32;
export const high = (a: number): number => Math.floor(a / 2 ** 32);
