// Shared variables: module-level and closure-captured variables that more than one function
// reaches, recorded as properties of a pseudo-object per scope, with the program's behaviour
// (TDZ, hoisting, const errors, sloppy mode) unchanged.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import { SiteKind } from '@causeway/core/event-format';
import {
  both,
  importModule,
  instrument,
  type ProbeCall,
  runInstrumented,
  runScript,
  sitesOf,
} from './helpers.ts';

const ACCESS = /^(read|write|update|postfix|assigned)$/;

/**
 * The access probe calls as `name:variable:value`, with the variable's name from the site table
 * (without the property reads of OUTCOME's `e.name` and `e.message`).
 */
function variableAccesses(log: ProbeCall[]): string[] {
  const table = sitesOf(log);
  const property = (site: unknown) =>
    ['name', 'message'].includes(table.sites[Number(site) - 100]?.[4] ?? '');
  return log
    .filter(([name, site]) => ACCESS.test(name) && !property(site))
    .map(
      ([name, site, , value]) =>
        // A destructuring target's value is not captured (its third argument is the pseudo-object).
        `${name}:${table.sites[Number(site) - 100]?.[4]}:${name === 'assigned' ? '' : String(value)}`,
    );
}

const OUTCOME = `
const outcome = (f) => { try { return 'ok: ' + String(f()); } catch (e) { return e.name + ': ' + e.message; } };
`;

describe('shared variables', () => {
  it('reports writes, updates and reads of a module variable used in functions, not of locals or constants', async () => {
    const { plain, instrumented, log } = await both(`
      let count = 0;
      const step = 2;
      function local() { let i = 0; i += step; return i; }
      async function bump() {
        const before = count;
        await null;
        count = before + 1;
        count += step;
        count++;
        ++count;
        return count;
      }
      export async function run() { return [await bump(), local(), count]; }`);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(plain, [5, 2, 5]);
    assert.deepEqual(variableAccesses(log), [
      'read:count:0',
      'write:count:1',
      'update:count:3',
      'postfix:count:3',
      'update:count:5',
      'read:count:5',
      'read:count:5',
    ]);
    const table = sitesOf(log);
    assert.deepEqual(
      table.sites
        .filter(([, , , , name]) => name === 'count')
        .map(([kind, line, column, fn]) => [kind, line, column, fn]),
      [
        [SiteKind.Read, 6, 24, 'bump'],
        [SiteKind.Write, 8, 9, 'bump'],
        [SiteKind.Write, 9, 9, 'bump'],
        [SiteKind.Write, 10, 9, 'bump'],
        [SiteKind.Write, 11, 11, 'bump'],
        [SiteKind.Read, 12, 16, 'bump'],
        [SiteKind.Read, 14, 68, 'run'],
      ],
    );
  });

  it('gives each call of a function, and each entry into a block, its own pseudo-object', async () => {
    const { plain, instrumented, log } = await both(`
      function counter() {
        let n = 0;
        return { next: () => ++n, peek() { return n; } };
      }
      export function run() {
        const a = counter(), b = counter();
        a.next(); a.next(); b.next();
        const closures = [];
        for (const i of [1, 2]) { let seen = 0; closures.push(() => (seen += i)); }
        return [a.peek(), b.peek(), closures[0](), closures[1](), closures[1]()];
      }`);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(plain, [2, 1, 1, 2, 4]);
    const objects = log.filter(([name]) => ACCESS.test(name)).map(([, , object]) => object);
    // a's three accesses share one object, b's two another; each loop iteration's `seen` its own.
    assert.equal(objects.length, 8);
    const [a1, a2, b1, a3, b2, s1, s2, s3] = objects;
    assert.ok(a1 === a2 && a2 === a3 && b1 === b2 && s2 === s3);
    assert.equal(new Set([a1, b1, s1, s2]).size, 4);
  });

  it('keeps TDZ errors, hoisting, const assignment errors and sloppy-mode behaviour', async () => {
    const strict = await both(`${OUTCOME}
      const early = () => late;
      const tooSoon = outcome(early);
      let late = 1;
      const fixed = 1;
      function reassignConst() { fixed = 2; }
      function readHoisted() { return hoisted; }
      const beforeVar = readHoisted();
      var hoisted = 'set';
      function setLate() { late = 2; hoisted = 'again'; }
      export function run() {
        return [tooSoon, outcome(reassignConst), fixed, beforeVar, (setLate(), late), hoisted, outcome(early)];
      }`);
    assert.deepEqual(strict.instrumented, strict.plain);
    assert.deepEqual(strict.plain, [
      "ReferenceError: Cannot access 'late' before initialization",
      'TypeError: Assignment to constant variable.',
      1,
      undefined,
      2,
      'again',
      'ok: 2',
    ]);
    // `fixed` is assigned somewhere (and throws there), so its reads are recorded too.
    assert.deepEqual(variableAccesses(strict.log), [
      'read:hoisted:undefined',
      'read:fixed:1',
      'write:late:2',
      'write:hoisted:again',
      'read:late:2',
      'read:hoisted:again',
      'read:late:2',
    ]);

    const code = `${OUTCOME}
      var total = 0;
      function add(n) { total += n; return total; }
      module.exports = function () { add(1); add(2); return [total, typeof total, outcome(() => { undeclared = 1; return undeclared; })]; };`;
    const plain = (runScript(code).exports as () => unknown)();
    const script = runScript(instrument(code, 'sloppy.cjs', 'commonjs'));
    assert.deepEqual((script.exports as () => unknown)(), plain);
    assert.deepEqual(plain, [3, 'number', 'ok: 1']);
    assert.deepEqual(variableAccesses(script.log), [
      'update:total:1',
      'read:total:1',
      'update:total:3',
      'read:total:3',
      'read:total:3',
      'read:total:3',
    ]);
  });

  it('records writes only with accesses: writes, nothing with off, and is idempotent', async () => {
    const code = `
      let n = 0;
      const inc = () => { n += 1; return n; };
      export function run() { inc(); return n; }`;
    const writes = await both(code, { accesses: 'writes' });
    assert.equal(writes.instrumented, 1);
    assert.deepEqual(variableAccesses(writes.log), ['update:n:1']);
    assert.doesNotMatch(instrument(code, 'off.mjs', 'module', { accesses: 'off' }), /_cwVars/);
    const once = instrument(code, 'once.mjs');
    assert.equal(instrument(once, 'again.mjs'), once);
  });

  it('records destructuring and for-of targets, and outer variables in parameter defaults; not type positions', async () => {
    const { plain, instrumented, log } = await runBoth(`
      let x: number = 1;
      let ys: number[] = [];
      export function set(v: typeof x = x) { x = v; }
      export function run() {
        [x] = [5];
        for (x of [6, 7]) ys = [...ys, x];
        set();
        return [x, ys];
      }`);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(plain, [7, [6, 7]]);
    assert.deepEqual(variableAccesses(log), [
      'assigned:x:',
      'write:x:6',
      'read:ys:',
      'read:x:6',
      'write:ys:6',
      'write:x:7',
      'read:ys:6',
      'read:x:7',
      'write:ys:6,7',
      // set()'s default reads the module's x.
      'read:x:7',
      'write:x:7',
      'read:x:7',
      'read:ys:6,7',
    ]);
  });

  it('records logical assignments as a read and a conditional write, keeping names and const errors', async () => {
    const { plain, instrumented, log } = await both(`${OUTCOME}
      let hits = 0;
      let cache = null;
      let handler;
      const fixed = 0;
      const touch = () => { hits ||= 10; hits &&= hits + 1; cache ??= { n: hits }; handler ||= function () {}; return cache; };
      export function run() {
        touch(); touch();
        return [hits, cache.n, handler.name, outcome(() => (fixed ||= 1)), outcome(() => (fixed &&= 1))];
      }
    `);
    assert.deepEqual(plain, [12, 11, 'handler', 'TypeError: Assignment to constant variable.', 'ok: 0']);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(
      variableAccesses(log)
        .filter((step) => !step.includes(':fixed:'))
        .map((step) => step.replace(/function \(\) \{.*\}$/s, 'function')),
      [
        // First touch(): ||= writes, &&= reads twice (the test, then hits + 1) and writes, ??= and
        // the function's ||= write.
        'read:hits:0',
        'write:hits:10',
        'read:hits:10',
        'read:hits:10',
        'write:hits:11',
        'read:cache:null',
        'read:hits:11',
        'write:cache:[object Object]',
        'read:handler:undefined',
        'write:handler:function',
        'read:cache:[object Object]',
        // Second: only &&= writes.
        'read:hits:11',
        'read:hits:11',
        'read:hits:11',
        'write:hits:12',
        'read:cache:[object Object]',
        'read:handler:function',
        'read:cache:[object Object]',
        // run()'s own reads.
        'read:hits:12',
        'read:cache:[object Object]',
        'read:n:11',
        'read:handler:function',
      ],
    );
  });

  it('leaves a function’s own variables alone in its parameter list, where its pseudo-object does not exist', async () => {
    const { plain, instrumented, log } = await runBoth(`
      let calls = 0;
      function count(a: number, bump = () => a++, seen = (calls += 1)) { bump(); a += 10; return [a, seen]; }
      export function run() { return [count(1), count(5), calls]; }`);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(plain, [[12, 1], [16, 2], 2]);
    // calls (the module's) is recorded in the default; a (count's own) only in the body.
    assert.deepEqual(variableAccesses(log), [
      'update:calls:1',
      'update:a:12',
      'read:a:12',
      'update:calls:2',
      'update:a:16',
      'read:a:16',
      'read:calls:2',
    ]);
  });

  it('records for-head and catch-parameter variables in their bodies, one pseudo-object per iteration', async () => {
    const { plain, instrumented, log } = await both(`
      export function run() {
        const fs = [];
        for (let i = 0; i < 2; i++) fs.push(() => i);
        for (let i = 0; i < 2; i++) { fs.push(() => (i += 10)); }
        for (const k in { a: 1 }) { let seen = k; fs.push(() => seen); }
        for (let x of [1, 2]) { fs.push(() => x++); }
        for (let i = 0; i < 1; i++) { let i = 5; fs.push(() => i++); }
        try { throw 1; } catch (e) { fs.push(() => (e = e + 1)); }
        try { throw new Error('m'); } catch ({ message: text }) { fs.push(() => (text += '!')); }
        return fs.map((f) => f()).concat(fs.map((f) => f()));
      }
    `);
    assert.deepEqual(instrumented, plain);
    const steps = variableAccesses(log);
    // In the bodies: i += 10 (twice, per iteration), x++ (each), the body's own i (which shadows
    // the head's: recorded as the body's), e and text; not the heads' own tests and updates.
    for (const step of [
      'update:i:10',
      'update:i:11',
      'postfix:x:2',
      'postfix:x:3',
      'postfix:i:6',
      'write:e:2',
      'update:text:m!',
    ]) {
      assert.ok(steps.includes(step), `${step} in ${steps.join(' ')}`);
    }
    // The arrow bodies run in fs.map: one pseudo-object per iteration, so two distinct objects
    // for the two iterations of the second loop.
    const objects = new Set(
      log.filter(([name, , object]) => name === 'update' && object !== undefined).map((call) => call[2]),
    );
    assert.ok(objects.size >= 2);
  });
});

/** Like `both`, for TypeScript: the plain run only has its types stripped. */
async function runBoth(code: string): Promise<{ plain: unknown; instrumented: unknown; log: ProbeCall[] }> {
  const stripped =
    transformSync(code, { filename: 'plain.ts', babelrc: false, configFile: false, plugins: [stripTypes] })
      ?.code ?? '';
  const plain = await ((await importModule(stripped)).run as () => unknown)();
  const { exports, log } = await runInstrumented(code, 'typed.ts');
  return { plain, instrumented: await (exports.run as () => unknown)(), log };
}
