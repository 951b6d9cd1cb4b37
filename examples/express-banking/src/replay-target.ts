// How `causeway export --format test` runs the bank (docs/export-test.md, "The target"): the app
// in-process with its account store gated, and a transfer rebuilt from what the trace recorded of
// it. BANK_TRANSFERS=atomic replays against the fixed transfer (transferMoneyAtomically).

import type { RecordedCall, RecordedRequest, ReplayTarget } from '@causeway/instrumentation/replay';
import { MemoryAccountStore, OPENING_ACCOUNTS } from './accounts.ts';
import { createApp } from './app.ts';
import { OrderService } from './orders.ts';

function recorded(calls: readonly RecordedCall[], method: string, ordinal: number): RecordedCall | undefined {
  return calls.find((call) => call.method === method && call.ordinal === ordinal);
}

function recordedProperty(pairs: readonly [string, unknown][] | undefined, name: string): unknown {
  return pairs?.find(([property]) => property === name)?.[1];
}

/**
 * The trace has a transfer's method and path, not its body; it has what the transfer did: the
 * accounts its two `find`s read and the balance its first `save` wrote. That is the body again.
 */
function transferBody(request: RecordedRequest): { from: unknown; to: unknown; amount: unknown } {
  const payer = recorded(request.calls, 'MemoryAccountStore.find', 1);
  const payee = recorded(request.calls, 'MemoryAccountStore.find', 2);
  const debit = recorded(request.calls, 'MemoryAccountStore.save', 1);
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
      `request ${request.request} (POST /transfers): the trace does not hold its accounts and amount (captured: ${JSON.stringify({ from, to, before, after })})`,
    );
  }
  return { from, to, amount: before - after };
}

export const replayTarget: ReplayTarget = {
  start(gate) {
    // No simulated latency: the gates decide the order, not the clock.
    const store = gate.wrap(new MemoryAccountStore(OPENING_ACCOUNTS, 0));
    const app = createApp({
      store,
      orders: new OrderService(),
      fixed: process.env.BANK_TRANSFERS === 'atomic',
    });
    return {
      listener: app,
      read: async (key, property) =>
        (await store.find(key))[property as keyof Awaited<ReturnType<typeof store.find>>],
      close: () => store.close(),
    };
  },
  requestFor(request) {
    if (request.method === 'POST' && request.path === '/transfers') {
      return { method: 'POST', path: '/transfers', body: transferBody(request) };
    }
    return { method: request.method, path: request.path };
  },
};
