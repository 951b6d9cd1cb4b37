// The table of suspended invocations behind Recorder.caught.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SuspendedInvocations } from '../src/runtime/suspended.ts';

describe('SuspendedInvocations', () => {
  it('gives back the site of a suspended invocation once, and nothing for a resumed one', () => {
    const table = new SuspendedInvocations();
    table.set(1, 10);
    table.set(2, 0);
    table.set(3, 30);
    table.delete(3);
    assert.equal(table.take(1), 10);
    assert.equal(table.take(1), -1, 'taken once');
    assert.equal(table.take(2), 0, 'site 0 is a site');
    assert.equal(table.take(3), -1, 'resumed');
    assert.equal(table.size, 0);
  });

  it('keeps a long-suspended invocation whose slot later invocations reuse', () => {
    const table = new SuspendedInvocations();
    table.set(5, 55);
    // Many later invocations suspend and resume, some in 5's slot.
    for (let inv = 6; inv < 100_000; inv++) {
      table.set(inv, 7);
      table.delete(inv);
    }
    assert.equal(table.size, 1);
    assert.equal(table.take(5), 55);
    assert.equal(table.size, 0);
    // And ids past 2^32 still map to their own entries.
    const big = 2 ** 33 + 5;
    table.set(big, 9);
    table.set(5, 1);
    assert.equal(table.take(big), 9);
    assert.equal(table.take(5), 1);
  });
});
