// Every file kind the issue names (.js .jsx .mjs .cjs .ts .tsx .mts .cts, ES modules and
// CommonJS) is instrumented on the fly and by `causeway instrument`, and runs as it did. Node does
// not compile JSX: a stand-in JSX compiler hook (registered before Causeway's, so Causeway
// instruments what it returns on the fly) turns `<tag id="x" />` into a call.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readTraceFile } from '@causeway/core/trace-file';

const REGISTER = fileURLToPath(import.meta.resolve('@causeway/instrumentation/register'));
const PROBES = fileURLToPath(import.meta.resolve('@causeway/instrumentation/probes'));
const CAUSEWAY = fileURLToPath(new URL('../packages/cli/bin/causeway.js', import.meta.url));

const TREE: Record<string, string> = {
  'package.json': '{ "type": "module" }',
  'main.js': [
    "import { a } from './m.mjs';",
    "import { b } from './t.ts';",
    "import { c } from './mt.mts';",
    "import cjs from './c.cjs';",
    "import cts from './ct.cts';",
    "import js from './cjs/plain.js';",
    "import { jsx } from './view.jsx';",
    "import { tsx } from './view.tsx';",
    "const parts = { sep: ' ' };",
    'console.log([a(1), b(2), c(3), cjs.d(4), cts.e(5), js.f(6), jsx(), tsx()].join(parts.sep));',
  ].join('\n'),
  'm.mjs': 'export const a = (n) => n + 1;\n',
  't.ts': 'export const b = (n: number): number => n + 1;\n',
  'mt.mts': 'export const c = (n: number): number => n + 1;\n',
  'c.cjs': 'exports.d = (n) => n + 1;\n',
  'ct.cts': 'import type { X } from "./t.ts";\nexports.e = (n: number): number => n + 1;\n',
  'cjs/package.json': '{ "type": "commonjs" }',
  'cjs/plain.js': 'exports.f = function (n) { return n + 1; };\n',
  'view.jsx':
    'const h = (tag, props) => tag + JSON.stringify(props);\nexport const jsx = () => <b id="j" />;\n',
  'view.tsx':
    'const h = (tag: string, props: object) => tag + JSON.stringify(props);\nexport const tsx = (): string => <i id="t" />;\n',
  'jsx-hook.mjs': `
    import { readFileSync } from 'node:fs';
    import { registerHooks } from 'node:module';
    registerHooks({
      load(url, context, nextLoad) {
        if (!/\\.[jt]sx$/.test(url)) return nextLoad(url, context);
        let text = readFileSync(new URL(url), 'utf8').replace(/<(\\w+) (\\w+)="(\\w+)" \\/>/g, 'h("$1", { $2: "$3" })');
        if (url.endsWith('.tsx')) text = text.replace(/: (string|object|number)/g, '');
        return { format: 'module', source: text, shortCircuit: true };
      },
    });
  `,
};

const EXPECTED = '2 3 4 5 6 7 b{"id":"j"} i{"id":"t"}\n';
const CODE_FILES = [
  'c.cjs',
  'cjs/plain.js',
  'ct.cts',
  'm.mjs',
  'main.js',
  'mt.mts',
  't.ts',
  'view.jsx',
  'view.tsx',
];

function makeTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-modules-'));
  for (const [name, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, 'app', name)), { recursive: true });
    writeFileSync(join(dir, 'app', name), text);
  }
  return dir;
}

function node(cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('module kinds', () => {
  it('all eight extensions, ES modules and CommonJS, run instrumented on the fly', () => {
    const dir = join(makeTree(), 'app');
    const plain = node(dir, ['--import', './jsx-hook.mjs', 'main.js']);
    assert.equal(plain.stdout, EXPECTED, plain.stderr);
    const traceFile = join(dir, 'out.cwtrace');
    const run = node(dir, ['--import', './jsx-hook.mjs', '--import', REGISTER, 'main.js'], {
      CAUSEWAY_TRACE_FILE: traceFile,
      CAUSEWAY_QUIET: '1',
    });
    assert.equal(run.stdout, EXPECTED, run.stderr);
    const files = readTraceFile(traceFile).sites.map((chunk) => chunk.table.file);
    assert.deepEqual(files.sort(), CODE_FILES);
  });

  it('all eight extensions come out of causeway instrument and run as before', () => {
    const dir = makeTree();
    const result = node(dir, [
      CAUSEWAY,
      'instrument',
      'app',
      '--out-dir',
      'out',
      '--runtime',
      PROBES,
      '--exclude',
      'jsx-hook.mjs',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Instrumented 9 files into out\//m);
    const traceFile = join(dir, 'out.cwtrace');
    const run = node(join(dir, 'out'), ['--import', './jsx-hook.mjs', 'main.js'], {
      CAUSEWAY_TRACE_FILE: traceFile,
      CAUSEWAY_QUIET: '1',
    });
    assert.equal(run.stdout, EXPECTED, run.stderr);
    const files = readTraceFile(traceFile).sites.map((chunk) => chunk.table.file);
    assert.deepEqual(files.sort(), CODE_FILES);
  });
});
