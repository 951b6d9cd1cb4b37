import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ExitCode } from '../src/errors.ts';
import { causewayIn, runIn, tempDir } from './fixtures.ts';

describe('causeway init', () => {
  it('writes the config and the npm scripts, then changes nothing on a second run', async () => {
    const dir = tempDir();
    const original = '{\n    "name": "demo",\n    "scripts": { "test": "node --test" }\n}\n';
    writeFileSync(join(dir, 'package.json'), original);
    const first = await runIn(dir, ['init']);
    assert.equal(first.status, ExitCode.Ok, first.stderr);
    assert.match(first.stdout, /wrote .*causeway\.config\.json/);
    assert.match(
      first.stdout,
      /added npm scripts to .*package\.json: causeway:run, causeway:traces, causeway:analyze, causeway:check/,
    );
    const config = JSON.parse(readFileSync(join(dir, 'causeway.config.json'), 'utf8'));
    assert.deepEqual(config, { traceDir: '.causeway/traces', accesses: 'all' });
    const pkgText = readFileSync(join(dir, 'package.json'), 'utf8');
    assert.match(pkgText, /^\{\n {4}"name"/, 'keeps the indentation');
    const pkg = JSON.parse(pkgText);
    assert.equal(pkg.scripts.test, 'node --test');
    assert.equal(pkg.scripts['causeway:run'], 'causeway run -- node .');
    assert.equal(pkg.scripts['causeway:check'], 'causeway analyze --trace-id latest --fail-on high');

    const second = await runIn(dir, ['init']);
    assert.equal(second.status, ExitCode.Ok);
    assert.match(
      second.stdout,
      /^causeway init: nothing to do in .*: the config file and the npm scripts are already there\.\n/,
    );
    assert.equal(readFileSync(join(dir, 'package.json'), 'utf8'), pkgText);
  });

  it('never replaces an existing config file or script', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'x', scripts: { 'causeway:run': 'causeway run -- node dist/main.js' } }),
    );
    writeFileSync(join(dir, 'causeway.config.ts'), 'export default { service: "x" };\n');
    const result = causewayIn(dir, ['init']);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.equal(existsSync(join(dir, 'causeway.config.json')), false);
    assert.match(
      result.stdout,
      /kept as they are: causeway\.config\.ts \(exists\); script causeway:run \(exists: "causeway run -- node dist\/main\.js"\)/,
    );
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts['causeway:run'], 'causeway run -- node dist/main.js');
    assert.equal(pkg.scripts['causeway:traces'], 'causeway traces');
  });

  it('refuses a directory without package.json, or with a broken one (exit 2)', async () => {
    const none = await runIn(tempDir(), ['init']);
    assert.equal(none.status, ExitCode.BadInput);
    assert.match(
      none.stderr,
      /package\.json: no package\.json here; run 'npm init' first, or point --dir at the project\n$/,
    );
    const broken = tempDir();
    writeFileSync(join(broken, 'package.json'), '{ "name": ');
    const result = await runIn(broken, ['init']);
    assert.equal(result.status, ExitCode.BadInput);
    assert.match(result.stderr, /package\.json: not valid JSON .*; fix it first\n$/);
    assert.equal(existsSync(join(broken, 'causeway.config.json')), false, 'nothing written');
    const extra = await runIn(broken, ['init', 'somewhere']);
    assert.equal(extra.status, ExitCode.Usage);
    assert.match(
      extra.stderr,
      /init: unexpected argument 'somewhere'; to set up another directory, use --dir DIR/,
    );
  });
});

describe('causeway run', () => {
  it('records an instrumented program, passes its exit code through and says where the trace went', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'causeway.config.json'), '{ "traceDir": "out" }');
    writeFileSync(
      join(dir, 'app.mjs'),
      [
        'const account = { balance: 100 };',
        'const pause = () => new Promise((resolve) => setTimeout(resolve, 5));',
        'async function withdraw(n) { const b = account.balance; await pause(); account.balance = b - n; }',
        'await Promise.all([withdraw(30), withdraw(50)]);',
        'process.exit(account.balance === 50 ? 3 : 4);',
      ].join('\n'),
    );
    const result = causewayIn(dir, ['run', '--service', 'bank', '--', process.execPath, 'app.mjs']);
    assert.equal(result.status, 3, result.stderr);
    const match = /causeway: trace ([0-9a-f]{32}) \(bank\) written to (.*\.cwtrace)\n/.exec(result.stderr);
    assert.ok(match, result.stderr);
    assert.ok((match[2] as string).startsWith(join(dir, 'out')), 'into the configured trace directory');
    const analyzed = causewayIn(dir, [
      'analyze',
      '--trace-id',
      (match[1] as string).slice(0, 8),
      '--fail-on',
      'lost-update',
    ]);
    assert.equal(analyzed.status, ExitCode.FindingsMatched, analyzed.stderr);
    assert.match(analyzed.stdout, /Lost update on object #\d+ \.balance/);
  });

  it('rejects a missing command, and a command that does not exist (exit 2)', async () => {
    const dir = tempDir();
    const missing = await runIn(dir, ['run']);
    assert.equal(missing.status, ExitCode.Usage);
    assert.match(missing.stderr, /run: missing the command to run, after '--'/);
    const nothing = await runIn(dir, ['run', '--', 'causeway-no-such-command']);
    assert.equal(nothing.status, ExitCode.Usage);
    assert.match(nothing.stderr, /run: cannot start 'causeway-no-such-command' \(no such command on PATH\)/);
    const badLevel = await runIn(dir, ['run', '--accesses', 'some', '--', 'node']);
    assert.equal(badLevel.status, ExitCode.Usage);
    assert.match(badLevel.stderr, /--accesses: accesses is "some"; expected all, writes or off/);
  });
});
