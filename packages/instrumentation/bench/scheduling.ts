// Cost of the scheduling wrappers (src/runtime/scheduling.ts): N callbacks scheduled and run
// through setTimeout(f, 0), process.nextTick and promise `then`, plain and wrapped, in alternating
// rounds in one process. Run by bench/run.ts; prints one JSON line (ns per callback, medians).

import { EventKind } from '@causeway/core/event-format';
import { Recorder } from '../src/runtime/recorder.ts';
import { installScheduling } from '../src/runtime/scheduling.ts';

const CALLBACKS = 50_000;
const ROUNDS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

type Schedule = (callback: () => void) => void;

/** ns per callback to schedule CALLBACKS callbacks with `schedule` and see them all run. */
function measure(schedule: Schedule): Promise<number> {
  return new Promise((resolve) => {
    let left = CALLBACKS;
    const start = process.hrtime.bigint();
    const done = (): void => {
      if (--left === 0) resolve(Number(process.hrtime.bigint() - start) / CALLBACKS);
    };
    for (let i = 0; i < CALLBACKS; i++) schedule(done);
  });
}

const plainTimeout = globalThis.setTimeout;
const plainTick = process.nextTick;
const plainThen = Promise.prototype.then;
// The recorder's async id source is constant: each round starts in a task (`resume`), as
// instrumented code scheduling callbacks would be.
const recorder = new Recorder(1 << 22, performance, () => 1);
installScheduling(recorder);
const wrappedTimeout = globalThis.setTimeout;
const wrappedTick = process.nextTick;
const wrappedThen = Promise.prototype.then;
const resolved = Promise.resolve();

const kinds = {
  setTimeout: [(f: () => void) => plainTimeout(f, 0), (f: () => void) => wrappedTimeout(f, 0)],
  nextTick: [(f: () => void) => plainTick(f), (f: () => void) => wrappedTick(f)],
  promiseThen: [
    (f: () => void) => plainThen.call(resolved, f),
    (f: () => void) => wrappedThen.call(resolved, f),
  ],
} as const;

const result: Record<string, number> = { callbacks: CALLBACKS, rounds: ROUNDS };
let records = 0;
for (const [name, [plain, wrapped]] of Object.entries(kinds)) {
  const plainNs: number[] = [];
  const wrappedNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plainNs.push(await measure(plain));
    recorder.resume(1, round + 1);
    wrappedNs.push(await measure(wrapped));
    records += recorder.ring.drain(() => {});
  }
  result[`${name}PlainNs`] = median(plainNs);
  result[`${name}WrappedNs`] = median(wrappedNs);
}
result.recordsPerCallback = records / (3 * ROUNDS * CALLBACKS);
result.callbackBeginKind = EventKind.CallbackBegin;
console.log(JSON.stringify(result));
