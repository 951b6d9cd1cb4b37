// Cost of the stream wrappers (src/runtime/streams.ts): N emits of 'data' with one listener on a
// Readable, with Node's own emit and through the wrapper, in alternating rounds in one process:
// a stream no task noted (what every other stream pays), a noted stream emitting inside the
// current task, and a noted stream emitting from the event loop (a callback task per emit). Run
// by bench/run.ts; prints one JSON line (ns per emit, medians).

import { Readable } from 'node:stream';
import { Recorder } from '../src/runtime/recorder.ts';
import { installStreams } from '../src/runtime/streams.ts';

const EMITS = 200_000;
const ROUNDS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

type Emit = (this: Readable, type: string, chunk: unknown) => boolean;

function measure(emit: Emit, stream: Readable): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < EMITS; i++) emit.call(stream, 'data', i);
  return Number(process.hrtime.bigint() - start) / EMITS;
}

const plainEmit = Readable.prototype.emit as Emit;
// The async id source is a variable: 1 is the current task's, 2 an I/O callback's.
let asyncId = 1;
const recorder = new Recorder(1 << 22, performance, () => asyncId);
installStreams(recorder, { enabled: true });
const wrappedEmit = Readable.prototype.emit as Emit;

let sum = 0;
const listener = (chunk: unknown): void => {
  sum += chunk as number;
};
const stream = (noted: boolean): Readable => {
  const s = new Readable({ read() {} });
  // Added in the current task: noted. Outside it (asyncId 2): not.
  asyncId = noted ? 1 : 2;
  s.on('data', listener);
  s.pause();
  asyncId = 1;
  return s;
};

const cases = {
  notNoted: [stream(false), 1],
  notedInTask: [stream(true), 1],
  notedFromLoop: [stream(true), 2],
} as const;
const result: Record<string, number> = { emits: EMITS, rounds: ROUNDS };
let records = 0;
for (const [name, [s, id]] of Object.entries(cases)) {
  const plainNs: number[] = [];
  const wrappedNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plainNs.push(measure(plainEmit, s));
    recorder.resume(1, round + 1);
    asyncId = id;
    wrappedNs.push(measure(wrappedEmit, s));
    asyncId = 1;
    records += recorder.ring.drain(() => {});
  }
  result[`${name}PlainNs`] = median(plainNs);
  result[`${name}WrappedNs`] = median(wrappedNs);
}
result.records = records;
result.checksum = sum > 0 ? 1 : 0;
console.log(JSON.stringify(result));
