// Generators and async generators: the generator protocol (next/return/throw, yield*, early
// return from for…of) must behave as in plain code, and each slice of a body must be recorded as
// one enter…exit (sync) or as await-like suspensions of one invocation (async).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { both, instrument, type ProbeCall, sitesOf, trail } from './helpers.ts';

/** The probe trail without access and collection probes: the control-flow events only. */
function controlFlow(log: ProbeCall[]): string[] {
  return trail(log).filter((step) =>
    /^(enter|exit|threw|enterAsync|suspend|resume|caught|yielded|resumed|reentered)\b/.test(step),
  );
}

/** Checks that enter and exit of site `site` alternate, starting with enter and ending with exit. */
function assertBalanced(steps: string[], site: string): void {
  let depth = 0;
  for (const step of steps) {
    const [name, at] = step.split(':');
    if (at !== site) continue;
    if (name === 'enter' || name === 'resumed' || name === 'reentered') depth++;
    if (name === 'exit' || name === 'yielded') depth--;
    assert.ok(depth === 0 || depth === 1, `unbalanced at ${step} in ${steps.join(' ')}`);
  }
  assert.equal(depth, 0, `not exited: ${steps.join(' ')}`);
}

const PROTOCOL = `
  const seen = [];
  const o = { p: 1, q: 0 };
  function* inner() { try { seen.push('inner ' + (yield 'i1')); return 'inner done'; } finally { seen.push('inner finally'); } }
  function* g(a) {
    try {
      const x = yield a + o.p;
      seen.push('sent ' + x);
      o.q += x;
      const r = yield* inner();
      seen.push('delegated ' + r);
      yield* [o.q, 'arr'];
      try { yield 'in try'; } catch (e) { seen.push('caught ' + e); yield 'after catch'; }
      return 'done';
    } finally {
      seen.push('finally');
    }
  }
  const step = (it, how, v) => { try { const r = it[how](v); seen.push(how + ' ' + JSON.stringify(r)); } catch (e) { seen.push(how + ' threw ' + e); } };
`;

describe('generators', () => {
  it('keep the protocol: next(v), yield*, throw() caught inside, return values', async () => {
    const { plain, instrumented, log } = await both(`${PROTOCOL}
      export function run() {
        const it = g(10);
        for (const v of [undefined, 5, 'x', undefined, undefined]) step(it, 'next', v);
        step(it, 'throw', 'E');
        step(it, 'next', undefined);
        step(it, 'next', undefined);
        step(it, 'next', undefined);
        return [seen, o.q];
      }
    `);
    assert.deepEqual(instrumented, plain);
    assert.ok(JSON.stringify(plain).includes('caught E'));
    const steps = controlFlow(log);
    for (const site of new Set(steps.map((s) => s.split(':')[1]))) assertBalanced(steps, site);
    // throw() at the yield in the try resumed the generator in its catch: a slice started there.
    assert.ok(
      steps.some((s) => s.startsWith('reentered:')),
      steps.join(' '),
    );
  });

  it('keep return() and throw() from outside at a yield, and break out of for…of', async () => {
    const { plain, instrumented, log } = await both(`${PROTOCOL}
      export function run() {
        const a = g(1); step(a, 'next'); step(a, 'return', 'R'); step(a, 'next');
        const b = g(2); step(b, 'next'); step(b, 'throw', 'T'); step(b, 'next');
        const c = g(3); step(c, 'return', 'early'); step(c, 'next');
        for (const v of g(4)) { seen.push('loop ' + v); if (v === 'i1') break; }
        const d = g(5); step(d, 'next'); step(d, 'next', 1); step(d, 'throw', 'into inner');
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
    const steps = controlFlow(log);
    for (const site of new Set(steps.map((s) => s.split(':')[1]))) assertBalanced(steps, site);
    assert.ok(
      steps.some((s) => s.startsWith('threw:')),
      'the throw() that escaped is recorded',
    );
  });

  it('record each slice as enter…exit, the resumption after return() in the finally', async () => {
    const { plain, instrumented, log } = await both(`
      function* g(o) { try { const x = yield o.p; yield x; } finally { o.closed = true; } }
      export function run() {
        const o = { p: 1 };
        const it = g(o);
        const r = [it.next(), it.next('sent'), it.return(9), o.closed];
        return r;
      }
    `);
    assert.deepEqual(instrumented, plain);
    // s0 is g's site; `run` is s-last. g: slice 1 reads o.p then yields; slice 2 yields 'sent';
    // return() resumes in the finally, which writes o.closed, then g exits.
    const g = trail(log).filter((s) => !s.endsWith(':run') && !/^(enter|exit):s(?!0\b)/.test(s));
    assert.deepEqual(
      g
        .map((s) => s.split(':').slice(0, 2).join(':'))
        .filter((s) => /^(enter|exit|yielded|resumed|reentered|read|write):s[0-2]$/.test(s)),
      [
        'enter:s0',
        'read:s1',
        'yielded:s0',
        'resumed:s0',
        'yielded:s0',
        'reentered:s0',
        'write:s2',
        'exit:s0',
      ],
    );
  });

  it('record property accesses and shared variables in generator bodies', async () => {
    const { plain, instrumented, log } = await both(`
      let total = 0;
      function* g(o) { for (const k of o.keys) { o[k] = (o[k] ?? 0) + 1; total += 1; yield o[k]; } }
      export function run() { const o = { keys: ['a', 'b', 'a'] }; return [[...g(o)], o, total]; }
    `);
    assert.deepEqual(instrumented, plain);
    const names = log.map(([name]) => name);
    assert.ok(names.includes('readKey') && names.includes('writeKey'), names.join(' '));
    assert.ok(names.filter((n) => n === 'update').length >= 3, 'total += 1 recorded each time');
  });

  it('record a compound assignment split by a yield as a read before it and a write after it', async () => {
    const { plain, instrumented, log } = await both(`
      let total = 0;
      function* adder(o) { while (true) { o.sum += yield o.sum; total += yield total; } }
      export function run() {
        const o = { sum: 1 };
        const it = adder(o);
        return [it.next().value, it.next(2).value, it.next(3).value, it.next(4).value, o.sum, total];
      }
    `);
    assert.deepEqual(plain, [1, 0, 3, 3, 7, 3]);
    assert.deepEqual(instrumented, plain);
    const table = sitesOf(log);
    const inAdder = (site: unknown) => table.sites[Number(site) - 100]?.[3] === 'adder';
    const kinds = log
      .filter(([name, site]) => /^(read|write|update|yielded|resumed)$/.test(name) && inAdder(site))
      .map(([name]) => name);
    // o.sum += yield o.sum: read of the old value, the yield's operand, the slice's end; then,
    // resumed, a plain write (not an update: its read was in the other slice).
    assert.deepEqual(kinds.slice(0, 5), ['read', 'read', 'yielded', 'resumed', 'write']);
    assert.ok(!kinds.includes('update'), kinds.join(' '));
  });

  it('record yield* over a collection as its iteration', async () => {
    const { plain, instrumented, log } = await both(`
      export const cache = new Map([['a', 1]]);
      function* entries() { yield* cache; yield* [2]; }
      export function run() { return [...entries()]; }
    `);
    assert.deepEqual(instrumented, plain);
    const iterated = log.filter(([name]) => name === 'iterate').map((call) => call[2]);
    assert.ok(
      iterated.some((value) => value instanceof Map),
      'the Map is iterated',
    );
  });

  it('keep errors and arguments, this, and generator methods', async () => {
    const { plain, instrumented } = await both(`
      const obj = { base: 3, *m() { yield this.base; yield arguments.length; throw new TypeError('bad ' + this.base); } };
      class C { static *s(n) { while (n > 0) yield n--; } }
      export function run() {
        const out = [];
        const it = obj.m(1, 2);
        out.push(it.next().value, it.next().value);
        try { it.next(); } catch (e) { out.push(e.constructor.name + e.message); }
        out.push(it.next().done, [...C.s(3)]);
        return out;
      }
    `);
    assert.deepEqual(plain, [3, 2, 'TypeErrorbad 3', true, [3, 2, 1]]);
    assert.deepEqual(instrumented, plain);
  });
});

describe('generators in classes and objects', () => {
  it('keep private fields, super, computed keys, parameters and labels', async () => {
    const { plain, instrumented } = await both(`
      class Bag {
        #items = [1, 2, 3];
        *[Symbol.iterator]() { yield* this.#items; }
        static *from(...xs) { const b = new Bag(); b.#items = xs; yield* b; }
      }
      class Sub extends Bag { *[Symbol.iterator]() { yield 0; yield* super[Symbol.iterator](); } }
      const stream = {
        async *[Symbol.asyncIterator]() {
          try { for await (const x of [1, Promise.resolve(2)]) { try { yield x; } finally { yield -x; } } }
          finally { this.closed = true; }
        },
      };
      function* withArgs(a = arguments.length, { p = 1 } = {}) { yield [a, p, arguments.length]; }
      function* labelled() { outer: for (const i of [1, 2]) { for (const j of [1, 2]) { if (j === 2) continue outer; yield i * 10 + j; } } }
      export async function run() {
        const out = [[...new Bag()], [...Bag.from(4, 5)], [...new Sub()], [...withArgs()], [...withArgs(7, { p: 2 }, 3)], [...labelled()]];
        for await (const v of stream) out.push(v);
        out.push(stream.closed);
        const it = stream[Symbol.asyncIterator]();
        out.push(await it.next(), await it.return('r'), await it.next());
        const g = labelled();
        out.push(g.next(), (() => { try { g.throw(new Error('x')); } catch (e) { return e.message; } })(), g.next());
        return out;
      }
    `);
    assert.deepEqual(instrumented, plain);
    assert.deepEqual((plain as unknown[]).slice(0, 6), [
      [1, 2, 3],
      [4, 5],
      [0, 1, 2, 3],
      [[0, 1, 0]],
      [[7, 2, 3]],
      [11, 21],
    ]);
  });
});

describe('async generators', () => {
  it('keep the protocol, and record yields as suspensions of the invocation', async () => {
    const { plain, instrumented, log } = await both(`
      const seen = [];
      async function* h(o) {
        try {
          for (const x of o.xs) { const sent = yield await x; seen.push('sent ' + sent); }
          yield* inner();
        } catch (e) { seen.push('caught ' + e); yield 'recovered'; }
        finally { seen.push('finally'); }
      }
      async function* inner() { yield 'i'; }
      export async function run() {
        const o = { xs: [1, Promise.resolve(2)] };
        const it = h(o);
        seen.push(await it.next(), await it.next('a'), await it.throw('E'), await it.next(), await it.next());
        for await (const v of h(o)) { seen.push('loop ' + v); if (v === 2) break; }
        const early = h(o); seen.push(await early.return('R'));
        return seen;
      }
    `);
    assert.deepEqual(instrumented, plain);
    assert.ok(JSON.stringify(plain).includes('caught E'));
    const steps = controlFlow(log);
    assert.ok(
      steps.some((s) => s.startsWith('caught:')),
      'throw() at a yield resumed in the catch',
    );
    assert.ok(steps.filter((s) => s.startsWith('suspend:')).length >= 6, steps.join(' '));
  });

  it('are idempotent', () => {
    const once = instrument(
      'export function* g(o) { try { yield o.p; } finally { o.q = 1; } }\nexport async function* h() { yield 1; }',
      'input.mjs',
    );
    const twice = instrument(once, 'input.mjs');
    const code = (output: string) => output.replace(/\n\/\/# sourceMappingURL=.*$/s, '');
    assert.match(code(once), /_cw\.yielded\(/);
    assert.equal(code(twice), code(once));
  });
});

describe('for await', () => {
  it('keeps what loops do: completion, continue to a label, break, return, throw, a rejected step', async () => {
    const { plain, instrumented } = await both(`
      const seen = [];
      async function* source(n, failAt) {
        try { for (let i = 0; i < n; i++) { if (i === failAt) throw new Error('step ' + i); yield i; } }
        finally { seen.push('source closed ' + n); }
      }
      async function loops(o) {
        for await (const x of source(3)) { o.sum += x; }
        outer: for (const k of [1, 2]) for await (const x of [Promise.resolve(k), k * 10]) { if (x === 1) continue outer; seen.push('x ' + x); }
        for await (o.last of source(5)) { if (o.last === 2) break; }
        try { for await (const x of source(4, 2)) seen.push('got ' + x); } catch (e) { seen.push('caught ' + e.message); }
        try { for await (const x of source(3)) { if (x === 1) throw new TypeError('body'); } } catch (e) { seen.push('caught ' + e.message); }
        for await (const x of source(6)) { if (x === 3) return x + o.sum; }
      }
      export async function run() { const o = { sum: 0 }; const r = await loops(o); return [r, o, seen]; }
    `);
    assert.deepEqual(instrumented, plain);
    assert.ok(JSON.stringify(plain).includes('caught step 2'));
  });

  it('suspends before each step and resumes in the body and after the loop', async () => {
    const { plain, instrumented, log } = await both(`
      export async function run() { const out = []; for await (const x of [1, Promise.resolve(2)]) out.push(x); return out; }
    `);
    assert.deepEqual(instrumented, plain);
    const steps = controlFlow(log).filter((s) => /^(suspend|resume)/.test(s));
    // s1 is the loop's await site (s0: out.push): two steps with a body, the last step (done), the code after.
    assert.deepEqual(steps, [
      'suspend:s1:1',
      'resume:s1:1',
      'suspend:s1:1',
      'resume:s1:1',
      'suspend:s1:1',
      'resume:s1:1',
    ]);
  });

  it('starts the continuation in the catch when a step rejects, and in the finally after a return', async () => {
    const { log } = await both(`
      async function* failing() { throw new Error('no'); }
      async function f() { try { for await (const x of failing()) {} } catch { return 'caught'; } }
      async function g() { for await (const x of [1, 2]) return x; }
      export async function run() { return [await f(), await g()]; }
    `);
    const steps = controlFlow(log);
    // f (invocation 2): the rejected step skips the resume; the catch starts the continuation.
    const f = steps.filter((step) => /:2$/.test(step) || /^caught:2$/.test(step));
    assert.deepEqual(f, ['enterAsync:s2:2', 'suspend:s1:2', 'caught:2', 'caught:2', 'exit:s2:2']);
    // g (invocation 4): the return in the body suspends (the iterator's return() is awaited), and
    // the function's finally starts the continuation before the exit.
    const g = steps.filter((step) => /:4$/.test(step));
    assert.deepEqual(g, [
      'enterAsync:s4:4',
      'suspend:s3:4',
      'resume:s3:4',
      'suspend:s3:4',
      'caught:4',
      'exit:s4:4',
    ]);
  });
});
