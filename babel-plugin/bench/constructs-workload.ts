// A workload of the constructs instrumented last: sync generators (a tokenizer feeding a
// parser), an async generator consumed with `for await`, destructuring into object properties
// and logical assignments. Prints one JSON line with the time of the measured part (after a
// warm-up) and a checksum.

interface Totals {
  count: number;
  sum: number;
  max?: number;
  label?: string;
}

function* tokens(text: string): Generator<string> {
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === ' ') {
      if (i > start) yield text.slice(start, i);
      start = i + 1;
    }
  }
}

function* numbers(text: string): Generator<number> {
  for (const token of tokens(text)) {
    const n = Number(token);
    if (!Number.isNaN(n)) yield n;
  }
}

async function* batches(texts: string[]): AsyncGenerator<number[]> {
  for (const text of texts) yield [...numbers(text)];
}

function record(totals: Totals, batch: number[]): void {
  const pair = { first: 0, rest: [] as number[] };
  [pair.first, ...pair.rest] = batch;
  ({ length: totals.count } = batch);
  totals.sum += pair.first;
  totals.max ??= pair.first;
  totals.max = Math.max(totals.max, ...pair.rest);
  totals.label ||= 'batch';
}

const texts = Array.from({ length: 200 }, (_, i) => `${i} x ${i * 3} ${i % 7} y ${i * i} z`);

async function run(rounds: number): Promise<number> {
  let checksum = 0;
  for (let round = 0; round < rounds; round++) {
    const totals: Totals = { count: 0, sum: 0 };
    for await (const batch of batches(texts)) record(totals, batch);
    checksum += totals.sum + (totals.max ?? 0) + totals.count;
  }
  return checksum;
}

await run(20);
const start = performance.now();
const checksum = await run(200);
console.log(JSON.stringify({ ms: performance.now() - start, checksum }));
