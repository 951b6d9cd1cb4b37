// `npm run bench:core`: the WebAssembly core's throughput in Node — ingest, clocks and race
// detection together — on synthetic traces of 1 M records at concurrency widths 2, 10, 100 and
// 1,000, and its memory per record. The same two program shapes as the native benchmark
// (crates/causeway-core/examples/race_bench.rs), so the two can be read side by side:
//
// - workers: `width` async loops started by the first task, each awaiting in a loop; every
//   iteration touches its own object and reads then updates one shared counter.
// - requests: request handlers, tasks with no recorded cause that await twice, at most `width` in
//   flight; each touches its own object and the shared counter.
//
// Records are generated before timing and ingested in batches of 4,096, as the drain does. Each
// trace is ingested RUNS times into a fresh CausalTrace; the fastest run is reported.
//
//     node packages/core/bench/core-bench.ts [records] [width ...]

import { readFileSync } from 'node:fs';
import { AccessFlag, CausalTrace, EventKind, instantiateCore, RECORD_SIZE, ValueTag } from '../src/index.ts';

const WASM = new WebAssembly.Module(readFileSync(new URL('../wasm/causeway_core.wasm', import.meta.url)));

const RUNS = 3;
const BATCH_RECORDS = 4096;
const COUNTER = 1 + 2 ** 32;
const CONFIG = 2 + 2 ** 32;
const PRIVATE_BASE = 1000;

class Writer {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  count = 0;
  #seq = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity * RECORD_SIZE);
    this.#view = new DataView(this.bytes.buffer);
  }

  get full(): boolean {
    return this.count * RECORD_SIZE + 16 * RECORD_SIZE > this.bytes.byteLength;
  }

  push(kind: number, flags: number, task: number, site: number, a: number, b: number, float = false): void {
    const at = this.count++ * RECORD_SIZE;
    const v = this.#view;
    v.setUint8(at, kind);
    v.setUint8(at + 1, flags);
    v.setUint32(at + 4, this.#seq++, true);
    v.setUint32(at + 8, task, true);
    v.setUint32(at + 12, site, true);
    v.setUint32(at + 16, a % 2 ** 32, true);
    v.setUint32(at + 20, Math.floor(a / 2 ** 32), true);
    if (float) v.setFloat64(at + 24, b, true);
    else v.setBigUint64(at + 24, BigInt(b), true);
  }

  number(kind: number, flags: number, task: number, site: number, location: number, value: number): void {
    this.push(kind, flags | ValueTag.Number, task, site, location, value, true);
  }

  iteration(task: number, flow: number, round: number): void {
    const own = PRIVATE_BASE + flow + 2 ** 32;
    this.push(EventKind.FnEnter, 0, task, 20, 0, 0);
    this.number(EventKind.Read, 0, task, 10, own, round);
    this.number(EventKind.Write, 0, task, 11, own, round + 1);
    this.number(EventKind.Read, 0, task, 12, COUNTER, round);
    this.number(EventKind.Write, AccessFlag.Update, task, 13, COUNTER, round + 1);
    this.push(EventKind.FnExit, 0, task, 20, 0, 0);
  }

  records(): Uint8Array {
    return this.bytes.subarray(0, this.count * RECORD_SIZE);
  }
}

/** xorshift64*, so every run measures the same trace. */
function rng(seed: bigint): (bound: number) => number {
  let x = seed;
  const mask = (1n << 64n) - 1n;
  return (bound) => {
    x ^= x >> 12n;
    x = (x ^ (x << 25n)) & mask;
    x ^= x >> 27n;
    return Number(((x * 0x2545f4914f6cdd1dn) & mask) % BigInt(bound));
  };
}

function workers(width: number, records: number): Uint8Array {
  const w = new Writer(records);
  const below = rng(0x5eedn);
  w.push(EventKind.TaskBegin, 0, 1, 0, 0, 0, true);
  const suspended = Array.from({ length: width }, (_, i) => i + 1);
  for (const invocation of suspended) {
    w.push(EventKind.FnEnter, 0, 1, 30, invocation, 0);
    w.push(EventKind.AwaitSuspend, 0, 1, 31, invocation, 0);
  }
  let task = 1;
  let round = 0;
  while (!w.full) {
    const at = below(suspended.length);
    const invocation = suspended[at] as number;
    suspended[at] = suspended[suspended.length - 1] as number;
    suspended.pop();
    task++;
    round++;
    w.push(EventKind.AwaitResume, 0, task, 31, invocation, round, true);
    w.iteration(task, invocation, round);
    w.number(EventKind.Read, 0, task, 14, CONFIG, 7);
    w.push(EventKind.AwaitSuspend, 0, task, 31, invocation, 0);
    suspended.push(invocation);
  }
  return w.records();
}

function requests(width: number, records: number): Uint8Array {
  const w = new Writer(records);
  const below = rng(0x1a7en);
  const inFlight: [number, number][] = [];
  let task = 0;
  let next = 1;
  while (!w.full) {
    task++;
    if (inFlight.length < width && (inFlight.length === 0 || below(2) === 0)) {
      const invocation = next++;
      w.push(EventKind.TaskBegin, 0, task, 40, 0, task, true);
      w.push(EventKind.FnEnter, 0, task, 30, invocation, 0);
      w.iteration(task, invocation, 0);
      w.push(EventKind.AwaitSuspend, 0, task, 31, invocation, 0);
      inFlight.push([invocation, 2]);
    } else {
      const at = below(inFlight.length);
      const entry = inFlight[at] as [number, number];
      w.push(EventKind.AwaitResume, 0, task, 31, entry[0], task, true);
      w.iteration(task, entry[0], 3 - entry[1]);
      if (entry[1] > 1) {
        w.push(EventKind.AwaitSuspend, 0, task, 31, entry[0], 0);
        entry[1]--;
      } else {
        w.push(EventKind.FnExit, 0, task, 30, entry[0], 0);
        inFlight[at] = inFlight[inFlight.length - 1] as [number, number];
        inFlight.pop();
      }
    }
  }
  return w.records();
}

const [recordsArg, ...widthArgs] = process.argv.slice(2);
const RECORDS = Number(recordsArg ?? 1_000_000);
const WIDTHS = widthArgs.length > 0 ? widthArgs.map(Number) : [2, 10, 100, 1000];

interface Row {
  shape: string;
  width: number;
  records: number;
  eventsPerSecond: number;
  bytesPerRecord: number;
  findings: number;
}
const rows: Row[] = [];
for (const [shape, generate] of [
  ['workers', workers],
  ['requests', requests],
] as const) {
  for (const width of WIDTHS) {
    const bytes = generate(width, RECORDS);
    const count = bytes.byteLength / RECORD_SIZE;
    let best = Number.POSITIVE_INFINITY;
    let grown = 0;
    let findings = 0;
    for (let run = 0; run < RUNS; run++) {
      // A fresh instance per run: its memory starts small and grows only for this trace.
      const core = instantiateCore(WASM);
      const before = core.memory.buffer.byteLength;
      const trace = CausalTrace.create(core);
      const start = performance.now();
      for (let at = 0; at < bytes.byteLength; at += BATCH_RECORDS * RECORD_SIZE) {
        trace.ingest(1, bytes.subarray(at, Math.min(bytes.byteLength, at + BATCH_RECORDS * RECORD_SIZE)));
      }
      best = Math.min(best, performance.now() - start);
      // WebAssembly memory only grows, in 64 KiB pages: what the trace needed, page-rounded.
      grown = core.memory.buffer.byteLength - before;
      findings = trace.findings().length;
      trace.dispose();
    }
    rows.push({
      shape,
      width,
      records: count,
      eventsPerSecond: Math.round(count / (best / 1000)),
      bytesPerRecord: Math.round(grown / count),
      findings,
    });
  }
}
console.log('shape     width   records   events/s (WASM)   memory grown per record');
for (const r of rows) {
  console.log(
    `${r.shape.padEnd(9)} ${String(r.width).padStart(5)} ${String(r.records).padStart(9)}   ${(r.eventsPerSecond / 1e6).toFixed(2).padStart(7)} M/s       ${String(r.bytesPerRecord).padStart(4)} B`,
  );
}
console.log(JSON.stringify({ rows }));
