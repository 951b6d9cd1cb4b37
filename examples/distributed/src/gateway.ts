// gateway: GET /checkout?amount=N, the public entry point. Places the order with orders
// (ORDERS_URL) and passes a timeout on as 504 Gateway Timeout.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ordersUrl = process.env.ORDERS_URL ?? 'http://127.0.0.1:7102';

async function checkout(amount: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`${ordersUrl}/orders?amount=${amount}`, {
    method: 'POST',
    signal: AbortSignal.timeout(5000),
  });
  const body = await response.text();
  if (response.status === 504) return { status: 504, body: `checkout timed out upstream: ${body}` };
  return { status: response.ok ? 200 : 502, body };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  if (req.method !== 'GET' || url.pathname !== '/checkout') {
    res.writeHead(404).end();
    return;
  }
  const { status, body } = await checkout(Number(url.searchParams.get('amount') ?? 0));
  res.writeHead(status).end(body);
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => res.writeHead(502).end('orders unreachable'));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`gateway listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
