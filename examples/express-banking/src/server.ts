// Starts the bank: `node --import @causeway/instrumentation/register src/server.ts [options]`.

import { parseArgs } from 'node:util';
import { type AccountStore, MemoryAccountStore } from './accounts.ts';
import { createApp } from './app.ts';
import { DEFAULT_PARTNERS, OrderService } from './orders.ts';
import { PostgresAccountStore } from './postgres-accounts.ts';

const USAGE = `Usage: node src/server.ts [--port N] [--store memory|postgres] [--database-url URL] [--table NAME]
                          [--fixed] [--shipping-ms N]`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    store: { type: 'string', default: 'memory' },
    'database-url': {
      type: 'string',
      default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
    table: { type: 'string', default: 'accounts' },
    fixed: { type: 'boolean', default: false },
    'shipping-ms': { type: 'string', default: String(DEFAULT_PARTNERS.shippingMs) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
const shippingMs = Number(values['shipping-ms']);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isFinite(shippingMs) || shippingMs < 0) {
  console.error(`bank: --port must be 0..65535 and --shipping-ms a number of ms\n${USAGE}`);
  process.exit(2);
}
if (values.store !== 'memory' && values.store !== 'postgres') {
  console.error(`bank: --store must be memory or postgres, not '${values.store}'\n${USAGE}`);
  process.exit(2);
}

const store: AccountStore =
  values.store === 'postgres'
    ? await PostgresAccountStore.open(values['database-url'], values.table)
    : new MemoryAccountStore();
const orders = new OrderService({ ...DEFAULT_PARTNERS, shippingMs });
const server = createApp({ store, orders, fixed: values.fixed }).listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(
    `bank listening on http://127.0.0.1:${actual} (store ${values.store}, transfers ${values.fixed ? 'atomic' : 'racy'})`,
  );
});

function stop(): void {
  server.close(() => {
    store.close().finally(() => process.exit(0));
  });
  server.closeAllConnections();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
