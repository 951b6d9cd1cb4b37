// A construct the plugin cannot rewrite is left as written, with a warning naming its
// file:line:col, and the rest of the file is instrumented; the output still runs as the input
// does. The failure is injected with the plugin's failConstructs test option (guard.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteKind } from '@causeway/core/event-format';
import type { Construct } from '../src/guard.ts';
import { importModule, instrumentResult, type ProbeCall, sitesOf, trail } from './helpers.ts';

/** A program that exercises every construct the plugin rewrites. */
const PROGRAM = `
let shared = 0;
const cache = new Map();
const o = { p: 1, q: [1, 2], k: 'p' };
class Account {
  balance = o.p + 1;
  get twice() { return this.balance * 2; }
  set twice(v) { this.balance = v / 2; }
}
function* steps(n) { try { for (let i = 0; i < n; i++) yield i; } finally { shared++; } }
async function* ticks(n) { for (let i = 0; i < n; i++) { await null; yield i; } }
async function work(key) {
  const seen = [];
  for (const x of steps(3)) seen.push(x);
  for await (const t of ticks(2)) seen.push(t);
  if (!cache.has(key)) cache.set(key, await Promise.resolve(o[o.k]));
  o.p += await Promise.resolve(1);
  [o.q[0], shared] = [o.p, shared + 1];
  for (o.k in { p: 1 }) seen.push(o.k);
  delete o.gone;
  o.q.push(...seen);
  try { await Promise.reject(new Error('no')); } catch (e) { seen.push(e.message); } finally { shared++; }
  const a = new Account();
  a.twice = 10;
  seen.push(a.twice, (() => shared)());
  return [seen, cache.get(key), o, shared, [...cache]];
}
function withDefault(x = o.q.length) { return x; }
export async function run() { return JSON.stringify([await work('a'), withDefault()]); }
`;

const CONSTRUCTS: Construct[] = [
  'function',
  'class field',
  'parameter default',
  'await',
  'yield',
  'for await',
  'catch',
  'finally',
  'property read',
  'property write',
  'destructuring',
  'loop head',
  'variable access',
  'collection call',
  'iteration',
];

async function runWith(failConstructs: Construct[]) {
  const result = instrumentResult(PROGRAM, 'input.mjs', 'module', { failConstructs });
  const log: ProbeCall[] = [];
  (globalThis as { __probeLog?: ProbeCall[] }).__probeLog = log;
  const exports = await importModule(result.code);
  const value = await (exports.run as () => Promise<string>)();
  return { value, log, warnings: result.warnings, code: result.code };
}

describe('a construct the plugin cannot rewrite', () => {
  it('is left as written with a file:line:col warning, and the file still runs as before', async () => {
    const plain = await ((await importModule(PROGRAM)).run as () => Promise<string>)();
    for (const construct of CONSTRUCTS) {
      const { value, log, warnings } = await runWith([construct]);
      assert.equal(value, plain, `${construct}: the program's result changed`);
      assert.ok(warnings.length > 0, `${construct}: no warning`);
      for (const warning of warnings) {
        assert.match(
          warning,
          new RegExp(`^input\\.mjs:\\d+:\\d+: ${construct} left uninstrumented: failure injected`),
        );
      }
      assert.ok(log.length > 1, `${construct}: nothing else was recorded`);
    }
  });

  it('points each warning at the construct, and instruments the others', async () => {
    const { warnings, log } = await runWith(['property read', 'variable access']);
    // `o.p` of `balance = o.p + 1` (line 6, column 13) is one of them.
    assert.ok(
      warnings.some((w) => w.startsWith('input.mjs:6:13: property read')),
      warnings.join('\n'),
    );
    const steps = trail(log);
    // The reads of `balance = o.p + 1` (line 6) and of `o.k` have no site; with nothing
    // injected, they have.
    const reads = (table: ReturnType<typeof sitesOf>) =>
      table.sites.filter((row) => row[0] === SiteKind.Read).map((row) => `${row[1]} ${row[4]}`);
    assert.ok(!reads(sitesOf(log)).some((read) => read.startsWith('6 ') || read.endsWith(' k')));
    const clean = await runWith([]);
    assert.ok(reads(sitesOf(clean.log)).includes('6 p') && reads(sitesOf(clean.log)).includes('16 k'));
    assert.ok(
      steps.some((s) => s.startsWith('write:')),
      'writes are still instrumented',
    );
  });

  it('keeps the awaits of a function whose own rewrite failed, on an invocation of their own', async () => {
    const { log, code } = await runWith(['function']);
    const steps = trail(log);
    assert.ok(!steps.some((s) => /^(enter|enterAsync|exit|threw):/.test(s)), steps.join(' '));
    assert.ok(steps.some((s) => s.startsWith('invocation:')));
    assert.ok(steps.some((s) => s.startsWith('suspend:')) && steps.some((s) => s.startsWith('resume:')));
    assert.match(code, /_cwInvocation\d* = _cw\.invocation\(\)/);
    // The sync generator's yields are put back as written: no slices without their function.
    assert.ok(!steps.some((s) => /^(yielded|resumed|reentered):/.test(s)), steps.join(' '));
    assert.doesNotMatch(code, /_cwSuspended/);
  });

  it('warns with nothing injected only when something failed: a clean file has no warnings', () => {
    assert.deepEqual(instrumentResult(PROGRAM, 'input.mjs').warnings, []);
  });
});
