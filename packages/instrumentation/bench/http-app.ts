// The HTTP server the HTTP benchmark loads (bench/http-server.ts): each request reads an account
// from an in-memory store after an await, waits a turn of the event loop (as I/O would), updates
// the balance and a short history, and answers JSON. Prints {"port":N} once listening; exits on
// SIGTERM (unhandled, so Causeway finishes its trace file as it does for any such signal).

import { createRequire } from 'node:module';

// Through require, so that OpenTelemetry's http instrumentation (which hooks require) sees it.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

interface Account {
  id: number;
  balance: number;
  history: number[];
}

const accounts = new Map<number, Account>();

async function load(id: number): Promise<Account> {
  await null;
  let account = accounts.get(id);
  if (account === undefined) {
    account = { id, balance: 100, history: [] };
    accounts.set(id, account);
  }
  return account;
}

async function deposit(id: number, amount: number): Promise<number> {
  const account = await load(id);
  await new Promise<void>((resolve) => setImmediate(resolve));
  account.balance += amount;
  account.history.push(amount);
  if (account.history.length > 16) account.history.shift();
  return account.balance;
}

const server = http.createServer(async (req, res) => {
  const url = req.url ?? '/';
  const id = Number(url.slice(url.lastIndexOf('/') + 1)) || 0;
  const balance = await deposit(id % 100, 1);
  const body = JSON.stringify({ id, balance });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 }));
});
