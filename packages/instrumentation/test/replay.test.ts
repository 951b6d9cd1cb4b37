// The replay harness and its scheduler (docs/export-test.md): a recorded order of gated calls is
// followed exactly, whatever the event loop would have done, and a code change that makes the
// order impossible fails with "trace diverged at step N".

import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import pg from 'pg';
import {
  assertEveryChangeApplied,
  type RecordedExchange,
  type RecordedRequest,
  type ReplayRecording,
  type ReplayStep,
  type ReplayTarget,
  replayRecording,
} from '../src/replay/index.ts';

/** The recorded clock's origin (wall-clock ms) in these recordings. */
const ORIGIN_MS = 1_700_000_000_000;

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

function step(request: number, method: string, atMs: number | null = null): ReplayStep {
  return { request, method: `CounterStore.${method}`, ordinal: 1, atMs };
}

/** Two requests adding 1 and 2 to a counter at 0, in the given order of calls. */
function recording(
  steps: ReplayStep[],
  outgoing: RecordedExchange[] = [],
  captured: Pick<RecordedRequest, 'headers' | 'body'> = { headers: [], body: { notCaptured: true } },
): ReplayRecording {
  const { headers, body } = captured;
  const calls = [
    { method: 'CounterStore.get', ordinal: 1, reads: [], writes: [] },
    { method: 'CounterStore.set', ordinal: 1, reads: [], writes: [] },
  ];
  return {
    version: 2,
    traceId: '0123456789abcdef0123456789abcdef',
    clock: { originMs: ORIGIN_MS },
    gatedClass: 'CounterStore',
    requests: [
      { request: 1, method: 'POST', path: '/add', status: 200, atMs: 50, headers, body, calls, outgoing },
      { request: 2, method: 'POST', path: '/add', status: 200, atMs: 60, headers, body, calls, outgoing },
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

describe('replayRecording: refused requests', () => {
  /** At most 2 in the counter: a request that would take it past answers 409. */
  const capped =
    (racy: boolean): Handler =>
    async (store, amount, res) => {
      const value = await store.get();
      if (value + amount > 2) {
        res.statusCode = 409;
        res.end('over the limit');
        return;
      }
      if (racy) await store.set(value + amount);
      else store.value = value + amount;
      res.end('ok');
    };

  it('a fix that refuses a request (409 where the recording had 200) passes: its change is not counted, and the replay says so', async () => {
    const rec = recording(interleaved);
    const outcome = await replayRecording(target(capped(false)), rec);
    assert.deepEqual(outcome.statuses, [200, 409]);
    assert.deepEqual(outcome.values, [1]);
    assertEveryChangeApplied(rec, outcome, 0);
    assert.deepEqual(outcome.notes, [
      'request 2 was refused: answered 409 (recorded 200); its remaining steps skipped: CounterStore.set #1; its change is not counted',
      'request 1 answered without making CounterStore.set #1 (the code no longer makes them)',
    ]);
  });

  it('the lost update still fails when the racy code accepts every request; a wrong value after a refusal names the refused', async () => {
    const rec = recording(interleaved);
    const outcome = await replayRecording(target(capped(true)), rec);
    assert.deepEqual(outcome.statuses, [200, 200]);
    assert.throws(() => assertEveryChangeApplied(rec, outcome, 0), /should be 0 \+1 \+2 = 3 .*but is 2/);
    assert.throws(
      () => assertEveryChangeApplied(rec, { ...outcome, statuses: [200, 409], values: [3] }, 0),
      /counter\.value should be 0 \+1 = 1 \(the change of every request that succeeded applied; request 2 was refused \(409\): their changes are not counted\), but is 3/,
    );
  });

  it('a server error where the recording had a success is still a divergence', async () => {
    const failing: Handler = async (store, _amount, res) => {
      await store.get();
      res.statusCode = 500;
      res.end();
    };
    await assert.rejects(
      replayRecording(target(failing), recording(interleaved)),
      /^Error: trace diverged at step 3: expected request 1 \(POST \/add\), CounterStore\.set #1, got: request 1 answered 500 \(recorded 200\)$/,
    );
  });

  it('every request refused leaves nothing to check: a divergence, not a pass', async () => {
    const refuseAll: Handler = async (store, _amount, res) => {
      await store.get();
      res.statusCode = 409;
      res.end();
    };
    await assert.rejects(
      replayRecording(target(refuseAll), recording(interleaved)),
      /^Error: trace diverged after the last step \(4\): every request that succeeded in the recording was refused \(409, 409\)/,
    );
  });
});

describe('replayRecording: recorded request bodies', () => {
  it('a target without requestFor sends each request as captured: its body and content type', async () => {
    const { requestFor: _, ...withoutRequestFor } = target(readThenWrite);
    const captured = {
      headers: [
        ['content-type', 'application/json'],
        ['authorization', { notCaptured: true }],
      ] as RecordedRequest['headers'],
      body: '{"amount":5}',
    };
    // Both requests add 5: serially, 10.
    const outcome = await replayRecording(
      withoutRequestFor,
      recording([step(1, 'get'), step(1, 'set'), step(2, 'get'), step(2, 'set')], [], captured),
    );
    assert.deepEqual(outcome.values, [10]);
  });

  it('a body the trace did not capture is not invented: the replay says so before sending anything', async () => {
    const { requestFor: _, ...withoutRequestFor } = target(readThenWrite);
    await assert.rejects(
      replayRecording(withoutRequestFor, recording(interleaved)),
      /^Error: request 1 \(POST \/add\): its body was not captured \(record the run with CAUSEWAY_CAPTURE=on, or give the replay target a requestFor that rebuilds it\)$/,
    );
  });
});

describe('replayRecording: the recorded clock', () => {
  it('Date.now(), new Date() and performance.now() read the time of the step the request last ran; timers still fire; all restored after', async () => {
    const RealDate = Date;
    const realPerformanceNow = performance.now;
    const seen = new Map<number, unknown[]>();
    const clocked: Handler = async (store, amount, res) => {
      const arrived = Date.now();
      const value = await store.get();
      const afterGet = [Date.now(), new Date().getTime(), performance.now(), new Date(5).getTime()];
      // A real timer, inside the replay: it fires, and the clock has not moved for this request.
      const started = process.hrtime.bigint();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const waitedMs = Number(process.hrtime.bigint() - started) / 1e6;
      await store.set(value + amount);
      seen.set(amount, [arrived, afterGet, waitedMs >= 19, Date.now(), new Date() instanceof Date]);
      res.end('ok');
    };
    const rec = recording([
      step(1, 'get', 100.25),
      step(2, 'get', 200.5),
      step(1, 'set', 300.75),
      step(2, 'set', 400),
    ]);
    await replayRecording(target(clocked), rec);
    assert.deepEqual(seen.get(1), [
      ORIGIN_MS + 50,
      [ORIGIN_MS + 100, ORIGIN_MS + 100, 100.25, 5],
      true,
      ORIGIN_MS + 300,
      true,
    ]);
    assert.deepEqual(seen.get(2), [
      ORIGIN_MS + 60,
      [ORIGIN_MS + 200, ORIGIN_MS + 200, 200.5, 5],
      true,
      ORIGIN_MS + 400,
      true,
    ]);
    assert.equal(globalThis.Date, RealDate);
    assert.equal(performance.now, realPerformanceNow);
    assert.ok(Math.abs(Date.now() - new RealDate().getTime()) < 1000 && Date.now() > ORIGIN_MS + 10 ** 10);
  });

  it('a recording without times leaves the clock alone', async () => {
    let read = 0;
    const reader: Handler = async (store, amount, res) => {
      await store.set((await store.get()) + amount);
      read = Date.now();
      res.end('ok');
    };
    const rec = recording(interleaved);
    for (const request of rec.requests) request.atMs = null;
    await replayRecording(target(reader), rec);
    assert.ok(read > ORIGIN_MS + 10 ** 10, `Date.now() read ${read}`);
  });
});

describe('replayRecording: outgoing calls answered from the recording', () => {
  /** What each request got in the recording: a price over fetch, a slot over http.get, a balance from pg. */
  const answered: RecordedExchange[] = [
    {
      kind: 'http',
      ordinal: 1,
      method: 'GET',
      url: 'http://shipping.invalid/quote',
      status: 200,
      error: null,
      headers: [
        ['content-type', 'application/json'],
        ['authorization', { notCaptured: true }],
      ],
      body: '{"price":7}',
    },
    {
      kind: 'http',
      ordinal: 2,
      method: 'GET',
      url: 'http://shipping.invalid/slot',
      status: 200,
      error: null,
      headers: [],
      body: 'slot-9',
    },
    {
      kind: 'db',
      ordinal: 1,
      statement: "SELECT balance FROM accounts WHERE id = '?'",
      rowCount: 1,
      failed: false,
      rows: [
        [
          ['__proto__', { json: '{"polluted":true}' }],
          ['balance', 5],
        ],
      ],
    },
  ];

  function getText(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get(url, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
          response.on('error', reject);
        })
        .on('error', reject);
    });
  }

  /** Adds what the outgoing calls answered: 7 + 9 + 5. */
  function usingPartners(pool: pg.Pool, extra?: () => Promise<unknown>): Handler {
    return async (store, _amount, res) => {
      const value = await store.get();
      const quote = (await (await fetch('http://shipping.invalid/quote?token=x')).json()) as {
        price: number;
      };
      const slot = await getText('http://shipping.invalid/slot');
      const { rows } = await pool.query("SELECT balance FROM accounts WHERE id = 'carol'");
      const row = rows[0] as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(row), Object.prototype, 'a column named __proto__ stays a column');
      assert.deepEqual(row.__proto__, { polluted: true });
      await extra?.();
      await store.set(value + quote.price + Number(slot.slice(5)) + (row.balance as number));
      res.end('ok');
    };
  }

  /** The target, with a pool that could connect nowhere: only the recording answers it. */
  function partnersTarget(extra?: () => Promise<unknown>, unrecorded?: 'pass'): ReplayTarget {
    const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', max: 2 });
    const base = target(usingPartners(pool, extra));
    return {
      ...base,
      outgoing: { pg, ...(unrecorded === undefined ? {} : { unrecorded }) },
      async start(gate, rec) {
        const app = await base.start(gate, rec);
        return { ...app, close: () => pool.end() };
      },
    };
  }

  it('fetch, http.get and pg queries get their recorded answers, by request and ordinal', async () => {
    const realFetch = globalThis.fetch;
    const realGet = http.get;
    const realQuery = pg.Client.prototype.query;
    const rec = recording([step(1, 'get'), step(1, 'set'), step(2, 'get'), step(2, 'set')], answered);
    const outcome = await replayRecording(partnersTarget(), rec);
    assert.deepEqual(outcome.statuses, [200, 200]);
    // Each request added 7 + 9 + 5 to what it read.
    assert.deepEqual(outcome.values, [42]);
    assert.equal(globalThis.fetch, realFetch);
    assert.equal(http.get, realGet);
    assert.equal(pg.Client.prototype.query, realQuery);
  });

  it('a call the recording does not have fails the replay: trace diverged', async () => {
    const extra = () => fetch('http://shipping.invalid/extra');
    const rec = recording(interleaved, answered);
    await assert.rejects(
      replayRecording(partnersTarget(extra), rec),
      /^Error: trace diverged at request [12], http #3: the recording has no such call, got: GET http:\/\/shipping\.invalid\/extra$/,
    );
  });

  it('a call that is not the recorded one (another URL) diverges, never matched by likeness', async () => {
    const moved: RecordedExchange[] = answered.map((call) =>
      call.kind === 'http' && call.ordinal === 1
        ? { ...call, url: 'http://shipping.invalid/v2/quote' }
        : call,
    );
    await assert.rejects(
      replayRecording(partnersTarget(), recording(interleaved, moved)),
      /^Error: trace diverged at request 1, http #1: GET http:\/\/shipping\.invalid\/v2\/quote: expected GET http:\/\/shipping\.invalid\/v2\/quote, got: GET http:\/\/shipping\.invalid\/quote$/,
    );
  });

  it("with unrecorded: 'pass', a call the recording does not have goes out, and the replay says so", async () => {
    const server = http.createServer((_req, res) => res.end('live'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let live = '';
    const extra = async () => {
      live = await (await fetch(`http://127.0.0.1:${port}/live`)).text();
    };
    try {
      const outcome = await replayRecording(
        partnersTarget(extra, 'pass'),
        recording([step(1, 'get'), step(1, 'set'), step(2, 'get'), step(2, 'set')], answered),
      );
      assert.equal(live, 'live');
      assert.deepEqual(outcome.values, [42]);
      assert.ok(
        outcome.notes.includes(
          `request 1 made http #3: GET http://127.0.0.1:${port}/live, which the recording does not have: sent`,
        ),
        outcome.notes.join('\n'),
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('an answer the trace did not capture (a body, rows) is not invented: the replay says which', async () => {
    const uncaptured: RecordedExchange[] = answered.map((call) =>
      call.kind === 'db' ? { ...call, rows: { notCaptured: true } } : call,
    );
    await assert.rejects(
      replayRecording(partnersTarget(), recording(interleaved, uncaptured)),
      /answered 500 \(recorded 200\); request [12], db #1: SELECT balance FROM accounts WHERE id = '\?': its rows \(1\) were not captured: the replay cannot answer it \(record the run with CAUSEWAY_CAPTURE=on\)/,
    );
  });
});

describe('replayRecording: a target that gives outgoing.pg something else', () => {
  it('is refused with what to do, and leaves fetch as it was', async () => {
    const realFetch = globalThis.fetch;
    await assert.rejects(
      replayRecording({ ...target(readThenWrite), outgoing: { pg: {} } }, recording(interleaved)),
      /^Error: the replay target gave outgoing\.pg, but it is not the pg module \(no Client\.prototype\.query\)$/,
    );
    assert.equal(globalThis.fetch, realFetch);
  });
});
