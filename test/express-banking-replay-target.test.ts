// express-banking's replay target (examples/express-banking/src/replay-target.ts): the balances a
// replay on PostgreSQL seeds its table with are those the recorded run started from.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedRequest, ReplayRecording } from '@causeway/instrumentation/replay';
import { recordedBalances } from '../examples/express-banking/src/replay-target.ts';

function transfer(request: number, payer: string, balance: number): RecordedRequest {
  return {
    request,
    method: 'POST',
    path: '/transfers',
    status: 200,
    atMs: null,
    headers: [],
    body: { notCaptured: true },
    calls: [
      {
        method: 'PostgresAccountStore.find',
        ordinal: 1,
        reads: [
          ['id', payer],
          ['balance', balance],
        ],
        writes: [],
      },
    ],
    outgoing: [],
  };
}

describe('express-banking replay target: recordedBalances', () => {
  it('seeds from the invariant first value, else the first read in schedule order, not request order', () => {
    // Request 1's find ran after request 2's save: it read 990. The schedule says so.
    const recording: ReplayRecording = {
      version: 2,
      traceId: '0123456789abcdef0123456789abcdef',
      clock: { originMs: 0 },
      gatedClass: 'PostgresAccountStore',
      requests: [transfer(1, 'bob', 990), transfer(2, 'bob', 1000), transfer(3, 'alice', 980)],
      leftOut: [],
      steps: [2, 1, 3].map((request) => ({
        request,
        method: 'PostgresAccountStore.find',
        ordinal: 1,
        atMs: null,
      })),
      invariants: [
        {
          finding: 'Lost update',
          key: 'alice',
          property: 'balance',
          initial: 1000,
          changes: [],
          expected: 1000,
          recordedFinal: 980,
        },
      ],
    };
    assert.deepEqual([...recordedBalances(recording)].sort(), [
      ['alice', 1000],
      ['bob', 1000],
    ]);
  });
});
