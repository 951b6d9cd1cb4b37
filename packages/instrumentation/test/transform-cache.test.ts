// The on-disk cache of on-the-fly instrumentation: a second run takes the instrumented code from
// the cache; a changed source or option is instrumented again.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TransformCache } from '../src/transform-cache.ts';

const REGISTER = import.meta.resolve('../src/register.ts');

function run(dir: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_QUIET: '1', CAUSEWAY_TRACE_FILE: join(dir, 'out.cwtrace'), ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

const cacheFiles = (dir: string) => readdirSync(join(dir, '.causeway', 'cache')).sort();

describe('transform cache', () => {
  it('serves the second run from .causeway/cache, and instruments a changed file again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-cache-'));
    writeFileSync(join(dir, 'main.ts'), "import { f } from './lib.ts';\nconsole.log(f(2));\n");
    writeFileSync(join(dir, 'lib.ts'), 'export function f(n: number): number { return n * 21; }\n');
    assert.equal(run(dir), '42\n');
    const first = cacheFiles(dir);
    assert.equal(first.length, 2);
    assert.ok(first.every((name) => /^[0-9a-f]{64}\.js$/.test(name)));

    // Prove the cache is read: replace lib.ts's entry with other code.
    const libEntry = first.find((name) =>
      readFileSync(join(dir, '.causeway', 'cache', name), 'utf8').includes('"lib.ts"'),
    );
    assert.ok(libEntry);
    writeFileSync(
      join(dir, '.causeway', 'cache', libEntry),
      'export function f() { return "from the cache"; }\n',
    );
    assert.equal(run(dir), 'from the cache\n');

    // A changed source, or another access level, is another key: instrumented afresh.
    writeFileSync(join(dir, 'lib.ts'), 'export function f(n: number): number { return n * 10; }\n');
    assert.equal(run(dir), '20\n');
    assert.equal(cacheFiles(dir).length, 3);
    assert.equal(run(dir, { CAUSEWAY_ACCESSES: 'off' }), '20\n');
    assert.equal(cacheFiles(dir).length, 5);
  });

  it('keys on every input, and ignores a directory it cannot write', () => {
    // Under a regular file: no directory can be made there.
    const file = join(mkdtempSync(join(tmpdir(), 'causeway-cache-')), 'a-file');
    writeFileSync(file, '');
    const cache = new TransformCache(join(file, 'cache'));
    const key = cache.key(['/a.ts', 'module', 'code']);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(cache.key(['/a.ts', 'module', 'code']), key);
    assert.notEqual(cache.key(['/a.ts', 'commonjs', 'code']), key);
    assert.notEqual(cache.key(['/a.ts', 'module', 'code2']), key);
    cache.set(key, 'x');
    assert.equal(cache.get(key), null);
  });
});
