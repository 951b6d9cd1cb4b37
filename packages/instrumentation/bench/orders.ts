// The promise-heavy work of promise-workload.ts and memory-workload.ts: many short async call
// chains with awaits, as request handlers have. bench/run.ts copies it next to them, out of this
// package, so that register instruments it.

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

/** Handles `size` orders, 100 at a time; returns their checksum. */
export async function batch(size: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < size; i += 100) {
    const results = await Promise.all(Array.from({ length: 100 }, (_, j) => handle(i + j)));
    for (const value of results) sum += value;
  }
  return sum;
}
