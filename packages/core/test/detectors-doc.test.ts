import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RACE_CLASSES } from '../src/index.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const doc = read('docs/detectors.md');

/** Every source that holds detector tests: the Rust crate, this package's tests and the end-to-end tests. */
function testSources(): string {
  const rust = readdirSync(new URL('crates/causeway-core/src/', root)).map(
    (f) => `crates/causeway-core/src/${f}`,
  );
  const ts = readdirSync(new URL('packages/core/test/', root)).map((f) => `packages/core/test/${f}`);
  const e2e = readdirSync(new URL('test/', root))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `test/${f}`);
  return [...rust, ...ts, ...e2e].map(read).join('\n');
}

describe('docs/detectors.md', () => {
  it('names only tests that exist', () => {
    const sources = testSources();
    // Rust test names are snake_case in backticks, possibly module-qualified; TS names are sentences.
    const rustNames = [...doc.matchAll(/`(?:[a-z_]+::)?([a-z]+(?:_[a-z0-9]+){3,})`/g)].map(
      (m) => m[1] as string,
    );
    const tsNames = [...doc.matchAll(/`(reports [^`]+)`/g)].map((m) => m[1] as string);
    assert.ok(rustNames.length >= 15, `found ${rustNames.length} Rust test names`);
    assert.ok(tsNames.length >= 2, `found ${tsNames.length} TypeScript test names`);
    for (const name of rustNames) assert.match(sources, new RegExp(`fn ${name}\\(`), name);
    for (const name of tsNames) assert.ok(sources.includes(`it('${name}'`), name);
  });

  it('lists the classes CausalTrace reports, as it spells them', () => {
    const api = read('packages/core/src/causal-trace.ts');
    const reported = [...doc.matchAll(/^\| `([a-z-]+)`\s+\|[^|]+\| yes /gm)].map((m) => m[1] as string);
    assert.deepEqual(reported, [...RACE_CLASSES]);
    for (const name of reported) assert.ok(api.includes(`'${name}'`), name);
  });
});
