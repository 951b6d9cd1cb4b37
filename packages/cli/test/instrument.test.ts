import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTraceFile } from '@causeway/core';
import { instrumentTree, renderSummary } from '../src/commands/instrument.ts';
import { ExitCode } from '../src/errors.ts';
import { run } from '../src/main.ts';

const BIN = fileURLToPath(import.meta.resolve('../bin/causeway.js'));
// The temporary trees have no node_modules/@causeway: their output imports the probes by path.
const PROBES = fileURLToPath(import.meta.resolve('@causeway/instrumentation/probes'));

const TREE: Record<string, string> = {
  'package.json': '{ "name": "bank", "type": "module" }',
  'main.ts': [
    "import { deposit, account } from './lib/account.ts';",
    "const { label } = await import('./lib/label.cjs');",
    'await Promise.all([deposit(10), deposit(20)]);',
    'console.log(label(account.balance));',
  ].join('\n'),
  'lib/account.ts': [
    'export const account = { balance: 0 };',
    'export async function deposit(amount: number): Promise<void> {',
    '  const before: number = account.balance;',
    '  await new Promise((resolve) => setTimeout(resolve, 1));',
    '  account.balance = before + amount;',
    '}',
  ].join('\n'),
  'lib/label.cjs': "exports.label = function (n) { return 'balance ' + n; };\n",
  'lib/types.d.ts': 'export type Money = number;\n',
  'lib/broken.js': 'export const x = (1 + ;\n',
  'assets/logo.txt': 'not code\n',
  'node_modules/dep/index.js': 'module.exports = 1;\n',
  '.causeway/cache/0123.js': 'export const cached = 1;\n',
};

function makeTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-instrument-'));
  for (const [name, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, 'app', name)), { recursive: true });
    writeFileSync(join(dir, 'app', name), text);
  }
  return dir;
}

function causeway(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });
}

/** Every file under `dir` (relative paths) with its content. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(dir, full), readFileSync(full, 'utf8'));
  }
  return files;
}

describe('causeway instrument', () => {
  it('instruments the tree, copies other files, reports a syntax error as file:line:col and goes on', () => {
    const dir = makeTree();
    const result = causeway(dir, 'instrument', 'app', '--out-dir', 'out', '--runtime', PROBES);
    assert.equal(result.status, ExitCode.BadInput, result.stderr);
    assert.match(
      result.stderr,
      /^causeway: app\/lib\/broken\.js:1:23: cannot instrument: the parser stopped here: /,
    );
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
    assert.match(
      result.stdout,
      // main.ts's `const { label } = await import(...)` reads label: one of the three reads.
      /^Instrumented 3 files into out\/: 10 sites \(3 function, 3 await, 3 read, 1 write\)$/m,
    );
    assert.match(result.stdout, /^Copied 4 other files\.$/m);
    assert.match(result.stdout, /^ {2}node_modules\/: node_modules is excluded by default/m);
    assert.match(
      result.stdout,
      /^ {2}lib\/types\.d\.ts: a TypeScript declaration file \(copied unchanged\)$/m,
    );
    assert.match(result.stdout, /^ {2}lib\/broken\.js: syntax error \(copied unchanged\)$/m);

    const out = snapshot(join(dir, 'out'));
    assert.deepEqual([...out.keys()].sort(), [
      'assets/logo.txt',
      'lib/account.ts',
      'lib/account.ts.map',
      'lib/broken.js',
      'lib/label.cjs',
      'lib/label.cjs.map',
      'lib/types.d.ts',
      'main.ts',
      'main.ts.map',
      'package.json',
    ]);
    assert.equal(out.get('lib/broken.js'), TREE['lib/broken.js']);
    assert.equal(out.get('assets/logo.txt'), TREE['assets/logo.txt']);
    const account = out.get('lib/account.ts') ?? '';
    assert.match(account, /registerSites\(\{ v: 1, file: "lib\/account\.ts"/);
    assert.doesNotMatch(account, /: number/, 'types are stripped');
    assert.match(account, /\/\/# sourceMappingURL=account\.ts\.map\n$/);
    const map = JSON.parse(out.get('lib/account.ts.map') ?? '{}') as { sources: string[] };
    assert.deepEqual(map.sources, ['../../app/lib/account.ts']);
  });

  it('gives output that runs as the input did and records a trace with its race', () => {
    const dir = makeTree();
    writeFileSync(join(dir, 'app', 'lib', 'broken.js'), 'export const x = 1;\n');
    const plain = spawnSync(process.execPath, ['app/main.ts'], { encoding: 'utf8', cwd: dir });
    assert.equal(plain.stdout, 'balance 20\n');

    assert.equal(causeway(dir, 'instrument', 'app', '--out-dir', 'out', '--runtime', PROBES).status, 0);
    const traceFile = join(dir, 'run.cwtrace');
    const run = spawnSync(process.execPath, ['out/main.ts'], {
      encoding: 'utf8',
      cwd: dir,
      env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, plain.stdout);
    assert.match(run.stderr, /trace [0-9a-f]{32} written to run\.cwtrace/);
    const { file, trace } = loadTraceFile(traceFile);
    try {
      assert.deepEqual(file.sites.map((chunk) => chunk.table.file).sort(), [
        'lib/account.ts',
        'lib/label.cjs',
        'main.ts',
      ]);
      const findings = trace.findings();
      assert.equal(findings[0]?.class, 'lost-update');
    } finally {
      trace.dispose();
    }
  });

  it('is idempotent: instrumenting its own output, in place or elsewhere, changes nothing', () => {
    const dir = makeTree();
    writeFileSync(join(dir, 'app', 'lib', 'broken.js'), 'export const x = 1;\n');
    assert.equal(causeway(dir, 'instrument', 'app', '--out-dir', 'out', '--runtime', PROBES).status, 0);
    const first = snapshot(join(dir, 'out'));

    const again = causeway(dir, 'instrument', 'out', '--out-dir', 'out2', '--runtime', PROBES);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Instrumented 0 files into out2\/: 0 sites$/m);
    assert.match(again.stdout, /^ {2}main\.ts: already instrumented \(copied unchanged\)$/m);
    assert.deepEqual(snapshot(join(dir, 'out2')), first);

    assert.equal(causeway(dir, 'instrument', 'out', '--out-dir', 'out', '--runtime', PROBES).status, 0);
    assert.deepEqual(snapshot(join(dir, 'out')), first);
  });

  it('honours --include and --exclude, and says why a file was left alone', () => {
    const dir = makeTree();
    const result = causeway(
      dir,
      'instrument',
      'app',
      '--out-dir',
      'out',
      '--include',
      'lib/**',
      '--exclude',
      '**/*.cjs',
      '--exclude',
      '**/broken.js',
      '--runtime',
      PROBES,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Instrumented 1 file into out\/: /m);
    assert.match(result.stdout, /^ {2}main\.ts: not matched by --include \(copied unchanged\)$/m);
    assert.match(
      result.stdout,
      /^ {2}lib\/label\.cjs: excluded by --exclude \*\*\/\*\.cjs \(copied unchanged\)$/m,
    );
    assert.equal(readFileSync(join(dir, 'out', 'main.ts'), 'utf8'), TREE['main.ts']);
    assert.equal(existsSync(join(dir, 'out', 'main.ts.map')), false);
  });

  it('takes globs with a leading ./, and warns once about a glob that matches no file', () => {
    const dir = makeTree();
    const args = ['instrument', 'app', '--out-dir', 'out', '--runtime', PROBES];
    const globs = ['--include', './lib/**', '--exclude', './lib/broken.js', '--exclude', 'app/lib/**'];
    const result = causeway(dir, ...args, ...globs, '--exclude', 'app/lib/**');
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^ {2}lib\/broken\.js: excluded by --exclude \.\/lib\/broken\.js \(copied unchanged\)$/m,
    );
    assert.match(result.stdout, /^ {2}main\.ts: not matched by --include \(copied unchanged\)$/m);
    assert.match(result.stdout, /^Instrumented 2 files into out\/: /m);
    assert.equal(
      result.stderr,
      "causeway: warning: --exclude 'app/lib/**' matches no file under app/ (globs are relative to <dir>)\n",
    );
    const quiet = causeway(dir, ...args, ...globs, '-q');
    assert.equal(quiet.stderr, '');
  });

  it('loads files no package.json type decides as Node does: types stripped, CommonJS without module syntax', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-instrument-'));
    const files: Record<string, string> = {
      'package.json': '{ "name": "untyped" }',
      // CommonJS TypeScript: `import type` and `export type` vanish with the types.
      'types.ts': 'export type Count = number;\n',
      'counter.ts': [
        "import type { Count } from './types.ts';",
        'const state: { n: Count } = { n: 0 };',
        'function bump() { state.n += 1; }',
        'bump();',
        'module.exports = { state };',
        "console.log('counter', typeof module, state.n);",
      ].join('\n'),
      // CommonJS with a top-level return.
      'cli.js': [
        'const o = { x: 0 };',
        'function f() { o.x = 1; }',
        'f();',
        "console.log('cli', o.x);",
        'if (require.main !== module) return;',
        "console.log('main');",
      ].join('\n'),
      // An ES module only through `import { type T }` (kept as `import {} from`).
      'esm.ts': [
        "import { type Count } from './types.ts';",
        'const o = { n: 1 as Count };',
        'function f() { o.n += 1; }',
        'f();',
        "console.log('esm', typeof module, o.n);",
      ].join('\n'),
    };
    mkdirSync(join(dir, 'app'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'app', name), text);
    const instrumented = causeway(dir, 'instrument', 'app', '--out-dir', 'out', '--runtime', PROBES);
    assert.equal(instrumented.status, 0, instrumented.stderr + instrumented.stdout);
    for (const file of ['counter.ts', 'cli.js', 'esm.ts']) {
      const plain = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: join(dir, 'app') });
      const out = join(dir, 'out');
      const run = spawnSync(process.execPath, [file], {
        encoding: 'utf8',
        cwd: out,
        env: { ...process.env, CAUSEWAY_TRACE_FILE: join(out, `${file}.cwtrace`), CAUSEWAY_QUIET: '1' },
      });
      assert.equal(plain.status, 0, plain.stderr);
      assert.equal(run.status, 0, `${file}: ${run.stderr}`);
      assert.equal(run.stdout, plain.stdout, file);
      assert.match(readFileSync(join(out, file), 'utf8'), /registerSites/, file);
    }
  });

  it('warns in one line about a source map it cannot read, and not with -q', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-instrument-'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'package.json'), '{ "type": "module" }');
    writeFileSync(
      join(dir, 'app', 'a.js'),
      'export const f = (o) => { o.a = 1; };\n//# sourceMappingURL=missing.js.map\n',
    );
    const loud = causeway(dir, 'instrument', 'app', '--out-dir', 'out', '--runtime', PROBES);
    assert.equal(loud.status, 0, loud.stderr);
    assert.equal(
      loud.stderr,
      'causeway: warning: app/a.js: its source map missing.js.map: no such file; the output maps to the file as given\n',
    );
    assert.match(loud.stdout, /^Instrumented 1 file /m);
    const quiet = causeway(dir, 'instrument', 'app', '--out-dir', 'out2', '--runtime', PROBES, '-q');
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
  });

  it('rebases the sources of an input map on where the output is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-instrument-'));
    mkdirSync(join(dir, 'app', 'dist'), { recursive: true });
    writeFileSync(join(dir, 'app', 'package.json'), '{ "type": "module" }');
    // dist/b.js, compiled from src/b.ts (one line for one line).
    writeFileSync(
      join(dir, 'app', 'dist', 'b.js'),
      'export const f = (o) => { o.a = 1; };\n//# sourceMappingURL=b.js.map\n',
    );
    const map = { version: 3, sources: ['../src/b.ts'], names: [], mappings: 'AAAA' };
    writeFileSync(join(dir, 'app', 'dist', 'b.js.map'), JSON.stringify(map));
    const result = causeway(dir, 'instrument', 'app', '--out-dir', 'out/deep', '--runtime', PROBES);
    assert.equal(result.status, 0, result.stderr);
    const written = JSON.parse(readFileSync(join(dir, 'out', 'deep', 'dist', 'b.js.map'), 'utf8')) as {
      sources: string[];
    };
    assert.deepEqual(written.sources, ['../../../app/src/b.ts']);
  });

  it('refuses a missing directory and a bad --accesses with usage errors', () => {
    const dir = makeTree();
    const missing = causeway(dir, 'instrument', 'nope');
    assert.equal(missing.status, ExitCode.Usage);
    assert.match(missing.stderr, /^causeway: instrument: nope is not a directory/);
    const bad = causeway(dir, 'instrument', 'app', '--accesses', 'some');
    assert.equal(bad.status, ExitCode.Usage);
    assert.match(bad.stderr, /--accesses must be all, writes or off/);
    assert.match(causeway(dir, 'instrument', '--help').stdout, /^Usage: causeway instrument <dir>/);
  });

  it('lists constructs the plugin could not rewrite in the summary, and the output still runs', () => {
    const dir = makeTree();
    writeFileSync(join(dir, 'app', 'lib', 'broken.js'), 'export const x = 1;\n');
    const io = { out: (_text: string) => {}, err: (_text: string) => {}, errIsTTY: false };
    const options = {
      root: join(dir, 'app'),
      outDir: join(dir, 'out'),
      include: [],
      exclude: [],
      accesses: 'all' as const,
      runtimeModule: PROBES,
      failConstructs: ['await'],
    };
    const summary = instrumentTree(options, io);
    assert.deepEqual(summary.errors, []);
    // Files in path order: lib/account.ts, then main.ts.
    assert.deepEqual(summary.warnings, [
      'lib/account.ts:4:3: await left uninstrumented: failure injected by the failConstructs option',
      'main.ts:2:19: await left uninstrumented: failure injected by the failConstructs option',
      'main.ts:3:1: await left uninstrumented: failure injected by the failConstructs option',
    ]);
    const text = renderSummary(summary, options);
    assert.match(text, /^Left 3 constructs uninstrumented \(the plugin could not rewrite them; /m);
    assert.match(text, /^ {2}lib\/account\.ts:4:3: await left uninstrumented: /m);
    const plain = spawnSync(process.execPath, ['app/main.ts'], { encoding: 'utf8', cwd: dir });
    const run = spawnSync(process.execPath, ['out/main.ts'], {
      encoding: 'utf8',
      cwd: dir,
      env: { ...process.env, CAUSEWAY_TRACE_FILE: join(dir, 'run.cwtrace'), CAUSEWAY_QUIET: '1' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, plain.stdout);
  });

  it('shows progress on a terminal for a large tree, and none when stderr is not one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-instrument-'));
    for (let i = 0; i < 260; i++) writeFileSync(join(dir, `file-${i}.mjs`), `export const n${i} = ${i};\n`);
    for (const errIsTTY of [true, false]) {
      let err = '';
      let out = '';
      const io = {
        out: (text: string) => {
          out += text;
        },
        err: (text: string) => {
          err += text;
        },
        errIsTTY,
      };
      const code = await run(['instrument', dir, '--out-dir', `${dir}-${errIsTTY}`], io);
      assert.equal(code, ExitCode.Ok, err);
      assert.match(out, /^Instrumented 0 files into /m);
      if (errIsTTY) {
        assert.match(err, /causeway: instrumenting 250\/260 files/);
        assert.ok(err.endsWith('\r\x1b[2K'), 'the progress line is cleared at the end');
      } else {
        assert.equal(err, '');
      }
    }
  });
});
