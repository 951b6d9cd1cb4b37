// Happens-before through the promise combinators (`Promise.all`, `allSettled`, `any`, `race`):
// the code after `await` of a combinator descends from every input that had settled when it
// resumed, and stays concurrent with the inputs still running (no order is invented).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from './recorded-program.ts';

// Each input is an async function that waits `ms`, then writes its number. The slow inputs wait
// long enough (200 ms) that they are still running when the combinator's continuation starts.
const PROGRAM = [
  'const o = { all: 0, settled: 0, any: 0, race: 0, after: 0 };',
  'const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));',
  'async function put(key: keyof typeof o, value: number, ms: number, fail = false): Promise<number> {',
  '  await sleep(ms);',
  '  o[key] = value;',
  "  if (fail) throw new Error('input failed');",
  '  return value;',
  '}',
  'async function main(): Promise<void> {',
  "  await Promise.all([put('all', 1, 1), put('all', 2, 3)]);",
  '  o.after = 3;',
  "  await Promise.allSettled([put('settled', 4, 1, true), put('settled', 5, 3)]);",
  '  o.after = 6;',
  "  await Promise.any([put('any', 7, 1, true), put('any', 8, 2), put('any', 9, 200)]);",
  '  o.after = 10;',
  "  await Promise.race([put('race', 11, 1), put('race', 12, 200)]);",
  '  o.after = 13;',
  '}',
  'await main();',
].join('\n');

describe('promise combinators', () => {
  const r = run(PROGRAM);
  const before = (a: number, b: number) =>
    assert.ok(
      r.happensBefore(r.taskWriting(a), r.taskWriting(b)),
      `the write of ${a} happens before the write of ${b}`,
    );
  const concurrent = (a: number, b: number) =>
    assert.ok(r.concurrent(r.taskWriting(a), r.taskWriting(b)), `the writes of ${a} and ${b} are concurrent`);

  it('orders the code after Promise.all after every input', () => {
    before(1, 3);
    before(2, 3);
    concurrent(1, 2);
  });

  it('orders the code after Promise.allSettled after every input, the rejected one too', () => {
    before(4, 6);
    before(5, 6);
    before(3, 4);
  });

  it('orders the code after Promise.any after the inputs that settled, not after the one still running', () => {
    before(7, 10);
    before(8, 10);
    concurrent(9, 10);
    before(6, 9);
  });

  it('orders the code after Promise.race after its winner, not after the input still running', () => {
    before(11, 13);
    concurrent(12, 13);
    concurrent(9, 13);
  });
});
