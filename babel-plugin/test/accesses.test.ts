// Property reads and writes: instrumented code must behave exactly as plain code (same values,
// same exceptions, same getter/setter/trap calls in the same order) and report each access once.

import assert from 'node:assert/strict';
import { SourceMap } from 'node:module';
import { describe, it } from 'node:test';
import { SiteKind } from '@causeway/core/event-format';
import type { InstrumentOptions } from '../src/options.ts';
import {
  importModule,
  instrument,
  type ProbeCall,
  runInstrumented,
  runScript,
  sitesOf,
  trail,
} from './helpers.ts';

const ACCESS_PROBES = /_cw\.(read|write|update|postfix|remove)(Key)?\(/g;
const ACCESS_PROBE_NAME = /^(read|write|update|postfix|remove)(Key)?$/;

/** How many access probe calls `output` contains. */
function accessProbes(output: string): number {
  return output.match(ACCESS_PROBES)?.length ?? 0;
}

/**
 * Imports `code` (JavaScript, an ES module) plain and instrumented, and calls each one's `run()`.
 * Returns both results, the instrumented module's exports and its probe log.
 */
async function both(
  code: string,
  options: InstrumentOptions = {},
): Promise<{ plain: unknown; instrumented: unknown; log: ProbeCall[]; exports: Record<string, unknown> }> {
  const plainModule = await importModule(code);
  const plain = await (plainModule.run as () => unknown)();
  const { exports, log } = await runInstrumented(code, 'input.mjs', options);
  const instrumented = await (exports.run as () => unknown)();
  return { plain, instrumented, log, exports };
}

/** Runs `code` as a sloppy (or "use strict") CommonJS script, plain and instrumented. */
function bothScript(code: string): { plain: unknown; instrumented: unknown; log: ProbeCall[] } {
  const plain = (runScript(code).exports as () => unknown)();
  const { exports, log } = runScript(instrument(code, 'input.cjs', 'commonjs'));
  return { plain, instrumented: (exports as () => unknown)(), log };
}

/** `code`'s error as `Name: message`, or `ok: value`. */
const OUTCOME = `
const outcome = (f) => { try { return 'ok: ' + String(f()); } catch (e) { return e.name + ': ' + e.message; } };
`;

describe('property accesses', () => {
  it('reports reads and writes of static, computed and private keys, in order, with their values', async () => {
    const { plain, instrumented, log, exports } = await both(`
      export const o = { p: 1, 'two words': 2, 0: 'zero' };
      export const key = 'p';
      class Box {
        #v = 0;
        bump(n) { this.#v = this.#v + n; return this.#v; }
      }
      export const box = new Box();
      export function run() {
        o.p = o.p + 1;
        o[key] = o['two words'] + o[0].length;
        return [o.p, box.bump(3), JSON.stringify(o)];
      }
    `);
    assert.deepEqual(instrumented, plain);
    const names = new Map<unknown, string>([
      [exports.o, 'o'],
      [exports.box, 'box'],
    ]);
    const calls = trail(log, names).filter((call) => !/^(enter|exit)/.test(call));
    // Sites are numbered in source order, innermost first: Box.bump's come first (s3 is the
    // method itself), then run's.
    assert.deepEqual(calls, [
      // o.p = o.p + 1
      'read:s4:o:1',
      'write:s5:o:2',
      // o[key] = o['two words'] + o[0].length (the string's length is a read of a primitive)
      'read:s6:o:2',
      'read:s7:o:zero',
      'read:s8:zero:4',
      'writeKey:s9:o:p:6',
      // [o.p, box.bump(3), ...]: bump reads #v, writes it, reads it again
      'read:s10:o:6',
      'read:s0:box:0',
      'write:s1:box:3',
      'read:s2:box:3',
    ]);
    const sites = sitesOf(log).sites;
    const rows = (kind: number) => sites.filter((row) => row[0] === kind).map((row) => `${row[3]} ${row[4]}`);
    assert.deepEqual(rows(SiteKind.Read), [
      'Box.bump #v',
      'Box.bump #v',
      'run p',
      'run two words',
      'run 0',
      'run length',
      'run p',
    ]);
    assert.deepEqual(rows(SiteKind.Write), ['Box.bump #v', 'run p', 'run ']);
  });

  it('writes the site table row of each access: kind, line, column of the property, function, name', async () => {
    const { log } = await runInstrumented(
      [
        'export const state = { count: 0, items: [] as number[] };',
        'export function add(n: number, key: string) {',
        '  state.count += n;',
        '  state.items[state.count] = n;',
        '  delete (state as any)[key];',
        '  return state.count++;',
        '}',
        'const top = state.items;',
      ].join('\n'),
    );
    assert.deepEqual(
      sitesOf(log).sites.filter((row) => row[0] === SiteKind.Read || row[0] === SiteKind.Write),
      [
        [SiteKind.Write, 3, 9, 'add', 'count'],
        [SiteKind.Read, 4, 9, 'add', 'items'],
        [SiteKind.Read, 4, 21, 'add', 'count'],
        [SiteKind.Write, 4, 15, 'add', ''],
        [SiteKind.Write, 5, 25, 'add', ''],
        [SiteKind.Write, 6, 16, 'add', 'count'],
        [SiteKind.Read, 8, 19, '<module>', 'items'],
      ],
    );
  });

  it('computes compound assignments on numbers, strings and bigints as plain code does', async () => {
    const { plain, instrumented, log } = await both(`
      export function run() {
        const o = { n: 5, s: 'a', b: 3n };
        const k = 'n';
        const seen = [];
        seen.push(o.n += 2, o.n -= 1, o.n *= 3, o.n /= 2, o.n %= 5, o.n **= 2, o.n <<= 3, o.n >>= 1,
          o.n >>>= 0, o.n &= 7, o.n |= 8, o.n ^= 3, o.s += 'b', o.s += 1, o.b *= 2n, o.b **= 2n, o.b -= 1n,
          o[k] += 10, o[k] -= '3');
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
    const updates = log.filter(([name]) => name === 'update' || name === 'updateKey');
    assert.equal(updates.length, 19);
    // The probe sees each new value: the expression's own result.
    assert.deepEqual(
      updates.map((call) => call.at(-1)),
      plain,
    );
    assert.deepEqual(
      updates.slice(-2).map((call) => call.slice(0, 1).concat(call.slice(3, 4))),
      [
        ['updateKey', 'n'],
        ['updateKey', 'n'],
      ],
    );
  });

  it('gives ++ and -- the old value and a delta (postfix) or the new value (prefix)', async () => {
    const { plain, instrumented, log } = await both(`
      export function run() {
        const o = { n: 1, b: 10n, s: '5', t: 'x' };
        const k = 'b';
        return [o.n++, o.n--, ++o.n, --o.n, o.b++, o[k]--, ++o[k], o.s++, o.s, o.t--, o.t, String(o.b)];
      }
    `);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual(
      log
        .filter(([name]) => /^(postfix|update)/.test(name))
        .map(([name, _site, ...rest]) => [name, ...rest.slice(1)]),
      [
        ['postfix', 1, 1],
        ['postfix', 2, -1],
        ['update', 2],
        ['update', 1],
        ['postfix', 10n, 1],
        ['postfixKey', 'b', 11n, -1],
        ['updateKey', 'b', 11n],
        // A numeric string: the old value is the number, as `o.s++` returns it.
        ['postfix', 5, 1],
        ['postfix', Number.NaN, -1],
      ],
    );
  });

  it('deletes as plain code does: true, false in sloppy scripts, TypeError in strict code', async () => {
    const strict = await both(`
      ${OUTCOME}
      export function run() {
        const o = { p: 1, q: 2 };
        const k = 'q';
        const sealed = Object.freeze({ p: 1 });
        return [delete o.p, delete o[k], delete o.missing, JSON.stringify(o),
          outcome(() => delete sealed.p), outcome(() => delete sealed['p'])];
      }
    `);
    assert.deepEqual(strict.instrumented, strict.plain);
    assert.match(String((strict.plain as string[])[4]), /^TypeError: Cannot delete property 'p'/);
    const removals = (log: ProbeCall[]) =>
      trail(log)
        .filter((call) => call.startsWith('remove'))
        .map((call) => call.replace(/:s\d+/, ''));
    // delete sealed.p threw: no probe call.
    assert.deepEqual(removals(strict.log), [
      'remove:object:true',
      'removeKey:object:q:true',
      'remove:object:true',
    ]);

    const sloppy = bothScript(`
      module.exports = function () {
        const sealed = Object.freeze({ p: 1 });
        const k = 'p';
        return [delete sealed.p, delete sealed[k], sealed.p];
      };
    `);
    assert.deepEqual(sloppy.plain, [false, false, 1]);
    assert.deepEqual(sloppy.instrumented, sloppy.plain);
    assert.deepEqual(removals(sloppy.log), ['remove:object:false', 'removeKey:object:p:false']);
  });

  it('throws on frozen and getter-only properties in strict code, and stays silent in sloppy scripts', async () => {
    const body = `
        const frozen = Object.freeze({ p: 1 });
        const getterOnly = { get p() { return 1; } };
        const k = 'p';
        return [
          outcome(() => (frozen.p = 2)),
          outcome(() => (frozen[k] = 2)),
          outcome(() => (frozen.p += 2)),
          outcome(() => frozen.p++),
          outcome(() => (getterOnly.p = 2)),
          outcome(() => --getterOnly[k]),
          frozen.p,
        ];`;
    const strict = await both(`${OUTCOME}\nexport function run() {${body}\n}`);
    assert.deepEqual(strict.instrumented, strict.plain);
    assert.deepEqual(
      (strict.plain as string[]).slice(0, 6).map((line) => line.split(':')[0]),
      Array(6).fill('TypeError'),
    );

    const sloppy = bothScript(`${OUTCOME}\nmodule.exports = function () {${body}\n};`);
    assert.deepEqual(sloppy.plain, ['ok: 2', 'ok: 2', 'ok: 3', 'ok: 1', 'ok: 2', 'ok: 0', 1]);
    assert.deepEqual(sloppy.instrumented, sloppy.plain);
    assert.equal(
      sloppy.log.filter(([name]) => /^(write|update|postfix)/.test(name)).length,
      6,
      'each attempted write once (not module.exports)',
    );
  });

  it('runs getters, setters and every proxy trap as often and in the same order as plain code', async () => {
    const { plain, instrumented, log, exports } = await both(`
      export let proxy;
      export function run() {
        const seen = [];
        const handler = {};
        for (const trap of ['get', 'set', 'has', 'deleteProperty', 'defineProperty',
            'getOwnPropertyDescriptor', 'ownKeys', 'getPrototypeOf']) {
          handler[trap] = (...args) => {
            seen.push(trap + ' ' + (typeof args[1] === 'symbol' ? 'symbol' : String(args[1])));
            return Reflect[trap](...args);
          };
        }
        const target = {
          a: 1,
          get g() { seen.push('get g'); return this.a; },
          set g(v) { seen.push('set g ' + v); this.a = v; },
        };
        const p = new Proxy(target, handler);
        proxy = p;
        const k = 'g';
        seen.push('value ' + p.a);
        p.a = 5;
        p.g += 1;
        p[k] *= 2;
        p.c++;
        ++p.c;
        p[k]--;
        delete p.c;
        delete p[k];
        seen.push('value ' + p['a']);
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
    assert.ok((plain as string[]).includes('set g 6'), 'the accessors ran');
    // Every access to the proxy, the accessors' own (their `this` is the proxy) in between.
    assert.deepEqual(
      log.filter((call) => call[2] === exports.proxy).map(([name, , , ...rest]) => [name, ...rest].join(' ')),
      [
        'read 1',
        'write 5',
        'read 5', // get g: this.a
        'write 6', // set g: this.a = v
        'update 6', // p.g += 1
        'read 6',
        'write 12',
        'updateKey g 12',
        'postfix NaN 1', // p.c++: undefined, as a number
        'update NaN', // ++p.c
        'read 12',
        'write 11',
        'postfixKey g 12 -1',
        'remove true',
        'removeKey g true',
        'read 11',
      ],
    );
  });

  it('evaluates objects, keys and values once each, in the original order', async () => {
    const { plain, instrumented } = await both(`
      export function run() {
        const seen = [];
        const a = { p: 1, q: { r: 2 } };
        const b = { p: 10, k: 'p' };
        const obj = (name, o) => (seen.push('object ' + name), o);
        const key = (k) => (seen.push('key ' + k), k);
        const val = (v) => (seen.push('value ' + v), v);
        obj('a', a)[key('p')] = val(1);
        obj('a', a).p = obj('b', b)[key('p')] = val(2);
        obj('a', a)[key('p')] += val(3);
        obj('a', a)[obj('b', b)[key('k')]]++;
        obj('a', a)[obj('b', b).k] = obj('a', a).q[key('r')];
        delete obj('a', a)[key('q')];
        // The base is evaluated before the key: reassigning it inside the key changes nothing.
        let o = a;
        seen.push(o[(o = b, 'p')]);
        o = a;
        o[(o = b, 'p')] = 99;
        seen.push(JSON.stringify([a, b]));
        // Nested reads inside a key and inside a value.
        const c = { x: { y: 'p' }, z: [0, 1] };
        seen.push(b[c.x.y], b[c.x['y']] = c.z[c.z[1]], a[b.k] += c.z[1]);
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
  });

  it('converts an object key (toString) exactly as often as plain code', async () => {
    const { plain, instrumented, log } = await both(`
      export async function run() {
        const seen = [];
        const k = { toString() { seen.push('toString'); return 'p'; } };
        const o = { p: 1 };
        seen.push(o[k]);
        o[k] = 2;
        o[k] += 3;
        o[k]++;
        --o[k];
        o[k] -= await 1;
        delete o[k];
        seen.push(JSON.stringify(o));
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
    // The probe is given the key as written, unconverted.
    const keyed = log.filter(([name]) => name.endsWith('Key'));
    assert.equal(keyed.length, 8);
    for (const call of keyed) assert.equal(typeof call[3], 'object');
  });

  it('keeps `this` for method calls and leaves callees, tags and new callees alone', async () => {
    const code = `
      class Base { who() { return 'base:' + this.name; } }
      class Thing extends Base {
        constructor() { super(); this.name = 'thing'; this.inner = { name: 'inner', who() { return this.name; } }; }
        who() { return 'thing:' + super.who(); }
        tag(strings) { return this.name + strings[0]; }
      }
      export function run() {
        const t = new Thing();
        const k = 'who';
        const ns = { Thing };
        return [t.who(), t[k](), (t.who)(), t.inner.who(), t.tag\`!\`, t.inner.who.call(t), (0, t.inner.who)?.call(t),
          new ns.Thing().name];
      }
    `;
    const { plain, instrumented, log } = await both(code);
    assert.deepEqual(instrumented, plain);
    const runReads = sitesOf(log)
      .sites.filter((row) => row[0] === SiteKind.Read && row[3] === 'run')
      .map((row) => row[4]);
    // Only the objects of callees are read: t.inner (three times), t.inner.who (the .call callee's
    // object, twice), new Thing().name. Not who, [k], tag, call or ns.Thing.
    assert.deepEqual(runReads, ['inner', 'inner', 'who', 'inner', 'who', 'name']);
  });

  it('instruments the plain accesses before an optional chain and leaves the chain itself alone', async () => {
    const code = `
      export function run() {
        const o = { p: { q: 1 }, m() { return this.p; }, n: null };
        const k = 'p';
        return [o?.p, o?.p.q, o.p?.q, o.m?.(), o.p.q?.toString(), o?.[k].q, o.n?.x, (o?.p).q, o.p.m?.()];
      }
    `;
    const { plain, instrumented, log } = await both(code);
    assert.deepEqual(instrumented, plain);
    // The o.p before ?.q, o.p.q (and its o.p) before ?.toString(), o.n before ?.x, (o?.p).q (the
    // parentheses end the chain), and o.p, the object of the callee o.p.m; not o.m (a callee).
    assert.deepEqual(
      sitesOf(log)
        .sites.filter((row) => row[0] === SiteKind.Read && row[3] === 'run')
        .map((row) => row[4]),
      ['p', 'p', 'q', 'n', 'q', 'p'],
    );
  });

  it('keeps `this` for calls and tags through TypeScript instantiation expressions', async () => {
    const { exports, log } = await runInstrumented(`
      const o = {
        name: 'o',
        m<T>(this: { name: string } | undefined, x?: T) { return this?.name; },
        tag<T>(this: { name: string } | undefined, s: TemplateStringsArray) { return this?.name + s[0]; },
      };
      export function run() {
        return [(o.m<number>)(), (o.tag<number>)\`!\`, (o.m<number>)?.(), (o.m<number>)];
      }
    `);
    const result = (exports.run as () => unknown[])();
    assert.deepEqual(result.slice(0, 3), ['o', 'o!', 'o']);
    // In run, only the last one, a plain read, is instrumented.
    assert.deepEqual(
      sitesOf(log)
        .sites.filter((row) => row[0] === SiteKind.Read && row[3] === 'run')
        .map((row) => row[4]),
      ['m'],
    );
    assert.equal(
      log
        .filter(([name]) => name === 'read')
        .at(-1)
        ?.at(-1),
      result[3],
    );
  });

  it('records the lost update: two concurrent calls read, await, then both write', async () => {
    const { exports, log } = await runInstrumented(`
      import { setTimeout as sleep } from 'node:timers/promises';
      export const account = { balance: 100 };
      export async function withdraw(amount: number) {
        const balance = account.balance;
        await sleep(1);
        account.balance = balance - amount;
      }
    `);
    const plain = { balance: 100 };
    await Promise.all([
      (exports.withdraw as (n: number) => Promise<void>)(10),
      (exports.withdraw as (n: number) => Promise<void>)(20),
    ]);
    // The bug is preserved: one withdrawal is lost, as in plain code.
    assert.equal((exports.account as typeof plain).balance, 80);
    const names = new Map<unknown, string>([[exports.account, 'account']]);
    assert.deepEqual(
      trail(log, names).filter((call) => !call.startsWith('enter:')),
      [
        'enterAsync:s3:1',
        'read:s0:account:100',
        'suspend:s1:1',
        'enterAsync:s3:2',
        'read:s0:account:100',
        'suspend:s1:2',
        'resume:s1:1',
        'write:s2:account:90',
        'exit:s3:1',
        'resume:s1:2',
        'write:s2:account:80',
        'exit:s3:2',
      ],
    );
  });

  it('reports the read of a compound assignment that awaits before the await, and a plain write after it', async () => {
    const code = `
      export const account = { balance: 100 };
      const deposit = (n) => new Promise((resolve) => setTimeout(() => resolve(n), 1));
      export async function run() {
        const key = 'balance';
        await Promise.all([(async () => { account.balance += await deposit(10); })(),
          (async () => { account[key] -= await deposit(30); })()]);
        return account.balance;
      }
    `;
    const { plain, instrumented, log, exports } = await both(code);
    assert.equal(plain, 70, 'the deposit is lost in plain code too');
    assert.equal(instrumented, plain);
    const names = new Map<unknown, string>([[exports.account, 'account']]);
    const accesses = trail(log, names).filter((call) => /^(read|write|update|suspend|resume)/.test(call));
    // The write after the await is not an update (a read and a write in one task): the resumed
    // task does not read.
    assert.deepEqual(
      accesses.map((call) => call.replace(/:s\d+/, '')),
      [
        'read:account:100',
        'suspend:2',
        'readKey:account:balance:100',
        'suspend:3',
        'suspend:1',
        'resume:2',
        'write:account:110',
        'resume:3',
        'writeKey:account:balance:70',
        'resume:1',
        'read:account:70', // return account.balance
      ],
    );
  });

  it('instruments class field initialisers, static blocks and derived constructors', async () => {
    const code = `
      ${OUTCOME}
      const config = { size: 2, name: 'cfg' };
      let made = 0;
      class Base { constructor() { this.base = config.size; } }
      class Tree extends Base {
        static made = 0;
        static label;
        static first = config[Object.keys(config)[0]];
        static { this.label = config.name; }
        depth = made++;
        child = this.depth < config.size ? new Tree() : null;
        total = this.depth + (this.child ? this.child.total : 0);
        byKey = config[Tree.label === 'cfg' ? 'size' : 'name'];
        constructor() { super(); this.own = this.base * 10; }
      }
      class Early extends Base { constructor() { const r = outcome(() => this.x); super(); this.r = r; } }
      // A nested construction inside a computed key: the key runs the same initialiser again.
      class Nest {
        static count = 0;
        level = Nest.count++;
        tag = 'level' + this.level;
        echo = this[this.level < 1 ? (new Nest(), 'tag') : 'tag'];
      }
      export function run() {
        const t = new Tree();
        return [t.depth, t.total, t.child.child.depth, t.byKey, t.own, Tree.label, new Early().r, new Nest().echo,
          Tree.first];
      }
    `;
    const { plain, instrumented, log } = await both(code);
    assert.deepEqual(instrumented, plain);
    assert.match(String((plain as unknown[])[6]), /^ReferenceError/);
    assert.equal((plain as unknown[])[7], 'level0');
    const functions = new Set(
      sitesOf(log)
        .sites.filter((row) => row[0] === SiteKind.Read || row[0] === SiteKind.Write)
        .map((row) => `${row[3]} ${row[4]}`),
    );
    for (const expected of [
      'Base.constructor base',
      'Tree.<static> label',
      'Tree.child depth',
      'Tree.total total',
      'Tree.constructor own',
      // A static field initialiser runs once, as the class is defined: its computed key is fine.
      'Tree.first ',
    ]) {
      assert.ok(functions.has(expected), `${expected} in ${[...functions].join(', ')}`);
    }
    // A computed key in an instance field initialiser is instrumented too: the initialiser runs
    // in a function of its own (with temporaries of its own, whatever nested constructions do).
    assert.ok(functions.has('Tree.byKey label'));
    assert.ok(functions.has('Tree.byKey '));
    assert.ok(functions.has('Nest.echo '));
    // Each initialiser that runs code is a function of its own: entered and exited once per run.
    const fieldSites = sitesOf(log)
      .sites.map((row, index) => [row, index] as const)
      .filter(([row]) => row[0] === SiteKind.Function && String(row[3]).startsWith('Tree.'));
    assert.deepEqual(
      fieldSites.map(([row]) => row[3]),
      [
        'Tree.first',
        'Tree.<static>',
        'Tree.depth',
        'Tree.child',
        'Tree.total',
        'Tree.byKey',
        'Tree.constructor',
      ].filter((name) => name !== 'Tree.<static>'),
    );
    const depth = fieldSites.find(([row]) => row[3] === 'Tree.depth')?.[1] ?? -1;
    const calls = trail(log)
      .filter((step) => step.startsWith(`enter:s${depth}`) || step.startsWith(`exit:s${depth}:`))
      .map((step) => step.split(':').slice(0, 2).join(':'));
    // Three trees are built (depth 0, 1, 2): each ran the initialiser once.
    assert.deepEqual(
      calls,
      ['enter', 'exit', 'enter', 'exit', 'enter', 'exit'].map((n) => `${n}:s${depth}`),
    );
  });

  it('instruments static-key reads in parameter defaults, including recursive calls', async () => {
    const code = `
      const box = { p: 1, k: 'p' };
      function sum(n, v = n > 0 ? sum(n - 1) + box.p : box.p, w = box[box.k]) { return v + w; }
      export const arrow = (o, x = o.p * 2) => x;
      // A recursive call inside a computed key: the key runs the same parameter list again.
      function pick(o, n, v = o[n > 0 ? (pick({ k: 'inner' }, n - 1), 'k') : 'k']) { return v; }
      export function run() { return [sum(3), arrow(box), arrow(box, 5), pick({ k: 'outer' }, 1)]; }
    `;
    const { plain, instrumented, log } = await both(code);
    assert.deepEqual(instrumented, plain);
    const rows = sitesOf(log)
      .sites.filter((row) => row[0] === SiteKind.Read)
      .map((row) => `${row[3]} ${row[4]}`);
    assert.equal((plain as unknown[])[3], 'outer');
    // Computed keys in parameter defaults too (box[...] and o[...]): each default runs in an arrow
    // with temporaries of its own, so the recursive call in pick's key cannot disturb them.
    assert.deepEqual(rows, ['sum p', 'sum p', 'sum k', 'sum ', 'arrow p', 'pick ']);
    const keyed = trail(log).filter((step) => step.startsWith('readKey:'));
    assert.ok(
      keyed.some((step) => step.endsWith(':k:inner')),
      keyed.join(' '),
    );
    assert.ok(
      keyed.some((step) => step.endsWith(':k:outer')),
      keyed.join(' '),
    );
  });

  it('instruments reads and writes in defaults of destructured parameters, in the parameter’s turn', async () => {
    const { plain, instrumented, log } = await both(`
      const order = [];
      const obj = { get x() { order.push('get x'); return { a: 'from x' }; } };
      const o = { p: 1, k: 'p' };
      function f({ a } = obj.x, y = (order.push('y default'), o.p++), [z] = [o[o.k]]) { return [a, y, z]; }
      const g = ({ a } = obj.x, ...rest) => [a, rest.length];
      export function run() { return [f(), f({ a: 'given' }, 5), g(), g({ a: 1 }, 2, 3), o.p, order]; }
    `);
    assert.deepEqual(instrumented, plain);
    const steps = trail(log).filter((step) => /^(read|readKey|postfix)/.test(step));
    // f(): obj.x, o.p++, o.k, o[k]; f(given, 5): o.k, o[k]; g(): obj.x, rest.length; g(...):
    // rest.length; then run's o.p.
    assert.deepEqual(
      steps.map((step) => step.split(':')[0]),
      ['read', 'postfix', 'read', 'readKey', 'read', 'readKey', 'read', 'read', 'read', 'read'],
    );
    // o.p++ in the default: the old value 1, delta 1.
    assert.match(steps[1] ?? '', /^postfix:s\d+:object:1:1$/);
  });

  it('instruments what the accesses option asks for', async () => {
    const code = `
      export function run() {
        const o = { p: 1, q: 2 };
        const k = 'q';
        o.p = o.q + o[k];
        o.q += 1;
        o[k]++;
        delete o.p;
        return JSON.stringify(o);
      }
    `;
    const all = await both(code);
    const writes = await both(code, { accesses: 'writes' });
    const off = await both(code, { accesses: 'off' });
    assert.deepEqual(
      [all.instrumented, writes.instrumented, off.instrumented],
      [all.plain, all.plain, all.plain],
    );
    const probes = (log: ProbeCall[]) =>
      log.map(([name]) => name).filter((name) => /^(read|write|update|postfix|remove)/.test(name));
    assert.deepEqual(probes(all.log), ['read', 'readKey', 'write', 'update', 'postfixKey', 'remove']);
    assert.deepEqual(probes(writes.log), ['write', 'update', 'postfixKey', 'remove']);
    assert.deepEqual(probes(off.log), []);
    assert.throws(() => instrument(code, 'input.mjs', 'module', { accesses: 'some' as 'all' }), /accesses/);
  });

  it('is idempotent with accesses', () => {
    const once = instrument('export function f(o, k) { o.p = o[k] + 1; o.q++; delete o.r; return o.p; }');
    const twice = instrument(once, 'input.mjs');
    assert.equal(accessProbes(once), 5);
    assert.equal(accessProbes(twice), 5);
    assert.equal(twice.match(/registerSites/g)?.length, 1);
  });

  it('keeps line numbers for errors thrown by an access', async () => {
    const output = instrument(
      [
        'export function f(o: any) {',
        '  const values = [',
        '    o.a,',
        '    o.b.c,',
        '  ];',
        '  return values;',
        '}',
      ].join('\n'),
    );
    const { f } = (await importModule(output)) as { f: (o: unknown) => unknown };
    assert.throws(
      () => f({ a: 1 }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message === "Cannot read properties of undefined (reading 'c')" &&
        /module-\d+\.mjs:4:/.test(error.stack ?? ''),
    );
  });

  it('puts each probe call on its access’s original line, and the source map agrees', () => {
    const source = [
      'export function f(o: any, k: string) {',
      '  const a = o.a;',
      '  o[k] = {',
      '    b: o.b,',
      '    c: o.c.d,',
      '  };',
      '  o.n++;',
      '  delete o[k];',
      '  return a;',
      '}',
    ].join('\n');
    const output = instrument(source);
    const map = new SourceMap(
      JSON.parse(
        Buffer.from(
          output.match(/sourceMappingURL=data:application\/json;.*base64,(.+)$/m)?.[1] ?? '',
          'base64',
        ).toString(),
      ),
    );
    const rows = output.match(/sites: (\[\[.*?\]\]) \}\)/)?.[1];
    assert.ok(rows, 'the site table');
    const sites = JSON.parse(rows) as [number, number][];
    const lines = output.split('\n');
    let checked = 0;
    lines.forEach((text, index) => {
      for (const call of text.matchAll(/_cw\.\w+\(_cwSites \+ (\d+)/g)) {
        const [kind, line] = sites[Number(call[1])] ?? [];
        if (kind !== SiteKind.Read && kind !== SiteKind.Write) continue;
        assert.equal(index + 1, line, `site ${call[1]} printed on its line`);
        const entry = map.findEntry(index, call.index ?? 0);
        assert.equal('originalLine' in entry ? entry.originalLine : -1, index, 'mapped to its line');
        checked++;
      }
    });
    assert.equal(checked, 7);
  });

  it('handles TypeScript assertions around targets, keeps imports used by accesses, leaves enums alone', async () => {
    const code = [
      "import { shared } from './shared-state.mjs';",
      'enum Size { Small = 1, Large = Small * 2 }',
      'const Alias = { Size };',
      'enum Copy { A = Alias.Size.Large }',
      'export function run() {',
      '  const o: { p?: number; q: number } = { p: 1, q: 2 };',
      '  (o.p as number) = 5;',
      '  o.q! += 1;',
      '  (o as { q: number }).q++;',
      '  delete (o as any).p;',
      '  (shared as any).count = (shared.count ?? 0) + 1;',
      '  return [JSON.stringify(o), Copy.A, Size[2], shared.count];',
      '}',
    ].join('\n');
    const { writeFileSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const output = instrument(code);
    const probes = output.match(/import \* as _cw from "([^"]+)"/)?.[1] ?? '';
    writeFileSync(join(dirname(fileURLToPath(probes)), 'shared-state.mjs'), 'export const shared = {};\n');
    assert.match(output, /from '\.\/shared-state\.mjs'|from "\.\/shared-state\.mjs"/);
    assert.doesNotMatch(output, /enum/);
    const { run } = (await importModule(output)) as { run: () => unknown[] };
    assert.deepEqual(run(), ['{"q":4}', 2, 'Large', 1]);
    // Four writes and five reads in run(); `Alias.Size.Large`, in an enum initialiser, is left alone.
    assert.equal(accessProbes(output), 9);
  });

  it('does not name anonymous functions and classes after its temporaries', async () => {
    const { plain, instrumented } = await both(`
      export function run() {
        const f = { [(function () {}).name || 'anonymous']: 1 };
        return [(function () {}).name, (() => {}).name, (class {}).name, (async () => {}).name,
          (function named() {}).name, Object.keys(f)];
      }
    `);
    assert.deepEqual(plain, ['', '', '', '', 'named', ['anonymous']]);
    assert.deepEqual(instrumented, plain);
  });

  it('leaves with bodies alone', async () => {
    const sloppy = bothScript(`
      module.exports = function () {
        const seen = [];
        const scope = new Proxy({ p: 1 }, { has(target, key) { seen.push('has ' + String(key)); return key in target; } });
        const o = { q: 2 };
        with (scope) { seen.push(o.q + p); o.q = 3; }
        return seen;
      };
    `);
    assert.deepEqual(sloppy.instrumented, sloppy.plain);
  });

  it('records accesses wherever a generator runs them: class fields, static blocks, computed keys', async () => {
    const { plain, instrumented, log } = await both(`
      function* g(o) {
        class C {
          static x = o.p;
          y = o.q;
          static { o.r = o.p + 1; }
          [o.k]() { return o.s; }
        }
        yield [C.x, new C().y, o.r];
        yield new C().m();
      }
      export function run() { return [...g({ p: 1, q: 2, k: 'm', s: 3 })]; }
    `);
    assert.deepEqual(plain, [[1, 2, 2], 3]);
    assert.deepEqual(instrumented, plain);
    const accesses = log
      .filter(([name]) => ACCESS_PROBE_NAME.test(name))
      .map(([name, , , value]) => `${name} ${value}`);
    // The static field, the static block, the computed key, the instance field and the method.
    for (const access of ['read 1', 'write 2', 'read m', 'read 2', 'read 3']) {
      assert.ok(accesses.includes(access), `${access} in ${accesses.join(', ')}`);
    }
  });

  it('names the functions in accessor fields after the field', async () => {
    const { transformSync } = await import('@babel/core');
    const { default: plugin } = await import('../src/index.ts');
    const output =
      transformSync(
        'const o = { p: 1 };\nclass Box { accessor f = () => o.p; static accessor #g = function () { return o.p; }; }',
        {
          filename: 'box.js',
          configFile: false,
          babelrc: false,
          parserOpts: { plugins: ['decoratorAutoAccessors'] },
          plugins: [plugin],
        },
      )?.code ?? '';
    const rows = JSON.parse(output.match(/sites: (\[\[.*?\]\])\s*\}\)/s)?.[1] ?? '[]') as [
      number,
      ...unknown[],
    ][];
    assert.deepEqual(
      rows.filter((row) => row[0] === SiteKind.Read).map((row) => `${row[3]} ${row[4]}`),
      ['Box.f p', 'Box.#g p'],
    );
  });

  it('keeps sloppy-mode arguments aliasing and this in CommonJS scripts', () => {
    const { plain, instrumented, log } = bothScript(`
      function alias(a) { arguments[0] = 'changed'; return [a, arguments.length, arguments[0]]; }
      function self() { return this === globalThis; }
      const o = { self };
      module.exports = function () { return [alias('x'), o.self(), (0, o.self)()]; };
    `);
    assert.deepEqual(plain, [['changed', 1, 'changed'], false, true]);
    assert.deepEqual(instrumented, plain);
    // arguments[0] = 'changed': a write of the arguments object, at a site named 0.
    const { sites } = sitesOf(log);
    const argumentWrites = log.filter(
      ([name, site, object]) =>
        name === 'write' &&
        sites[Number(site) - 100]?.[4] === '0' &&
        Object.prototype.toString.call(object) === '[object Arguments]',
    );
    assert.deepEqual(
      argumentWrites.map((call) => call.at(-1)),
      ['changed'],
    );
  });
});
