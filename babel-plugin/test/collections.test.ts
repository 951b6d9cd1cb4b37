// Built-in collections' methods: the call is the original one (same receiver, `this`, lookups,
// arguments in the same order, same result), followed by one probe call naming the method's site,
// the receiver, the result and, for keyed methods, the key (and the value of `set`).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteKind } from '@causeway/core/event-format';
import type { InstrumentOptions } from '../src/options.ts';
import { importModule, instrument, type ProbeCall, runInstrumented, sitesOf, trail } from './helpers.ts';

async function both(
  code: string,
  options: InstrumentOptions = {},
): Promise<{ plain: unknown; instrumented: unknown; log: ProbeCall[]; exports: Record<string, unknown> }> {
  const plain = await ((await importModule(code)).run as () => unknown)();
  const { exports, log } = await runInstrumented(code, 'input.mjs', options);
  const instrumented = await (exports.run as () => unknown)();
  return { plain, instrumented, log, exports };
}

const COLLECTION_PROBE =
  /^(readSize|mapGet|has|mapSet|setAdd|entryDelete|clear|iterate|arrayPush|arrayResize|arrayReorder)$/;
const WRITING_PROBE = /^(mapSet|setAdd|entryDelete|clear|arrayPush|arrayResize|arrayReorder)$/;

/**
 * The collection probe calls of `log` as `name:args...` without their site (`out.push` calls on
 * the test's own `out` array are dropped), after checking that each site's kind is Write for the
 * writing methods and Read for the others.
 */
function collectionCalls(log: ProbeCall[], names: Map<unknown, string>, out?: unknown): string[] {
  const table = sitesOf(log);
  const calls = log.filter(([name, , receiver]) => COLLECTION_PROBE.test(name) && receiver !== out);
  for (const [name, site] of calls) {
    const kind = table.sites[Number(site) - 100]?.[0];
    assert.equal(kind, WRITING_PROBE.test(name) ? SiteKind.Write : SiteKind.Read, `site kind of ${name}`);
  }
  return trail(calls, names).map((line) => line.replace(/:s\d+/, ''));
}

describe('collections', () => {
  it('reports Map and Set calls with their receivers, keys, values and results', async () => {
    const { plain, instrumented, log, exports } = await both(`
      export const m = new Map();
      export const s = new Set();
      export const out = [];
      export const key = { id: 1 };
      export function run() {
        out.push(m.set('a', 1) === m, m.get('a'), m.has('b'), m.size);
        m.set(key, 'object key');
        out.push(m.delete('a'), m.delete('a'));
        s.add(7).add(8);
        out.push(s.has(7), s.size, [...s], [...m.keys()]);
        for (const [k, v] of m) out.push(v);
        m.forEach((v) => out.push(v));
        m.clear();
        s.clear();
        out.push(m.size, s.size);
        return out;
      }`);
    assert.deepEqual(instrumented, plain);
    const names = new Map<unknown, string>([
      [exports.m, 'm'],
      [exports.s, 's'],
      [exports.key, 'key'],
    ]);
    // Results: m.set returns m, s.add returns s; probe arguments after the result: key (and value).
    assert.deepEqual(collectionCalls(log, names, exports.out), [
      'mapSet:m:m:a:1',
      'mapGet:m:1:a',
      'has:m:false:b',
      'readSize:m:1',
      'mapSet:m:m:key:object key',
      'entryDelete:m:true:a',
      'entryDelete:m:false:a',
      'setAdd:s:s:7',
      'setAdd:s:s:8',
      'has:s:true:7',
      'readSize:s:2',
      'iterate:s:s',
      'iterate:m:object',
      'iterate:m:m',
      'iterate:m:undefined',
      'clear:m:undefined',
      'clear:s:undefined',
      'readSize:m:0',
      'readSize:s:0',
    ]);
  });

  it('reports Array mutators, and calls the same-named methods of other objects unchanged', async () => {
    const { plain, instrumented, log, exports } = await both(`
      export const a = [3, 1, 2];
      export const lookups = [];
      export const other = {
        get get() { lookups.push('get looked up'); return (k) => { lookups.push('called with ' + k); return this === other; }; },
        push(x) { return 'other push ' + x; },
      };
      const key = () => { lookups.push('key evaluated'); return 'k'; };
      export function run() {
        return [
          a.push(4, 5), a.pop(), a.unshift(0), a.shift(), a.splice(1, 1), a.sort(), a.reverse(), a.fill(9, 2),
          other.get(key()), other.push(1), lookups.slice(), Object.keys(a),
        ];
      }`);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual((plain as unknown[])[10], ['get looked up', 'key evaluated', 'called with k']);
    const names = new Map<unknown, string>([
      [exports.a, 'a'],
      [exports.other, 'other'],
    ]);
    assert.deepEqual(collectionCalls(log, names, exports.lookups), [
      'arrayPush:a:5',
      'arrayResize:a:5',
      'arrayPush:a:5',
      'arrayResize:a:0',
      'arrayResize:a:object',
      'arrayReorder:a:a',
      'arrayReorder:a:a',
      'arrayReorder:a:a',
      // Called, as the receivers are only known at run time; the probes record nothing for them.
      'mapGet:other:true:k',
      'arrayPush:other:other push 1',
      'iterate:function:object',
    ]);
  });

  it('keeps `this`, argument order and exceptions, and leaves spread, optional and computed calls alone', async () => {
    const { plain, instrumented, log } = await both(`
      const outcome = (f) => { try { return 'ok: ' + String(f()); } catch (e) { return e.name + ': ' + e.message; } };
      export function run() {
        const m = new Map([['x', 1]]);
        const order = [];
        const arg = (v) => { order.push(v); return v; };
        const proxy = new Proxy(m, {});
        const name = 'get';
        return [
          outcome(() => proxy.get('x')),                 // Map methods on a proxy throw, as before
          outcome(() => Map.prototype.get.call({}, 'x')),
          outcome(() => null.get('x')),
          m.set(arg('k'), arg('v')).get('k'), order,
          m.get(...['x']), m?.get('x'), m.get?.('x'), m[name]('x'),
        ];
      }`);
    assert.deepEqual(instrumented, plain);
    assert.match(String((plain as unknown[])[0]), /^TypeError/);
    // Only m.set(...) and the .get('k') on its result are instrumented among the last calls.
    assert.deepEqual(
      log
        .filter(([name]) => name === 'mapSet' || name === 'mapGet')
        .map(([name, , , , key]) => `${name}:${key}`),
      ['mapSet:k', 'mapGet:k'],
    );
  });

  it('reports array destructuring of a collection as its iteration', async () => {
    const { plain, instrumented, log, exports } = await both(`
      export const m = new Map([['a', 1], ['b', 2]]);
      export const s = new Set([3]);
      const o = {};
      export function run() {
        const [first, second] = m;
        let only;
        [only, o.rest] = s;
        const [[k]] = [first];
        return [first, second, only, o.rest, k];
      }
    `);
    assert.deepEqual(instrumented, plain);
    const names = new Map<unknown, string>([
      [exports.m, 'm'],
      [exports.s, 's'],
    ]);
    const iterated = collectionCalls(log, names).filter((line) => line.startsWith('iterate'));
    // The two collections, and the array literal (an Array: the probe records nothing for it).
    assert.deepEqual(iterated.slice(0, 2), ['iterate:m:m', 'iterate:s:s']);
  });

  it('instruments only writing methods with accesses: writes, and none with off', async () => {
    const code = `
      export function run() {
        const m = new Map();
        m.set(1, 2); m.get(1); m.has(1); for (const e of m); m.delete(1);
        const a = []; a.push(1); a.sort();
        return m.size + a.length;
      }`;
    const writes = await both(code, { accesses: 'writes' });
    assert.equal(writes.instrumented, writes.plain);
    assert.deepEqual(
      collectionCalls(writes.log, new Map()).map((line) => line.split(':')[0]),
      ['mapSet', 'entryDelete', 'arrayPush', 'arrayReorder'],
    );
    assert.doesNotMatch(
      instrument(code, 'off.mjs', 'module', { accesses: 'off' }),
      /_cw\.(mapSet|arrayPush)/,
    );
  });

  it('leaves calls on CommonJS exports alone and is idempotent', () => {
    const once = instrument(
      'const m = new Map(); export function f(k) { if (!m.has(k)) m.set(k, 1); return m.get(k); }',
    );
    assert.equal(instrument(once, 'again.mjs'), once);
    assert.doesNotMatch(
      instrument('module.exports.set = 1; exports.get("x");', 'c.cjs', 'commonjs'),
      /_cw\.mapGet/,
    );
  });
});
