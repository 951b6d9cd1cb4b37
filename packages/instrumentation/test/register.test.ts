// Runs small applications under `--import @causeway/instrumentation/register` in child processes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { loadTraceFile } from '@causeway/core';
import { decodeRecords, EdgeKind, EventKind } from '@causeway/core/event-format';
import { readTraceFile } from '@causeway/core/trace-file';

const APP: Record<string, string> = {
  'main.ts': [
    "import { double } from './esm-helper.mts';",
    "import { createRequire } from 'node:module';",
    "import { third } from 'dep';",
    'const require = createRequire(import.meta.url);',
    "const { triple } = require('./cjs-helper.cjs');",
    'async function main(): Promise<void> {',
    '  const value = await Promise.resolve(double(triple(7)));',
    "  console.log('result', value, third(9));",
    '}',
    'await main();',
  ].join('\n'),
  'esm-helper.mts': 'export const double = (n: number): number => n * 2;\n',
  'cjs-helper.cjs': 'exports.triple = function triple(n) { return n * 3; };\n',
  'node_modules/dep/package.json': '{ "name": "dep", "type": "module", "exports": "./index.js" }',
  'node_modules/dep/index.js': 'export function third(n) { return n / 3; }\n',
};

function makeApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-app-'));
  for (const [name, text] of Object.entries(APP)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

// The temporary app has no node_modules/@causeway, so it is given the register module by URL.
const REGISTER = import.meta.resolve('../src/register.ts');

function runApp(dir: string, env: Record<string, string>, entry = 'main.ts') {
  return spawnSync(process.execPath, ['--import', REGISTER, entry], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('register', () => {
  it('instruments the application’s ES modules, TypeScript and CommonJS, and not node_modules', () => {
    const dir = makeApp();
    const traceFile = join(dir, 'out.cwtrace');
    const result = runApp(dir, { CAUSEWAY_TRACE_FILE: traceFile });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'result 42 3\n');
    assert.match(result.stderr, /^causeway: trace [0-9a-f]{32} written to out\.cwtrace \(\d+ records\)\n$/);

    const trace = readTraceFile(traceFile);
    assert.equal(result.stderr.split(' ')[2], trace.meta.traceId, 'the summary names the trace id');
    assert.deepEqual(trace.sites.map((chunk) => chunk.table.file).sort(), [
      'cjs-helper.cjs',
      'esm-helper.mts',
      'main.ts',
    ]);
    assert.equal(trace.meta.service, 'main');
    assert.notEqual(trace.end, null);
    assert.equal(trace.end?.dropped, 0);
    const recorded = trace.events.reduce((n, chunk) => n + chunk.records.byteLength / 32, 0);
    assert.equal(trace.end?.records, recorded);
    // Site tables do not overlap: each starts where the previous one ended.
    const ranges = trace.sites
      .map((c) => [c.base, c.base + c.table.sites.length])
      .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    for (const [i, range] of ranges.entries()) assert.equal(range[0], i === 0 ? 1 : ranges[i - 1]?.[1]);
  });

  it('records property accesses with their values and keys, unless CAUSEWAY_ACCESSES=off', () => {
    const dir = makeApp();
    writeFileSync(
      join(dir, 'state.ts'),
      [
        "const user = { name: 'ada', password: 'hunter2', visits: 1 };",
        'user.visits += 1;',
        "user['name'] = 'grace';",
        "user.password = 'swordfish';",
        'console.log(user.visits);',
      ].join('\n'),
    );
    const accessesIn = (file: string) => {
      const trace = readTraceFile(file);
      const strings = trace.strings.flatMap((chunk) => chunk.strings);
      const kinds = trace.events
        .flatMap((chunk) => decodeRecords(chunk.records))
        .filter((r) => r.kind === EventKind.Read || r.kind === EventKind.Write);
      return { strings, kinds };
    };
    const full = join(dir, 'full.cwtrace');
    const result = runApp(dir, { CAUSEWAY_TRACE_FILE: full }, 'state.ts');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '2\n');
    const { strings, kinds } = accessesIn(full);
    // visits += 1 (update), name = (write), password = (write), visits (read)
    assert.deepEqual(
      kinds.map((r) => r.kind),
      [EventKind.Write, EventKind.Write, EventKind.Write, EventKind.Read],
    );
    assert.ok(strings.includes('visits') && strings.includes('grace'));
    assert.ok(!strings.includes('swordfish'), 'a secret-looking key keeps its values out of the trace');

    const off = join(dir, 'off.cwtrace');
    assert.equal(runApp(dir, { CAUSEWAY_TRACE_FILE: off, CAUSEWAY_ACCESSES: 'off' }, 'state.ts').status, 0);
    assert.deepEqual(accessesIn(off).kinds, []);
  });

  it('keeps timer callbacks of different delays concurrent, each spawned by the program’s start', () => {
    const dir = makeApp();
    writeFileSync(
      join(dir, 'timers.ts'),
      [
        'function handle(name: string): string { return name; }',
        "setTimeout(() => handle('a'), 5);",
        "setTimeout(() => handle('b'), 10);",
      ].join('\n'),
    );
    const traceFile = join(dir, 'timers.cwtrace');
    const result = runApp(dir, { CAUSEWAY_TRACE_FILE: traceFile }, 'timers.ts');
    assert.equal(result.status, 0, result.stderr);
    const { trace } = loadTraceFile(traceFile);
    const tasks = trace.tasks();
    assert.equal(tasks.length, 3, 'the program, then one task per timer callback');
    assert.deepEqual(trace.edges(), [
      { from: 0, to: 1, kind: EdgeKind.Spawn },
      { from: 0, to: 2, kind: EdgeKind.Spawn },
    ]);
    assert.ok(trace.concurrent(1, 2));
    trace.dispose();
  });

  it('gives a forked child that inherits CAUSEWAY_TRACE_FILE a file of its own', () => {
    const dir = makeApp();
    writeFileSync(
      join(dir, 'parent.ts'),
      [
        "import { fork } from 'node:child_process';",
        "if (process.argv[2] === 'child') { console.log('child done'); } else {",
        "  const child = fork(import.meta.filename, ['child'], { stdio: 'inherit' });",
        "  child.on('exit', (code) => console.log('parent saw', code));",
        '}',
      ].join('\n'),
    );
    const traceFile = join(dir, 'family.cwtrace');
    const result = runApp(dir, { CAUSEWAY_TRACE_FILE: traceFile }, 'parent.ts');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'child done\nparent saw 0\n');
    const files = readdirSync(dir)
      .filter((name) => name.startsWith('family'))
      .sort();
    assert.equal(files.length, 2, `two trace files, got ${files}`);
    const pids = files.map((name) => readTraceFile(join(dir, name)).meta.pid);
    assert.notEqual(pids[0], pids[1]);
  });

  it('finishes the trace when the process is ended by a signal it does not handle', () => {
    const dir = makeApp();
    writeFileSync(join(dir, 'server.ts'), "console.log('up');\nsetInterval(() => {}, 1000);\n");
    const traceFile = join(dir, 'server.cwtrace');
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `const c = require('node:child_process').spawn(process.execPath, ['--import', ${JSON.stringify(REGISTER)}, 'server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] }); c.stdout.once('data', () => c.kill('SIGTERM')); c.on('exit', (code, signal) => console.log(signal));`,
      ],
      {
        cwd: dir,
        env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1' },
        encoding: 'utf8',
      },
    );
    assert.equal(child.stdout, 'SIGTERM\n', child.stderr);
    assert.notEqual(readTraceFile(traceFile).end, null, 'the END chunk was written');
  });

  it('does nothing with CAUSEWAY_ENABLED=0', () => {
    const dir = makeApp();
    const result = runApp(dir, { CAUSEWAY_ENABLED: '0' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'result 42 3\n');
    assert.equal(result.stderr, '');
    assert.equal(existsSync(join(dir, '.causeway')), false);
  });

  it('warns once and lets the application run when the trace cannot be written', () => {
    const dir = makeApp();
    writeFileSync(join(dir, 'blocker'), '');
    const result = runApp(dir, { CAUSEWAY_TRACE_FILE: join(dir, 'blocker', 'x.cwtrace') });
    assert.equal(result.status, 0);
    assert.equal(result.stdout, 'result 42 3\n');
    assert.match(
      result.stderr,
      /^causeway: warning CW_TRACE_WRITE: cannot create trace file .*blocker\/x\.cwtrace: .*; not recording\n$/,
    );
  });
});
