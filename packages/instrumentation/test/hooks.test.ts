// The load hook in process: a construct the plugin cannot rewrite gives one CW_CONSTRUCT_SKIPPED
// warning naming it, the module still loads instrumented, and a process served from the cache
// gives the same warning.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoadFnOutput, LoadHookContext } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createLoadHook } from '../src/hooks.ts';
import { TransformCache } from '../src/transform-cache.ts';

/** What `fn` writes on stderr. */
function stderrOf(fn: () => void): string {
  const original = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

describe('the load hook', () => {
  it('warns once per file about a construct left uninstrumented, also when served from the cache', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-hooks-'));
    writeFileSync(join(dir, 'main.mjs'), 'export async function f(o) {\n  return o.p + (await o.q);\n}\n');
    const load = () => {
      const hook = createLoadHook(dir, 'all', new TransformCache(join(dir, 'cache')), undefined, ['await']);
      const url = pathToFileURL(join(dir, 'main.mjs')).href;
      const nextLoad = (): LoadFnOutput => ({ format: 'module', source: undefined, shortCircuit: true });
      let result: LoadFnOutput | undefined;
      const context = { format: 'module', conditions: [], importAttributes: {} } as LoadHookContext;
      const err = stderrOf(() => {
        result = hook(url, context, nextLoad);
      });
      return { code: String(result?.source), err };
    };
    const warning = 'main.mjs:2:17: await left uninstrumented: failure injected by the failConstructs option';
    const first = load();
    assert.match(first.code, /_cw\.enterAsync\(/, 'the rest of the file is instrumented');
    assert.doesNotMatch(first.code, /_cw\.suspend\(/);
    assert.equal(
      first.err,
      `causeway: warning CW_CONSTRUCT_SKIPPED: ${warning}; it runs as written, the rest of the file is instrumented\n`,
    );
    // The cache entry keeps the warnings beside the code.
    const names = readdirSync(join(dir, 'cache')).sort();
    assert.equal(names.length, 2);
    const stored = names.find((name) => name.endsWith('.warnings.json')) ?? '';
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'cache', stored), 'utf8')), [warning]);
    // A load served from the cache gives the stored warnings (changed here, to tell them apart
    // from the warning above, which this process would not print twice).
    writeFileSync(join(dir, 'cache', stored), JSON.stringify(['stored warning']));
    const cached = load();
    assert.equal(cached.code, first.code);
    assert.match(cached.err, /^causeway: warning CW_CONSTRUCT_SKIPPED: stored warning; it runs as written/);
    assert.equal(load().err, '', 'a warning is given once per process');
  });
});
