// End to end: a value read before the code that initialises it has run, in a program recorded
// under `--import @causeway/instrumentation/register`, is reported as an order violation.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildTraceReport, loadTraceFile } from '@causeway/core';

const REGISTER = fileURLToPath(import.meta.resolve('@causeway/instrumentation/register'));

const PROGRAM = `
const settings: { greeting?: { text: string } } = {};
// Loading the settings takes a while; a request arrives first and reads them.
setTimeout(function loadSettings() { settings.greeting = { text: 'hello' }; }, 30);
setTimeout(function handleRequest() { console.log(settings.greeting?.text ?? '(no greeting yet)'); }, 5);
`;

describe('order violation', () => {
  it('reports a read of undefined before an unordered initialisation, with both sites', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-order-'));
    writeFileSync(join(dir, 'main.ts'), PROGRAM);
    const traceFile = join(dir, 'main.cwtrace');
    const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
      cwd: dir,
      env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '(no greeting yet)\n');

    const loaded = loadTraceFile(traceFile);
    const { findings } = buildTraceReport(traceFile, loaded);
    loaded.trace.dispose();
    const violation = findings.find((f) => f.class === 'order-violation');
    assert.ok(violation, JSON.stringify(findings.map((f) => f.story)));
    assert.equal(violation.evidence, 'observed');
    assert.equal(violation.severity, 'high');
    assert.equal(violation.location.property, '.greeting');
    const [read, write] = violation.accesses;
    assert.deepEqual(
      [read?.kind, read?.value, read?.site?.functionName],
      ['read', 'undefined', 'handleRequest'],
    );
    assert.deepEqual([write?.kind, write?.site?.functionName], ['write', 'loadSettings']);
    assert.match(violation.story, /before it was initialised; then task #\d+ wrote object #\d+ to/);
  });
});
