// Memory of a recording process: `node [--import register] memory-workload.ts <calls>` runs the
// promise-heavy workload's handled calls (bench/promise-workload.ts) `calls` times, then prints
// one JSON line: resident memory, heap, and, when Causeway records, the records written so far and
// the ring's bytes per record. Run by bench/run.ts; the workload file is copied out of this
// package first (with orders.ts), so that register instruments it.

import { batch } from './orders.ts';

const calls = Number(process.argv[2] ?? 1000);
const sum = await batch(calls);
// Let the trace output drain the ring (every 100 ms) before measuring.
await new Promise((resolve) => setTimeout(resolve, 250));
globalThis.gc?.();

interface Published {
  session: { recorder: { sequence: number; ring: { capacity: number; buffer: SharedArrayBuffer } } };
}
const published = (globalThis as Record<symbol, unknown>)[Symbol.for('causeway.session')] as
  | Published
  | undefined;
const recorder = published?.session.recorder;
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    calls,
    checksum: sum,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    records: recorder?.sequence ?? 0,
    ringBytes: recorder?.ring.buffer.byteLength ?? 0,
    ringRecords: recorder?.ring.capacity ?? 0,
  }),
);
