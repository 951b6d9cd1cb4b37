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
