// A promise-heavy workload: many short async call chains with awaits, as request handlers have.
// Prints one JSON line with the time of the measured part (after a warm-up), so that process
// start-up and instrumentation time are not counted.

import { batch } from './orders.ts';

await batch(20_000);
const start = performance.now();
const checksum = await batch(100_000);
console.log(JSON.stringify({ ms: performance.now() - start, checksum }));
