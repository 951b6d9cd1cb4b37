// Transform speed: instruments this repository's own TypeScript sources (a fixed, real corpus)
// with the plugin, and, side by side, only strips their types with the same Babel setup, so the
// plugin's own cost shows as a ratio. Prints one JSON line.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import { instrumentSource } from '../src/transform.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROUNDS = 5;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

const files = ['packages/core/src', 'packages/instrumentation/src', 'packages/cli/src', 'babel-plugin/src']
  .flatMap((dir) => sources(join(ROOT, dir)))
  .sort()
  .map((path) => ({ path, code: readFileSync(path, 'utf8') }));
const lines = files.reduce((n, file) => n + file.code.split('\n').length, 0);

function instrumentAll(): void {
  for (const { path, code } of files)
    instrumentSource(code, { filename: path, format: 'module', root: ROOT });
}

function stripAll(): void {
  for (const { path, code } of files) {
    transformSync(code, {
      filename: path,
      babelrc: false,
      configFile: false,
      plugins: [stripTypes],
      sourceMaps: 'inline',
      retainLines: true,
    });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function time(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

// Warm-up (JIT, Babel's caches), then alternate the two sides.
instrumentAll();
stripAll();
const instrumented: number[] = [];
const stripped: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  instrumented.push(time(instrumentAll));
  stripped.push(time(stripAll));
}
const perKiloLine = (ms: number) => (ms / lines) * 1000;
console.log(
  JSON.stringify({
    files: files.length,
    lines,
    rounds: ROUNDS,
    instrumentMsPer1000Lines: perKiloLine(median(instrumented)),
    stripOnlyMsPer1000Lines: perKiloLine(median(stripped)),
    ratio: median(instrumented) / median(stripped),
  }),
);
