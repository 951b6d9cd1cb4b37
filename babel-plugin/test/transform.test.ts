import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CausewayError } from '@causeway/core/errors';
import { SiteKind, type SiteTable } from '@causeway/core/event-format';
import { InstrumentErrorCode } from '../src/errors.ts';
import { detectFormat, instrumentFile, instrumentSource, verifyOutput } from '../src/transform.ts';
import { fakeProbes, importModule, instrument, type ProbeCall, runInstrumented, trail } from './helpers.ts';

const SAMPLE = `
export class Counter {
  #count = 0;
  constructor(public readonly name: string) {}
  increment(by = 1): number { this.#count += by; return this.#count; }
  get value(): number { return this.#count; }
  static of(name: string): Counter { return new Counter(name); }
}
export function sum(...values: number[]): number { return values.reduce((a, b) => a + b, 0); }
export const twice = (f: () => number) => f() + f();
export function argumentsCount(): number { return arguments.length; }
export function hoisted(): string { return inner(); function inner() { return 'inner'; } }
export function fails(): never { throw new TypeError('nope'); }
export function* numbers() { yield 1; yield 2; }
export async function delayed(value: number): Promise<number> {
  const a = await Promise.resolve(value);
  const b = await new Promise<number>((resolve) => setTimeout(() => resolve(a * 2), 1));
  return b;
}
export async function recovers(): Promise<string> {
  try { await Promise.reject(new Error('boom')); return 'unreachable'; }
  catch (error) { return (error as Error).message; }
}
export async function rejects(): Promise<void> { await Promise.reject(new RangeError('bad')); }
`;

async function exerciseSample(exports: Record<string, unknown>): Promise<unknown[]> {
  const m = exports as {
    Counter: { of(name: string): { increment(by?: number): number; value: number; name: string } };
    sum(...v: number[]): number;
    twice(f: () => number): number;
    argumentsCount(...args: unknown[]): number;
    hoisted(): string;
    fails(): never;
    numbers(): Iterable<number>;
    delayed(v: number): Promise<number>;
    recovers(): Promise<string>;
    rejects(): Promise<void>;
  };
  const counter = m.Counter.of('c');
  const results: unknown[] = [counter.increment(), counter.increment(5), counter.value, counter.name];
  results.push(
    m.sum(1, 2, 3),
    m.twice(() => 4),
    m.argumentsCount(1, 2, 3),
    m.hoisted(),
    [...m.numbers()],
  );
  results.push(await m.delayed(21), await m.recovers());
  results.push(
    await m.rejects().then(
      () => 'resolved',
      (e: Error) => `${e.name}: ${e.message}`,
    ),
  );
  try {
    m.fails();
  } catch (error) {
    results.push(`${(error as Error).name}: ${(error as Error).message}`);
  }
  return results;
}

describe('instrumentSource', () => {
  it('preserves what the program computes, throws and awaits', async () => {
    const { exports, log } = await runInstrumented(SAMPLE);
    // The reference: the same file with only its types stripped.
    const stripped = await importModule(
      (await import('@babel/core')).transformSync(SAMPLE, {
        filename: 'plain.ts',
        configFile: false,
        babelrc: false,
        plugins: [(await import('@babel/plugin-transform-typescript')).default],
      })?.code ?? '',
    );
    assert.deepEqual(await exerciseSample(exports), await exerciseSample(stripped));
    assert.ok(trail(log).filter((call) => call.startsWith('enter')).length >= 10, 'the probes ran');
  });

  it('reports entries, exits, throws and each await of an async function', async () => {
    const { exports, log } = await runInstrumented(`
      export async function twoSteps(fail) {
        await null;
        if (fail) throw new Error('x');
        await null;
        return 1;
      }
    `);
    const twoSteps = exports.twoSteps as (fail: boolean) => Promise<number>;
    assert.equal(await twoSteps(false), 1);
    // Sites: 0 and 1 are the awaits (visited first), 2 the function.
    assert.deepEqual(trail(log), [
      'enterAsync:s2:1',
      'suspend:s0:1',
      'resume:s0:1',
      'suspend:s1:1',
      'resume:s1:1',
      'exit:s2:1',
    ]);
    log.length = 0;
    await assert.rejects(twoSteps(true), /x/);
    assert.deepEqual(trail(log), [
      'enterAsync:s2:2',
      'suspend:s0:2',
      'resume:s0:2',
      'caught:2',
      'threw:s2:2',
      'exit:s2:2',
    ]);
  });

  it('starts the continuation of a rejected await in the catch that receives it', async () => {
    const { exports, log } = await runInstrumented(`
      export async function guarded() {
        try { await Promise.reject(new Error('no')); } catch { return 'handled'; }
      }
    `);
    assert.equal(await (exports.guarded as () => Promise<string>)(), 'handled');
    assert.deepEqual(trail(log), ['enterAsync:s1:1', 'suspend:s0:1', 'caught:1', 'exit:s1:1']);
  });

  it('gives top-level await the module invocation', async () => {
    const { log } = await runInstrumented('export const value = await Promise.resolve(3);\n');
    assert.deepEqual(trail(log), ['invocation:1', 'suspend:s0:1', 'resume:s0:1']);
  });

  it('writes a site table with names and 1-based positions of the original source', async () => {
    const { log } = await runInstrumented(
      [
        'class Shop {',
        '  async buy(item: string) {',
        '    return await fetchPrice(item);',
        '  }',
        '}',
        'const fetchPrice = async (x: string) => x.length;',
        'export const shop = new Shop();',
      ].join('\n'),
    );
    const table = log.find(([name]) => name === 'registerSites')?.[1] as SiteTable;
    assert.equal(table.file, 'input.ts');
    assert.deepEqual(table.sites, [
      [SiteKind.Await, 3, 12, 'Shop.buy', ''],
      [SiteKind.Function, 2, 3, 'Shop.buy', ''],
      // `x.length`: a property read, at its property name.
      [SiteKind.Read, 6, 43, 'fetchPrice', 'length'],
      [SiteKind.Function, 6, 20, 'fetchPrice', ''],
    ]);
  });

  it('keeps line numbers, so stack traces still point at the right line', async () => {
    const output = instrument('\n\nexport function f() {\n  return new Error("here").stack;\n}\n');
    const { f } = (await importModule(output)) as { f: () => string };
    assert.match(f(), /module-\d+\.mjs:4:/);
  });

  it('is idempotent: instrumented output passes through unchanged in meaning', () => {
    const once = instrument('export async function f() { await 1; }');
    const twice = instrument(once, 'input.mjs');
    assert.equal(twice.match(/registerSites/g)?.length, 1);
    assert.equal(twice.match(/_cw\.suspend/g)?.length, 1);
    assert.equal(twice.match(/enterAsync/g)?.length, 1);
  });

  it('recognises its output whatever the probes module, ES module or CommonJS', () => {
    for (const [name, format] of [
      ['input.mjs', 'module'],
      ['input.cjs', 'commonjs'],
    ] as const) {
      const source =
        'export async function f(o) { o.p = 1; await 1; }\nvar shared = 1;\nexport function g() { shared++; }\nshared++;\n';
      const code = format === 'module' ? source : source.replaceAll('export ', '');
      const once = instrumentFile(code, {
        filename: `/app/${name}`,
        format,
        root: '/app',
        runtimeModule: './my-recorder.js',
      });
      assert.match(once.code, /"\.\/my-recorder\.js"/);
      const twice = instrumentFile(once.code, {
        filename: `/app/${name}`,
        format,
        root: '/app',
        runtimeModule: './other.js',
      });
      assert.equal(twice.alreadyInstrumented, true, name);
      assert.equal(twice.code, once.code, name);
    }
  });

  it('emits require() for CommonJS, and the output runs as CommonJS', () => {
    const output = instrument('module.exports = function f() { return 1; };', 'input.cjs', 'commonjs');
    assert.match(output, /var _cw = require\(/);
    const log: ProbeCall[] = [];
    const module = { exports: {} as unknown };
    new Function('module', 'require', output)(module, () => fakeProbes(() => log));
    assert.equal((module.exports as () => number)(), 1);
    // The write of module.exports is left as written (commonjs.ts).
    assert.deepEqual(trail(log), ['enter:s0', 'exit:s0:0']);
  });

  it('leaves CommonJS exports as Node’s export detection reads them, for ES modules importing the file', async () => {
    const source = [
      "const m = require('./m.cjs');",
      'exports.a = 1;',
      'module.exports.b = 2;',
      "Object.defineProperty(exports, 'c', { enumerable: true, get: function () { return m.c; } });",
      "Object.defineProperty(exports, 'd', { enumerable: true, get() { return m.d; } });",
      'const local = { exports: {} };',
      'local.exports.e = 3;',
      'function f() { exports.g = 4; return exports.a; }',
    ].join('\n');
    const output = instrument(source, 'input.cjs', 'commonjs');
    const squeeze = (text: string) => text.replace(/\s+/g, '');
    for (const line of source.split('\n').slice(1, 5)) {
      assert.ok(squeeze(output).includes(squeeze(line)), `kept as written: ${line}`);
    }
    // A local object named like them is still instrumented, and so is the function around them.
    assert.match(output, /_cw\.write\(_cwSites \+ \d+, _cwObj = _cw\.read\(/);
    assert.match(output, /function f\(\) \{_cw\.enter\(/);
    // Node finds the four named exports of the instrumented file.
    const dir = mkdtempSync(join(tmpdir(), 'causeway-cjs-'));
    writeFileSync(join(dir, 'm.cjs'), 'exports.c = 5; exports.d = 6;');
    writeFileSync(
      join(dir, 'input.cjs'),
      output.replace(
        /require\("[^"]*fake-probes[^"]*"\)/,
        '{ registerSites: () => 0, enter() {}, exit() {}, threw() {}, read: (s, o, v) => v, write: (s, o, v) => v }',
      ),
    );
    const imported = await import(pathToFileURL(join(dir, 'input.cjs')).href);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((name) => imported[name]),
      [1, 2, 5, 6],
    );
  });

  it('instruments CommonJS TypeScript that uses import type and top-level return', () => {
    const output = instrument(
      "import type { Server } from 'node:http';\nconst make = (s: Server | null) => s === null;\nmodule.exports = make;\nif (make(null)) return;\nthrow new Error('not reached');\n",
      'input.cts',
      'commonjs',
    );
    assert.doesNotMatch(output, /\bimport\b|\bexport\b/);
    const log: ProbeCall[] = [];
    const module = { exports: {} as unknown };
    new Function('module', 'require', output)(module, () => fakeProbes(() => log));
    assert.equal((module.exports as (s: null) => boolean)(null), true);
  });

  it('keeps function declarations valid inside the wrapped body', async () => {
    const code = [
      'export function shadowedByVar() { var x = 1; function x() {} return typeof x; }',
      'export function hoistedBeforeVar() { const before = typeof x; var x = 1; function x() {} return before; }',
      'export function redeclared() { function g() { return 1; } function g() { return 2; } return g(); }',
      'export function closure() { const y = 5; return g(); function g() { return y; } }',
    ].join('\n');
    const { exports } = await runInstrumented(code, 'input.mjs');
    const plain = await importModule(code);
    for (const name of ['shadowedByVar', 'hoistedBeforeVar', 'redeclared', 'closure']) {
      assert.equal((exports[name] as () => unknown)(), (plain[name] as () => unknown)(), name);
    }
  });

  it('leaves module-level try/catch alone when the module does not await', async () => {
    const output = instrument(
      "try { JSON.parse('{'); } catch { globalThis.__caughtAtTop = true; }\nexport const ok = 1;\n",
      'input.mjs',
      'module',
      { accesses: 'off' },
    );
    assert.doesNotMatch(output, /_cw/);
    const { ok } = await importModule(output);
    assert.equal(ok, 1);
  });

  it('gives an await in a computed method key the module invocation, not the method’s', async () => {
    const { exports, log } = await runInstrumented(
      "export const o = { async [await Promise.resolve('m')]() { return 1; } };\n",
      'input.mjs',
    );
    assert.equal(await (exports.o as { m(): Promise<number> }).m(), 1);
    assert.deepEqual(trail(log).slice(0, 3), ['invocation:1', 'suspend:s0:1', 'resume:s0:1']);
  });

  it('does not mistake user code that calls something.registerSites for its own output', () => {
    const output = instrument(
      'import * as registry from "./registry.js";\nvar handle = registry.registerSites({});\nfunction setup() { handle = registry.registerSites({ v: 1 }); }\nexport function f() { return 1; }\n',
      'input.mjs',
    );
    assert.match(output, /_cw\.enter/);
  });

  it('reports a syntax error with the file, line and column', () => {
    assert.throws(
      () => instrumentSource('const a = 1;\nconst = 2;\n', { filename: '/src/broken.ts', format: 'module' }),
      (error: unknown) =>
        error instanceof CausewayError &&
        error.code === InstrumentErrorCode.SYNTAX &&
        /^\/src\/broken\.ts:2:7: cannot instrument: the parser stopped here: Unexpected token$/.test(
          error.message,
        ) &&
        !error.message.includes('\n'),
    );
  });

  it('verifies on request that its output parses, as the format and extension say', () => {
    const request = { filename: '/app/x.cjs', format: 'commonjs' } as const;
    // CommonJS may return at top level; JSX parses in .jsx only.
    verifyOutput('return 1;', request, '.cjs');
    verifyOutput('const e = <div />;', { filename: '/app/x.jsx', format: 'module' }, '.jsx');
    assert.throws(
      () => verifyOutput('const e = <div />;', { filename: '/app/x.mjs', format: 'module' }, '.mjs'),
      {
        message: /^the instrumented output does not parse/,
      },
    );
    assert.throws(() => verifyOutput('let x = ;', request, '.cjs'), /does not parse/);
    const output = instrumentFile('export function f(o) { o.p = 1; }', {
      filename: '/app/f.mjs',
      format: 'module',
      root: '/app',
      verify: true,
    });
    assert.match(output.code, /_cw\.write\(/);
  });

  it('decides a file no package.json type decides as Node 24 does (types stripped first)', () => {
    const cases: [string, string, 'module' | 'commonjs'][] = [
      ['a.ts', "import type { T } from './t.ts';\nmodule.exports = 1;", 'commonjs'],
      ['b.ts', "export type { T } from './t.ts';\nexport type U = 1;\nexport interface I {}", 'commonjs'],
      ['c.ts', 'export declare const q: number;\nexport type * from "./t.ts";', 'commonjs'],
      ['d.ts', "import { type T } from './t.ts';", 'module'], // kept as `import {} from`
      ['e.ts', 'export {};', 'module'],
      ['f.js', 'const o = {};\nif (o) return;\nmodule.exports = o;', 'commonjs'],
      ['g.js', 'with ({}) {}', 'commonjs'],
      ['h.js', 'console.log(import.meta.url);', 'module'],
      ['i.js', 'function f() { return import.meta.url; }', 'module'],
      ['j.js', 'const x = await 1;', 'module'],
      ['k.js', 'async function f() { await 1; }', 'commonjs'],
      ['l.js', "import x from 'y';\nconst = 1;", 'module'], // neither parses: the module's error
      ['m.ts', 'import x = require("./t");\nexport = x;', 'commonjs'],
    ];
    for (const [name, code, format] of cases) assert.equal(detectFormat(code, `/app/${name}`), format, name);
    // And the transform follows it: a top-level return, and require() for CommonJS TypeScript.
    const cjs = instrumentFile('const o = {};\nfunction f() { o.x = 1; }\nif (o) return;\n', {
      filename: '/app/cli.js',
      format: 'unambiguous',
      root: '/app',
      verify: true,
    });
    assert.match(cjs.code, /require\(/);
    const ts = instrumentFile(
      "import type { T } from './t.ts';\nconst o: { x?: T } = {};\nfunction f() { o.x = 1; }\n",
      {
        filename: '/app/m.ts',
        format: 'unambiguous',
        root: '/app',
        verify: true,
      },
    );
    assert.match(ts.code, /require\(/);
    assert.doesNotMatch(ts.code, /^import /m);
  });
});
