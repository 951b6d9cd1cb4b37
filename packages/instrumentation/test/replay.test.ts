// The replay harness and its scheduler (docs/export-test.md): a recorded order of gated calls is
// followed exactly, whatever the event loop would have done, and a code change that makes the
// order impossible fails with "trace diverged at step N".

import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import {
  assertEveryChangeApplied,
  type ReplayRecording,
  type ReplayStep,
  type ReplayTarget,
  replayRecording,
} from '../src/replay/index.ts';

/** A store whose reads and writes each take a while, as a database's would. */
class CounterStore {
  value = 0;

  async get(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return this.value;
  }

  async set(value: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.value = value;
  }
}

type Handler = (store: CounterStore, amount: number, res: ServerResponse) => Promise<void>;

/** Read, then write back: the racy way. */
const readThenWrite: Handler = async (store, amount, res) => {
  const value = await store.get();
  await store.set(value + amount);
  res.end('ok');
};

function target(handler: Handler, path = '/add'): ReplayTarget {
  return {
    start(gate) {
      const store = gate.wrap(new CounterStore());
      return {
        listener: (req: IncomingMessage, res: ServerResponse) => {
          if (req.url !== path) {
            res.statusCode = 404;
            res.end();
            return;
          }
          const { amount } = (req as IncomingMessage & { body: { amount: number } }).body;
          handler(store, amount, res).catch(() => {
            res.statusCode = 500;
            res.end();
          });
        },
        read: async () => store.value,
      };
    },
    requestFor: (recorded) => ({ method: 'POST', path: '/add', body: { amount: recorded.request } }),
  };
}

function step(request: number, method: string): ReplayStep {
  return { request, method: `CounterStore.${method}`, ordinal: 1 };
}

/** Two requests adding 1 and 2 to a counter at 0, in the given order of calls. */
function recording(steps: ReplayStep[]): ReplayRecording {
  const calls = [
    { method: 'CounterStore.get', ordinal: 1, reads: [], writes: [] },
    { method: 'CounterStore.set', ordinal: 1, reads: [], writes: [] },
  ];
  return {
    version: 1,
    traceId: '0123456789abcdef0123456789abcdef',
    gatedClass: 'CounterStore',
    requests: [
      { request: 1, method: 'POST', path: '/add', status: 200, calls },
      { request: 2, method: 'POST', path: '/add', status: 200, calls },
    ],
    leftOut: [],
    steps,
    invariants: [
      {
        finding: 'Lost update on object #1 .value',
        key: 'counter',
        property: 'value',
        initial: 0,
        changes: [
          { request: 1, change: 1 },
          { request: 2, change: 2 },
        ],
        expected: 3,
        recordedFinal: 2,
      },
    ],
  };
}

const interleaved = [step(1, 'get'), step(2, 'get'), step(1, 'set'), step(2, 'set')];

describe('replayRecording', () => {
  it('follows the recorded interleaving: both read 0, the later write wins, and the invariant fails', async () => {
    const rec = recording(interleaved);
    for (let i = 0; i < 5; i++) {
      const outcome = await replayRecording(target(readThenWrite), rec);
      assert.deepEqual(outcome.statuses, [200, 200]);
      assert.deepEqual(outcome.values, [2]);
      assert.throws(
        () => assertEveryChangeApplied(rec, outcome, 0),
        /counter\.value should be 0 \+1 \+2 = 3 \(every request's change applied\), but is 2 \(the recorded run ended at 2\): an update was lost/,
      );
    }
  });

  it('keys steps by request, not by arrival: the opposite order loses the other update', async () => {
    const outcome = await replayRecording(
      target(readThenWrite),
      recording([step(2, 'get'), step(1, 'get'), step(2, 'set'), step(1, 'set')]),
    );
    assert.deepEqual(outcome.values, [1]);
  });

  it('a serial order loses nothing: the invariant holds', async () => {
    const rec = recording([step(1, 'get'), step(1, 'set'), step(2, 'get'), step(2, 'set')]);
    const outcome = await replayRecording(target(readThenWrite), rec);
    assert.deepEqual(outcome.values, [3]);
    assertEveryChangeApplied(rec, outcome, 0);
  });

  it('code that now writes before it reads cannot follow the schedule: trace diverged at step 1', async () => {
    const writeFirst: Handler = async (store, amount, res) => {
      await store.set(amount);
      await store.get();
      res.end('ok');
    };
    await assert.rejects(
      replayRecording(target(writeFirst), recording(interleaved)),
      new Error(
        'trace diverged at step 1: expected request 1 (POST /add), CounterStore.get #1, got: request 1 waiting at CounterStore.set #1; request 2 waiting at CounterStore.set #1',
      ),
    );
  });

  it('a request that now answers otherwise than recorded diverges at its next step', async () => {
    await assert.rejects(
      replayRecording(target(readThenWrite, '/renamed'), recording(interleaved)),
      /^Error: trace diverged at step 1: expected request 1 \(POST \/add\), CounterStore\.get #1, got: request 1 answered 404 \(recorded 200\)$/,
    );
  });

  it('a request that no longer makes a recorded call skips it, and the replay says so', async () => {
    const atomic: Handler = async (store, amount, res) => {
      store.value += amount;
      await store.get();
      res.end('ok');
    };
    const rec = recording(interleaved);
    const outcome = await replayRecording(target(atomic), rec);
    assert.deepEqual(outcome.values, [3]);
    assert.deepEqual(outcome.notes, [
      'request 1 answered without making CounterStore.set #1 (the code no longer makes them)',
      'request 2 answered without making CounterStore.set #1 (the code no longer makes them)',
    ]);
  });
});
