// Source maps: sites and stack traces point at the original source, through the input's own map.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type PluginObject, types as t, transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import { SiteKind } from '@causeway/core/event-format';
import { InputSourceMap, type SourceMapObject } from '../src/source-map.ts';
import { instrumentFile } from '../src/transform.ts';
import { instrument } from './helpers.ts';

const ORIGINAL = [
  'export interface Account { balance: number }', // 1
  '', // 2
  'export function withdraw(account: Account, amount: number): number {', // 3
  '  if (account.balance < amount) {', // 4
  "    throw new RangeError('insufficient funds');", // 5
  '  }', // 6
  '  account.balance -= amount;', // 7
  '  return account.balance;', // 8
  '}', // 9
].join('\n');

/** A prior tool: strips types and adds three lines on top, so generated lines differ from the original's. */
const banner = (): PluginObject => ({
  name: 'banner',
  visitor: {
    Program(path) {
      path.unshiftContainer(
        'body',
        ['one', 'two', 'three'].map((name) =>
          t.variableDeclaration('const', [
            t.variableDeclarator(t.identifier(`banner_${name}`), t.numericLiteral(1)),
          ]),
        ),
      );
    },
  },
});

/** `ORIGINAL` (src/account.ts) compiled to dist/account.js by the banner tool, with its map. */
function compile(dir: string): { code: string; map: SourceMapObject } {
  const result = transformSync(ORIGINAL, {
    filename: join(dir, 'src', 'account.ts'),
    sourceFileName: '../src/account.ts',
    babelrc: false,
    configFile: false,
    plugins: [stripTypes, banner],
    sourceMaps: true,
  });
  assert.ok(result?.code && result.map);
  return { code: result.code, map: result.map as SourceMapObject };
}

describe('source maps', () => {
  it('decodes a map: each generated position back to its original line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const { code, map } = compile(dir);
    const input = new InputSourceMap(map);
    assert.deepEqual(input.sources, ['../src/account.ts']);
    const lines = code.split('\n');
    const throwLine = lines.findIndex((line) => line.includes('throw new RangeError')) + 1;
    assert.ok(throwLine > 5, 'the banner moved the code down');
    const column = lines[throwLine - 1]?.indexOf('throw') ?? -1;
    assert.deepEqual(input.originalPosition(throwLine, column), { source: 0, line: 5, column: 4 });
    // The banner's own lines map nowhere.
    assert.equal(input.originalPosition(1, 0), null);
  });

  it('names the original file and its lines in the site table when the input has a map', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const { code, map } = compile(dir);
    const inline = `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
    const result = instrumentFile(inline, {
      filename: join(dir, 'dist', 'account.js'),
      format: 'module',
      root: dir,
    });
    assert.equal(result.sites?.file, 'src/account.ts');
    const rows = result.sites?.sites ?? [];
    assert.deepEqual(
      rows.map(([kind, line, column, fn, name]) => [kind, line, column, fn, name]),
      [
        [SiteKind.Read, 4, 15, 'withdraw', 'balance'],
        [SiteKind.Write, 7, 11, 'withdraw', 'balance'],
        [SiteKind.Read, 8, 18, 'withdraw', 'balance'],
        [SiteKind.Function, 3, 8, 'withdraw', ''],
      ],
    );
    // Without the map, the same code's sites are on the generated lines.
    const unmapped = instrumentFile(code, {
      filename: join(dir, 'dist', 'account.js'),
      format: 'module',
      root: dir,
    });
    assert.equal(unmapped.sites?.file, 'dist/account.js');
    assert.notEqual(unmapped.sites?.sites[0]?.[1], 4);
  });

  it('chains the maps: the output maps to the original source, from a map file the input names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const { code, map } = compile(dir);
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'account.js.map'), JSON.stringify(map));
    const result = instrumentFile(`${code}\n//# sourceMappingURL=account.js.map\n`, {
      filename: join(dir, 'dist', 'account.js'),
      format: 'module',
      root: dir,
      sourceMaps: 'separate',
    });
    assert.match(result.code, /\/\/# sourceMappingURL=account\.js\.map\n$/);
    const output = new InputSourceMap(result.map as SourceMapObject);
    const lines = result.code.split('\n');
    const throwLine = lines.findIndex((line) => line.includes('throw new RangeError')) + 1;
    const position = output.originalPosition(throwLine, lines[throwLine - 1]?.indexOf('throw') ?? 0);
    assert.equal(output.sources[position?.source ?? -1], '../src/account.ts');
    assert.equal(position?.line, 5);
  });

  it('rebases the input map’s sources on the output’s directory, and on the input’s for sites', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const { code, map } = compile(dir);
    // The map lives in maps/, with a sourceRoot: its sources resolve against maps/ + sourceRoot.
    mkdirSync(join(dir, 'dist'));
    mkdirSync(join(dir, 'maps'));
    writeFileSync(
      join(dir, 'maps', 'account.js.map'),
      JSON.stringify({ ...map, sourceRoot: '../src', sources: ['account.ts'] }),
    );
    const input = `${code}\n//# sourceMappingURL=../maps/account.js.map\n`;
    const request = { filename: join(dir, 'dist', 'account.js'), format: 'module', root: dir } as const;
    // Written two levels deeper than the input: the sources say how to get back to src/.
    const deep = instrumentFile(input, {
      ...request,
      sourceMaps: 'separate',
      outputFile: join(dir, 'out', 'deep', 'account.js'),
    });
    assert.deepEqual((deep.map as SourceMapObject).sources, ['../../src/account.ts']);
    assert.equal(deep.sites?.file, 'src/account.ts');
    // Written beside the input, or inline (on the fly): relative to dist/.
    const beside = instrumentFile(input, { ...request, sourceMaps: 'separate' });
    assert.deepEqual((beside.map as SourceMapObject).sources, ['../src/account.ts']);
    const inline = instrumentFile(input, request).code;
    const data = /sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)/.exec(inline)?.[1] ?? '';
    assert.deepEqual(JSON.parse(Buffer.from(data, 'base64').toString('utf8')).sources, ['../src/account.ts']);
    assert.equal(inline.match(/sourceMappingURL/g)?.length, 1);
  });

  it('warns in one line, and prints nothing itself, when the input’s map cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const printed: unknown[] = [];
    const { warn, error, log } = console;
    console.warn = console.error = console.log = (...args: unknown[]) => void printed.push(args);
    try {
      for (const [comment, problem] of [
        ['//# sourceMappingURL=missing.js.map', 'its source map missing.js.map: no such file'],
        [
          '//# sourceMappingURL=data:application/json;base64,bm90IGpzb24=',
          'its inline source map: Unexpected token',
        ],
        ['/*# sourceMappingURL=other.js.map */', 'its source map other.js.map: no such file'],
      ] as const) {
        const result = instrumentFile(`export const f = (o) => { o.a = 1; };\n${comment}\n`, {
          filename: join(dir, 'a.mjs'),
          format: 'module',
          root: dir,
          sourceMaps: 'separate',
        });
        assert.ok(
          result.sourceMapWarning?.startsWith(`${join(dir, 'a.mjs')}: ${problem}`),
          String(result.sourceMapWarning),
        );
        assert.match(result.sourceMapWarning ?? '', /; the output maps to the file as given$/);
        assert.doesNotMatch(result.sourceMapWarning ?? '', /\n/);
        // The output maps to the file itself, and names only its own map.
        assert.deepEqual((result.map as SourceMapObject).sources, ['a.mjs']);
        assert.deepEqual(result.code.match(/sourceMappingURL=\S+/g), ['sourceMappingURL=a.mjs.map']);
      }
    } finally {
      Object.assign(console, { warn, error, log });
    }
    assert.deepEqual(printed, []);
  });

  it('keeps stack traces on the original lines, and on the original file with --enable-source-maps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-maps-'));
    const typescript = instrument(ORIGINAL, 'stack.ts');
    const file = join(dir, 'stack.mjs');
    writeFileSync(file, typescript);
    const runner = join(dir, 'runner.mjs');
    writeFileSync(
      runner,
      [
        'globalThis.__probeLog = [];',
        `const { withdraw } = await import(${JSON.stringify(pathToFileURL(file).href)});`,
        'try { withdraw({ balance: 1 }, 5); } catch (error) { console.log(error.stack.split("\\n")[1]); }',
      ].join('\n'),
    );
    const plain = spawnSync(process.execPath, [runner], { encoding: 'utf8' });
    assert.match(plain.stdout, /stack\.mjs:5:\d+\)?$/m, plain.stderr);
    const mapped = spawnSync(process.execPath, ['--enable-source-maps', runner], { encoding: 'utf8' });
    assert.match(mapped.stdout, /stack\.ts:5:11\)?$/m, mapped.stderr);
  });
});
