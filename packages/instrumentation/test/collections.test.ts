// Collections and shared variables under the real runtime: a Map used as a cache, checked and
// then filled across an await by two concurrent tasks, and a module variable read and written
// across an await, are found as races by the core.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildTraceReport, loadTraceFile } from '@causeway/core';

const REGISTER = import.meta.resolve('../src/register.ts');

interface Recorded {
  stdout: string;
  /** The findings as the CLI reports them. */
  findings: ReturnType<typeof buildTraceReport>['findings'];
  /** The classes of CausalTrace.findings(), the core's own answer. */
  classes: string[];
}

function record(source: string): Recorded {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-collections-'));
  writeFileSync(join(dir, 'main.ts'), source);
  const traceFile = join(dir, 'out.cwtrace');
  const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  const loaded = loadTraceFile(traceFile);
  try {
    return {
      stdout: result.stdout,
      findings: buildTraceReport(traceFile, loaded).findings,
      classes: loaded.trace.findings().map((finding) => finding.class),
    };
  } finally {
    loaded.trace.dispose();
  }
}

const CACHE = (make: string) => `
let loads = 0;
const cache = ${make};
async function load(key: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  loads += 1;
  return loads;
}
async function lookup(key: string): Promise<number> {
  if (!cache.has(key)) {
    const value = await load(key);
    cache.set(key, value);
  }
  return cache.get(key);
}
const [a, b] = await Promise.all([lookup('user:1'), lookup('user:1')]);
console.log(a, b);
`;

describe('collections under the runtime', () => {
  it('finds a cache Map checked, then filled across an await, by two concurrent tasks', () => {
    const { stdout, findings, classes } = record(CACHE('new Map<string, number>()'));
    assert.ok(classes.includes('lost-update'), String(classes));
    // The race's symptom: the first caller's value was replaced by the second's.
    assert.equal(stdout, '1 2\n');
    const onEntry = findings.filter((finding) => finding.location.property.includes('user:1'));
    assert.ok(onEntry.length > 0, JSON.stringify(findings, null, 2));
    const lostUpdate = onEntry.find((finding) => finding.class === 'lost-update');
    assert.ok(lostUpdate, JSON.stringify(onEntry, null, 2));
    assert.deepEqual(
      lostUpdate.accesses.map((access) => [access.kind, access.site?.line]),
      [
        ['read', 10],
        ['write', 12],
        ['write', 12],
      ],
    );
  });

  it('records nothing for an object that only has methods of the same names', () => {
    const { stdout, findings } = record(
      CACHE(`{
        entries: {} as Record<string, number>,
        has(key: string) { return Object.hasOwn(this.entries, key); },
        set(key: string, value: number) { this.entries[key] = value; },
        get(key: string) { return this.entries[key] as number; },
      }`),
    );
    assert.equal(stdout, '1 2\n');
    // The race is still found, through the property accesses inside the methods (lines 4-7), and
    // not at the calls (lines 14-19), whose receiver is not a Map.
    // (`loads`, a module variable, races too: its findings are not the point here.)
    const onCache = findings.filter((finding) => !finding.location.property.includes('loads'));
    assert.ok(onCache.length > 0);
    const lines = onCache.flatMap((finding) => finding.accesses.map((access) => access.site?.line ?? 0));
    assert.ok(
      lines.every((line) => line >= 4 && line <= 7),
      String(lines),
    );
  });

  it('finds a lost update on a module-level variable read and written across an await', () => {
    const { stdout, findings } = record(`
let balance = 100;
async function withdraw(amount: number): Promise<void> {
  const current = balance;
  await new Promise((resolve) => setTimeout(resolve, 1));
  balance = current - amount;
}
await Promise.all([withdraw(30), withdraw(50)]);
console.log(balance);
`);
    assert.equal(stdout, '50\n');
    const lostUpdate = findings.find((finding) => finding.class === 'lost-update');
    assert.ok(lostUpdate, JSON.stringify(findings, null, 2));
    assert.match(lostUpdate.location.property, /balance/);
    assert.deepEqual(
      lostUpdate.accesses.map((access) => [access.kind, access.value, access.site?.line]),
      [
        ['read', '100', 4],
        ['write', '70', 6],
        ['write', '50', 6],
      ],
    );
  });
});
