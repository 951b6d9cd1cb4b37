// The list of what instrumentation must preserve, one program per item, each run plain and
// instrumented (results, exceptions, side effects and their order must be identical), with the
// events the instrumented run produced checked too.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import { SiteKind } from '@causeway/core/event-format';
import {
  both,
  importModule,
  instrument,
  type ProbeCall,
  runInstrumented,
  sitesOf,
  trail,
} from './helpers.ts';

/** Each function site's name with its enter/exit/throw counts, as `name:enters/exits/throws`. */
function calls(log: ProbeCall[]): Map<string, string> {
  const table = sitesOf(log);
  const counts = new Map<number, [number, number, number]>();
  for (const [name, site] of log) {
    const index = Number(site) - 100;
    const slot =
      name === 'enter' || name === 'enterAsync' ? 0 : name === 'exit' ? 1 : name === 'threw' ? 2 : -1;
    if (slot === -1) continue;
    const entry = counts.get(index) ?? [0, 0, 0];
    entry[slot]++;
    counts.set(index, entry);
  }
  const out = new Map<string, string>();
  table.sites.forEach((row, index) => {
    if (row[0] !== SiteKind.Function) return;
    const [enters, exits, throws] = counts.get(index) ?? [0, 0, 0];
    out.set(String(row[3]), `${enters}/${exits}/${throws}`);
  });
  return out;
}

describe('every kind of function', () => {
  it('records enter, exit and throw for each, and behaves as before', async () => {
    const { plain, instrumented, log } = await both(`
      const order = [];
      function declared(x) { order.push('declared'); if (x) throw new Error('declared'); return 1; }
      const expressed = function (x) { order.push('expressed'); return x * 2; };
      const arrow = (x) => x + 1;
      class Base {
        constructor(v) { order.push('Base'); this.v = v; }
        method() { return this.v; }
        get value() { order.push('get'); return this.v; }
        set value(v) { order.push('set'); if (v < 0) throw new RangeError('negative'); this.v = v; }
        static make() { return new Base(0); }
      }
      class Derived extends Base {
        field = this.v * 10;
        static shared = Base.make().v + 1;
        #secret = order.push('secret');
        box = this.field + 1;
        bad = Derived.failing ? (() => { throw new Error('field'); })() : 0;
        constructor() { super(3); order.push('Derived ' + this.field); }
      }
      function* gen() { yield 1; yield 2; }
      async function later(x) { await null; if (x) throw new Error('async'); return 'later'; }
      async function* agen() { yield 'a'; await null; yield 'b'; }
      const object = { method() { return 'object method'; }, get prop() { return 'object getter'; } };
      export async function run() {
        const out = [declared(), expressed(2), arrow(3), object.method(), object.prop];
        try { declared(true); } catch (e) { out.push(e.message); }
        const d = new Derived();
        d.value = 7;
        try { d.value = -1; } catch (e) { out.push(e.name); }
        Derived.failing = true;
        try { new Derived(); } catch (e) { out.push(e.message); }
        out.push(d.value, d.method(), d.field, d.box, Derived.shared, [...gen()], await later());
        try { await later(true); } catch (e) { out.push(e.message); }
        for await (const v of agen()) out.push(v);
        return [out, order];
      }
    `);
    assert.deepEqual(instrumented, plain);
    const seen = calls(log);
    const expected: Record<string, string> = {
      declared: '2/2/1',
      expressed: '1/1/0',
      arrow: '1/1/0',
      // Derived's field initialisers run after super() returned: Base's constructor never throws.
      'Base.constructor': '3/3/0',
      'Base.method': '1/1/0',
      'get Base.value': '1/1/0',
      'set Base.value': '2/2/1',
      'Base.make': '1/1/0',
      'Derived.field': '2/2/0',
      'Derived.shared': '1/1/0',
      'Derived.#secret': '2/2/0',
      'Derived.box': '2/2/0',
      // The second construction's initialiser threw: its throw leaves the constructor too.
      'Derived.bad': '2/2/1',
      'Derived.constructor': '2/2/1',
      // The first slice's enter and the last one's exit (the slices between are resumed/yielded).
      gen: '1/1/0',
      later: '2/2/1',
      agen: '1/1/0',
      method: '1/1/0',
      'get prop': '1/1/0',
    };
    for (const [name, counts] of Object.entries(expected)) {
      assert.equal(seen.get(name), counts, `${name}: ${seen.get(name)} in ${[...seen].join(' ')}`);
    }
  });

  it('keeps TypeScript parameter properties of a derived constructor after super()', async () => {
    const code = `
      class Base { constructor(public readonly id: number) {} }
      class Account extends Base {
        created = this.id + 1;
        constructor(id: number, private owner: string) { super(id); }
        describe() { return this.owner + '#' + this.id + '@' + this.created; }
      }
      export function run() { return new Account(7, 'ada').describe(); }
    `;
    // Plain: the same TypeScript with only its types (and parameter properties) compiled away.
    const stripped = transformSync(code, {
      filename: 'plain.ts',
      configFile: false,
      babelrc: false,
      plugins: [stripTypes],
    })?.code;
    const plain = ((await importModule(stripped ?? '')).run as () => unknown)();
    const { exports, log } = await runInstrumented(code, 'input.ts');
    const instrumented = (exports.run as () => unknown)();
    assert.equal(plain, 'ada#7@8');
    assert.equal(instrumented, plain);
    assert.equal(calls(log).get('Account.constructor'), '1/1/0');
  });
});

describe('class field initialisers', () => {
  it('are functions only when they run code: literals, functions and literal arrays or objects are not', async () => {
    const { plain, instrumented, log } = await both(`
      const o = { p: 1 };
      class Fields {
        n = 1;
        list = [];
        options = { retries: 3, nested: [true, null], method() { return 1; } };
        named = function () {};
        arrow = () => 1;
        read = [o.p];
        computed = { [o.p]: 1 };
        spread = [...[1]];
        template = \`\${o.p}\`;
      }
      export function run() {
        const f = new Fields();
        return [f.n, f.list, f.options.retries, f.named.name, f.arrow.name, f.read, f.computed, f.spread, f.template];
      }
    `);
    assert.deepEqual(instrumented, plain);
    // Entered once, by the construction (Fields.named and Fields.arrow are the functions the
    // fields hold, never called).
    assert.deepEqual(
      [...calls(log)].filter(([name, counts]) => name.startsWith('Fields.') && counts !== '0/0/0'),
      [
        ['Fields.read', '1/1/0'],
        ['Fields.computed', '1/1/0'],
        ['Fields.spread', '1/1/0'],
        ['Fields.template', '1/1/0'],
      ],
    );
  });
});

describe('semantics kept', () => {
  it('new.target, arguments, this and super, also in field initialisers and parameter defaults', async () => {
    const { plain, instrumented } = await both(`
      const box = { k: 'p', p: 1 };
      function Plain(a = arguments.length, b = new.target === Plain, c = box[box.k]) {
        return [a, b, c, typeof new.target, arguments.length, this === undefined];
      }
      class Base { greet() { return 'base'; } static tag() { return 'static base'; } }
      class Child extends Base {
        target = new.target;
        greeting = super.greet() + '!';
        arrow = () => super.greet() + '?';
        static label = super.tag();
        constructor(x = new.target.name) { super(); this.x = x; this.t = new.target === Child; }
        method(y = super.greet(), z = this) { return [y, z === this, (() => arguments.length)()]; }
      }
      export function run() {
        const c = new Child();
        return [Plain(), new Plain(5), Plain.call(undefined, undefined, 9), c.target, c.greeting, c.arrow(),
          Child.label, c.x, c.t, c.method(undefined, undefined, 3)];
      }
    `);
    assert.deepEqual(instrumented, plain);
  });

  it('private fields, #p in o, optional chaining and labels', async () => {
    const { plain, instrumented, log } = await both(`
      class Counter {
        #n = 0;
        static #made = 0;
        constructor() { Counter.#made++; }
        bump(by = this.#n + 1) { this.#n += by; return this.#n; }
        static has(o) { return #n in o; }
        static get made() { return Counter.#made; }
      }
      export function run() {
        const c = new Counter();
        const out = [c.bump(), c.bump(5), Counter.has(c), Counter.has({}), Counter.made];
        const maybe = { deep: { value: 1 } };
        const none = null;
        out.push(maybe?.deep?.value, none?.deep.value, maybe.missing?.x, maybe.deep?.['value'], none?.f(), maybe.deep.f?.());
        const found = [];
        outer: for (let i = 0; i < 3; i++) {
          inner: for (const j of [0, 1, 2]) {
            if (j === 1) continue outer;
            if (i === 2) break outer;
            found.push(i + ':' + j);
            block: { if (j === 0) break block; found.push('never'); }
          }
        }
        out.push(found);
        return out;
      }
    `);
    assert.deepEqual(instrumented, plain);
    const names = sitesOf(log).sites.map((row) => row[4]);
    assert.ok(names.includes('#n') && names.includes('#made'), names.join(','));
    assert.ok(trail(log).some((step) => step.startsWith('update:')));
  });

  it('TDZ errors, hoisting and strict-mode errors', async () => {
    const { plain, instrumented } = await both(`
      const outcome = (f) => { try { return f(); } catch (e) { return e.constructor.name + ': ' + e.message.replace(/_cw\\w*/g, ''); } };
      export function run() {
        return [
          outcome(() => { const r = early; let early = 1; return r; }),
          outcome(() => { function f(a = b, b = 1) { return a; } return f(); }),
          outcome(() => { class C { x = C.y; static y = 2; } return new C().x; }),
          outcome(() => { class D { static x = D.z; static z = 3; } return D.x; }),
          outcome(() => hoisted()),
          outcome(() => { const v = laterVar; var laterVar = 4; return v; }),
          outcome(() => { const o = Object.freeze({ p: 1 }); o.p = 2; }),
          outcome(() => { undeclaredVariable = 1; }),
          outcome(() => { const k = 1; k = 2; }),
          outcome(() => { delete Object.prototype; }),
        ];
        function hoisted() { return 'hoisted'; }
      }
    `);
    assert.deepEqual(instrumented, plain);
    const results = plain as string[];
    assert.match(results[0] ?? '', /^ReferenceError/);
    assert.match(results[1] ?? '', /^ReferenceError/);
    assert.match(results[6] ?? '', /^TypeError/);
    assert.match(results[7] ?? '', /^ReferenceError/);
  });

  it('emits no eval and no Function constructor, and is idempotent', () => {
    const code = `
      class A { x = this.y ?? 1; static { this.z = 2; } #p = 3; get p() { return this.#p; } }
      export async function* g(o, { a } = o, k = o[a]) { for await (const v of o.items) { o.sum += v; yield v; } }
      export const f = (m) => { const { size } = m; m.set(size, [...m]); return delete m.x; };
    `;
    const once = instrument(code, 'idempotent.mjs');
    assert.doesNotMatch(once, /\beval\b|\bFunction\(|new Function/);
    assert.equal(instrument(once, 'idempotent.mjs'), once);
  });
});

describe('import cycles', () => {
  it('a function declaration called before its module’s body ran records its sites and shared variables', async () => {
    // entry.mjs imports user.mjs first, which calls entry's functions in its own body: before
    // entry's body (and its header) ran.
    const entry = `
      import { early } from './user.mjs';
      var shared;
      export function write(o) { o.x = 1; shared = 5; return o.x + shared; }
      export function read() { return shared; }
      shared = 7;
      export const results = [early, write({}), read()];
    `;
    const user = `
      import { write, read } from './entry.mjs';
      export const early = [write({}), read()];
    `;
    const run = async (transform: (code: string, name: string) => string) => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-cycle-'));
      writeFileSync(join(dir, 'entry.mjs'), transform(entry, 'entry.mjs'));
      writeFileSync(join(dir, 'user.mjs'), transform(user, 'user.mjs'));
      return ((await import(pathToFileURL(join(dir, 'entry.mjs')).href)) as { results: unknown }).results;
    };
    const plain = await run((code) => code);
    const log: ProbeCall[] = [];
    (globalThis as { __probeLog?: ProbeCall[] }).__probeLog = log;
    const instrumented = await run((code, name) => instrument(code, name));
    assert.deepEqual(plain, [[6, 5], 6, 5]);
    assert.deepEqual(instrumented, plain);
    // entry.mjs registers its table once, from write()'s first call (user.mjs has no sites).
    const tables = log
      .filter(([name]) => name === 'registerSites')
      .map(([, table]) => (table as { file: string }).file);
    assert.deepEqual(tables, ['entry.mjs']);
    assert.equal(log[0]?.[0], 'registerSites');
    // Every probe has a site (none is \`undefined + n\`), and the early calls' accesses are
    // recorded: o.x written and read, \`shared\` written and read through the variables object.
    const steps = trail(log);
    assert.ok(!steps.some((step) => step.includes('NaN')), steps.join(' '));
    const early = steps.slice(0, steps.findIndex((step) => step.startsWith('exit')) + 1);
    // Sites 0-3: o.x and shared written, then read; 4: write() itself. `object` for `shared`:
    // the variables object exists (undefined would print as such).
    assert.deepEqual(early, [
      'enter:s4',
      'write:s0:object:1',
      'write:s1:object:5',
      'read:s2:object:1',
      'read:s3:object:5',
      'exit:s4:0',
    ]);
  });
});
