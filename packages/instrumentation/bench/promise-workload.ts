// A promise-heavy workload: many short async call chains with awaits, as request handlers have.
// Prints one JSON line with the time of the measured part (after a warm-up), so that process
// start-up and instrumentation time are not counted.

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

async function batch(size: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < size; i += 100) {
    const results = await Promise.all(Array.from({ length: 100 }, (_, j) => handle(i + j)));
    for (const value of results) sum += value;
  }
  return sum;
}

await batch(20_000);
const start = performance.now();
const checksum = await batch(100_000);
console.log(JSON.stringify({ ms: performance.now() - start, checksum }));
