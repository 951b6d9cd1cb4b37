// orders: POST /orders?amount=N reserves stock, then charges through payments (PAYMENTS_URL),
// waiting at most PAYMENTS_TIMEOUT_MS (default 300 ms). When payments is too slow the charge
// times out, placeOrder fails and orders answers 504.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const paymentsUrl = process.env.PAYMENTS_URL ?? 'http://127.0.0.1:7103';
const paymentsTimeoutMs = Number(process.env.PAYMENTS_TIMEOUT_MS ?? 300);
/** The work of reserving stock (bench.ts sets 0). */
const workMs = Number(process.env.WORK_MS ?? 2);

const stock = { widgets: 1000 };

async function reserveStock(quantity: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, workMs));
  stock.widgets -= quantity;
}

async function chargePayment(amount: number): Promise<string> {
  const response = await fetch(`${paymentsUrl}/charge?amount=${amount}`, {
    method: 'POST',
    signal: AbortSignal.timeout(paymentsTimeoutMs),
  });
  const receipt = (await response.json()) as { id: string };
  return receipt.id;
}

function confirmOrder(receipt: string): string {
  return `order-${receipt.slice(3)}`;
}

async function placeOrder(amount: number): Promise<string> {
  await reserveStock(1);
  const receipt = await chargePayment(amount);
  return confirmOrder(receipt);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://orders');
  if (req.method !== 'POST' || url.pathname !== '/orders') {
    res.writeHead(404).end();
    return;
  }
  try {
    const order = await placeOrder(Number(url.searchParams.get('amount') ?? 0));
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ order }));
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    res.writeHead(timedOut ? 504 : 502).end(timedOut ? 'payments timed out' : 'payments failed');
  }
}

const server = createServer((req, res) => {
  void handle(req, res);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`orders listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
