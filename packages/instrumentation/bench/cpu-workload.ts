// A CPU-bound workload: no awaits, the kind of code a service runs between I/O (parsing,
// validation, lookups in in-memory maps, sorting). Object property reads and writes, a Map
// cache, array pushes and a closure counter. Prints one JSON line with the time of the measured
// part (after a warm-up).

interface Item {
  sku: string;
  quantity: number;
  price: number;
}

let parsedLines = 0;
const priceCache = new Map<string, number>();

function parseLine(line: string): Item {
  parsedLines += 1;
  const [sku = '', quantity = '0', price = '0'] = line.split(',');
  return { sku, quantity: Number(quantity), price: Number(price) };
}

function unitPrice(item: Item): number {
  const cached = priceCache.get(item.sku);
  if (cached !== undefined) return cached;
  const price = Math.round(item.price * 1.2 * 100) / 100;
  priceCache.set(item.sku, price);
  return price;
}

function summarise(lines: string[]): { total: number; top: Item[] } {
  const items: Item[] = [];
  let total = 0;
  for (const line of lines) {
    const item = parseLine(line);
    if (item.quantity <= 0) continue;
    total += unitPrice(item) * item.quantity;
    items.push(item);
  }
  items.sort((a, b) => b.price * b.quantity - a.price * a.quantity);
  return { total, top: items.slice(0, 10) };
}

const lines = Array.from({ length: 2_000 }, (_, i) => `sku-${i % 500},${(i * 7) % 13},${(i * 31) % 997}.5`);

function run(rounds: number): number {
  let checksum = 0;
  for (let i = 0; i < rounds; i++) checksum += summarise(lines).total;
  return checksum;
}

run(10);
const start = performance.now();
const checksum = run(60);
console.log(JSON.stringify({ ms: performance.now() - start, checksum, parsedLines }));
