// How `causeway export --format test` runs the bank (docs/export-test.md, "The target"): the app
// in-process with its account store gated, and each transfer sent as recorded (its body, captured
// with CAUSEWAY_CAPTURE=on) or else rebuilt from what the trace recorded of it. BANK_TRANSFERS=atomic
// replays against the fixed transfer (transferMoneyAtomically).
//
// The store is the recording's: a run recorded with --store memory replays against a
// MemoryAccountStore; one recorded with --store postgres (and CAUSEWAY_CAPTURE=on, so that the
// rows its queries returned are in the trace) against a PostgresAccountStore on a table of its
// own (DATABASE_URL, as server.ts reads it), seeded with the balances the recorded run started from
// and dropped afterwards: the database, not a recording of it, is where the update is lost.

import { randomBytes } from 'node:crypto';
import {
  type RecordedCall,
  type RecordedRequest,
  type ReplayRecording,
  type ReplayTarget,
  recordedRequest,
} from '@causeway/instrumentation/replay';
import pg from 'pg';
import { type Account, type AccountStore, MemoryAccountStore, OPENING_ACCOUNTS } from './accounts.ts';
import { createApp } from './app.ts';
import { OrderService } from './orders.ts';
import { PostgresAccountStore } from './postgres-accounts.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The request's `ordinal`-th call of the store's `name` method (`MemoryAccountStore.find` #1). */
function recorded(calls: readonly RecordedCall[], name: string, ordinal: number): RecordedCall | undefined {
  return calls.find((call) => call.method.endsWith(`.${name}`) && call.ordinal === ordinal);
}

function recordedProperty(pairs: readonly [string, unknown][] | undefined, name: string): unknown {
  return pairs?.find(([property]) => property === name)?.[1];
}

/**
 * The trace has a transfer's method and path, not its body; it has what the transfer did: the
 * accounts its two `find`s read and the balance its first `save` wrote. That is the body again.
 */
function transferBody(request: RecordedRequest): { from: unknown; to: unknown; amount: unknown } {
  const payer = recorded(request.calls, 'find', 1);
  const payee = recorded(request.calls, 'find', 2);
  const debit = recorded(request.calls, 'save', 1);
  const from = recordedProperty(payer?.reads, 'id');
  const to = recordedProperty(payee?.reads, 'id');
  const before = recordedProperty(payer?.reads, 'balance');
  const after = recordedProperty(debit?.writes, 'balance');
  if (
    typeof from !== 'string' ||
    typeof to !== 'string' ||
    typeof before !== 'number' ||
    typeof after !== 'number'
  ) {
    throw new Error(
      `request ${request.request} (POST /transfers): the trace does not hold its accounts and amount (captured: ${JSON.stringify({ from, to, before, after })}); a run on PostgreSQL needs CAUSEWAY_CAPTURE=on`,
    );
  }
  return { from, to, amount: before - after };
}

/**
 * The balances the recorded run started from, per account: an invariant's first value where the
 * recording has one (the generator takes it from the read the database answered first), else the
 * balance the first call in schedule order read.
 */
export function recordedBalances(recording: ReplayRecording): Map<string, number> {
  const balances = new Map<string, number>();
  for (const { key, property, initial } of recording.invariants) {
    if (property === 'balance') balances.set(key, initial);
  }
  for (const step of recording.steps) {
    const call = recording.requests[step.request - 1]?.calls.find(
      ({ method, ordinal }) => method === step.method && ordinal === step.ordinal,
    );
    const id = recordedProperty(call?.reads, 'id');
    const balance = recordedProperty(call?.reads, 'balance');
    if (typeof id === 'string' && typeof balance === 'number' && !balances.has(id)) balances.set(id, balance);
  }
  return balances;
}

/** A PostgresAccountStore on a fresh table seeded from the recording, and what drops the table. */
async function postgresStore(
  recording: ReplayRecording,
): Promise<{ store: AccountStore; drop: () => Promise<void> }> {
  const table = `bank_replay_${randomBytes(4).toString('hex')}`;
  const store = await PostgresAccountStore.open(DATABASE_URL, table);
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    for (const [id, balance] of recordedBalances(recording)) {
      await admin.query(`UPDATE ${table} SET balance = $1 WHERE id = $2`, [balance, id]);
    }
  } catch (error) {
    await admin.end();
    await store.close();
    throw error;
  }
  const drop = async () => {
    try {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await admin.end();
    }
  };
  return { store, drop };
}

export const replayTarget: ReplayTarget = {
  async start(gate, recording) {
    const postgres = recording.gatedClass === 'PostgresAccountStore' ? await postgresStore(recording) : null;
    // No simulated latency: the gates decide the order, not the clock.
    const store = gate.wrap(postgres?.store ?? new MemoryAccountStore(OPENING_ACCOUNTS, 0));
    const app = createApp({
      store,
      orders: new OrderService(),
      fixed: process.env.BANK_TRANSFERS === 'atomic',
    });
    return {
      listener: app,
      read: async (key, property) => (await store.find(key))[property as keyof Account],
      close: async () => {
        await store.close();
        await postgres?.drop();
      },
    };
  },
  requestFor(request) {
    // Recorded with CAUSEWAY_CAPTURE=on, the trace has the body itself.
    if (typeof request.body === 'string') return recordedRequest(request);
    if (request.method === 'POST' && request.path === '/transfers') {
      return { method: 'POST', path: '/transfers', body: transferBody(request) };
    }
    return { method: request.method, path: request.path };
  },
};
