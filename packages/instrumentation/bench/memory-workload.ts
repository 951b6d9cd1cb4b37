// Memory of a recording process: `node [--import register] memory-workload.ts <calls>` runs the
// promise-heavy workload's handled calls (bench/promise-workload.ts) `calls` times, then prints
// one JSON line: resident memory, heap, and, when Causeway records, the records written so far and
// the ring's bytes per record. Run by bench/run.ts; the workload file is copied out of this
// package first, so that register instruments it.

interface Order {
  id: number;
  total: number;
}

async function loadOrder(id: number): Promise<Order> {
  await null;
  return { id, total: id % 97 };
}

async function priceOrder(order: Order): Promise<number> {
  const tax = await Promise.resolve(order.total * 0.2);
  return order.total + tax;
}

async function handle(id: number): Promise<number> {
  const order = await loadOrder(id);
  return await priceOrder(order);
}

const calls = Number(process.argv[2] ?? 1000);
let sum = 0;
for (let i = 0; i < calls; i += 100) {
  const results = await Promise.all(Array.from({ length: 100 }, (_, j) => handle(i + j)));
  for (const value of results) sum += value;
}
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
