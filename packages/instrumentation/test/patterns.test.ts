// Reads an object pattern makes, under the real runtime: `const { balance } = account`, an await,
// then a write of account.balance, in two concurrent flows, is the lost update of a plain read.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadTraceFile } from '@causeway/core';

const REGISTER = import.meta.resolve('../src/register.ts');

describe('object patterns under the runtime', () => {
  it('find a lost update whose read is a destructuring declaration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-patterns-'));
    writeFileSync(
      join(dir, 'main.ts'),
      `
      const account = { balance: 100 };
      async function withdraw(amount: number) {
        const { balance } = account;
        await new Promise((resolve) => setTimeout(resolve, 1));
        account.balance = balance - amount;
      }
      await Promise.all([withdraw(10), withdraw(20)]);
      console.log(account.balance);
    `,
    );
    const traceFile = join(dir, 'out.cwtrace');
    const result = spawnSync(process.execPath, ['--import', REGISTER, 'main.ts'], {
      cwd: dir,
      env: { ...process.env, CAUSEWAY_TRACE_FILE: traceFile, CAUSEWAY_QUIET: '1' },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), '80');
    const { trace } = loadTraceFile(traceFile);
    try {
      assert.ok(trace.findings().some((finding) => finding.class === 'lost-update'));
    } finally {
      trace.dispose();
    }
  });
});
