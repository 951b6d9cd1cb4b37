import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_KEYS, configKeyNames, loadConfig, runtimeEnvironment } from '../src/config.ts';
import { ExitCode } from '../src/errors.ts';
import { runIn, tempDir, writeLostUpdateTrace } from './fixtures.ts';

describe('config', () => {
  it('uses defaults without a file, variables or flags', async () => {
    const dir = tempDir();
    const { config, file, sources } = await loadConfig({ cwd: dir, env: {} });
    assert.equal(file, null);
    assert.equal(config.traceDir, join(dir, '.causeway', 'traces'));
    assert.deepEqual(config.failOn, []);
    assert.equal(config.server, null);
    assert.equal(sources.traceDir, 'default');
  });

  it('finds the nearest config file upward and resolves traceDir against its directory', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'causeway.config.json'),
      JSON.stringify({ traceDir: 'out/traces', failOn: ['high'] }),
    );
    const nested = join(dir, 'src', 'deep');
    mkdirSync(nested, { recursive: true });
    const { config, file, sources } = await loadConfig({ cwd: nested, env: {} });
    assert.equal(file, join(dir, 'causeway.config.json'));
    assert.equal(config.traceDir, join(dir, 'out', 'traces'));
    assert.deepEqual(config.failOn, ['high']);
    assert.equal(sources.failOn, file);
  });

  it('lets variables override the file, and flags override both', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'causeway.config.json'),
      JSON.stringify({ traceDir: 'from-file', accesses: 'writes', service: 'file-svc' }),
    );
    const env = {
      CAUSEWAY_TRACE_DIR: 'from-env',
      CAUSEWAY_ACCESSES: 'off',
      CAUSEWAY_SERVER: 'http://127.0.0.1:7777/',
      CAUSEWAY_SAMPLING_RATE: '0.05',
    };
    const { config, sources } = await loadConfig({ cwd: dir, env, flags: { traceDir: 'from-flag' } });
    assert.equal(config.traceDir, join(dir, 'from-flag'));
    assert.equal(sources.traceDir, '--trace-dir');
    assert.equal(config.accesses, 'off');
    assert.equal(sources.accesses, 'CAUSEWAY_ACCESSES');
    assert.equal(config.service, 'file-svc');
    assert.deepEqual(runtimeEnvironment(config), {
      CAUSEWAY_TRACE_DIR: join(dir, 'from-flag'),
      CAUSEWAY_ACCESSES: 'off',
      CAUSEWAY_SERVICE: 'file-svc',
      CAUSEWAY_SERVER: 'http://127.0.0.1:7777',
      CAUSEWAY_SAMPLING_RATE: '0.05',
    });
  });

  it('loads a .ts config module (its default export)', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'causeway.config.ts'),
      'const settings: { ringRecords: number } = { ringRecords: 4096 };\nexport default settings;\n',
    );
    const { config } = await loadConfig({ cwd: dir, env: { CAUSEWAY_FAIL_ON: 'lost-update, race' } });
    assert.equal(config.ringRecords, 4096);
    assert.deepEqual(config.failOn, ['lost-update', 'race']);
  });

  const invalid: [string, Record<string, unknown> | string, RegExp][] = [
    ['a wrong type', { traceDir: 3 }, /causeway\.config\.json: traceDir is 3; expected a directory path/],
    [
      'an unknown key',
      { tracedir: 'x' },
      /causeway\.config\.json: unknown key 'tracedir'; the keys are traceDir, /,
    ],
    [
      'an unknown fail-on selector',
      { failOn: ['lost-updates'] },
      /failOn is \["lost-updates"\]; expected a list of lost-update, .*race, high, medium, low/,
    ],
    [
      'a ring size that is not a power of two',
      { ringRecords: 5000 },
      /ringRecords is 5000; expected a power of two/,
    ],
    ['a sampling rate above 1', { samplingRate: 1.5 }, /samplingRate is 1.5; expected a number from 0 to 1/],
    [
      'a server that is not a URL',
      { server: 'localhost:7070' },
      /server is "localhost:7070"; expected an http/,
    ],
    ['JSON that does not parse', '{ "traceDir": ', /causeway\.config\.json: not valid JSON/],
    ['a JSON array', '[]', /causeway\.config\.json: expected a JSON object of settings, got \[\]/],
  ];
  for (const [what, content, message] of invalid) {
    it(`rejects ${what} in the file, naming the file and key (exit 2)`, async () => {
      const dir = tempDir();
      writeFileSync(
        join(dir, 'causeway.config.json'),
        typeof content === 'string' ? content : JSON.stringify(content),
      );
      await assert.rejects(loadConfig({ cwd: dir, env: {} }), message);
      writeLostUpdateTrace(join(dir, 't.cwtrace'));
      const result = await runIn(dir, ['analyze', 't.cwtrace']);
      assert.equal(result.status, ExitCode.Usage);
      assert.match(result.stderr, /^causeway: [^\n]*causeway\.config\.json[^\n]*\n$/);
      assert.match(result.stderr, message);
    });
  }

  it('names the variable or flag that has a bad value', async () => {
    const dir = tempDir();
    await assert.rejects(
      loadConfig({ cwd: dir, env: { CAUSEWAY_ACCESSES: 'some' } }),
      /^ConfigError: CAUSEWAY_ACCESSES: accesses is "some"; expected all, writes or off$/,
    );
    writeLostUpdateTrace(join(dir, 't.cwtrace'));
    const result = await runIn(dir, ['analyze', 't.cwtrace', '--fail-on', 'critical']);
    assert.equal(result.status, ExitCode.Usage);
    assert.match(result.stderr, /^causeway: --fail-on: failOn is "critical"; expected a list of lost-update/);
  });

  it('refuses two config files in one directory', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'causeway.config.json'), '{}');
    writeFileSync(join(dir, 'causeway.config.js'), 'export default {};');
    await assert.rejects(
      loadConfig({ cwd: dir, env: {} }),
      /more than one config file \(causeway\.config\.json, causeway\.config\.js\); keep one/,
    );
  });

  it('is documented key for key in docs/cli.md', () => {
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` +\| `(CAUSEWAY_\w+)` +\| `(--[\w-]+)` +\|/gm)].map((m) =>
      m.slice(1, 4),
    );
    assert.deepEqual(
      rows,
      CONFIG_KEYS.map((key) => [key, configKeyNames(key).env, configKeyNames(key).flag]),
    );
  });
});
