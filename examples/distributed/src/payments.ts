// payments: POST /charge?amount=N charges a card. Large amounts go through a fraud review that
// takes REVIEW_MS (default 1500 ms): the slow dependency of this example. It answers, but late.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const reviewMs = Number(process.env.REVIEW_MS ?? 1500);
/** The normal work of a charge (bench.ts sets 0). */
const workMs = Number(process.env.WORK_MS ?? 5);
const REVIEW_ABOVE = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fraudReview(amount: number): Promise<boolean> {
  await sleep(reviewMs);
  return amount < 1_000_000;
}

async function charge(amount: number): Promise<{ charged: number; id: string }> {
  if (amount > REVIEW_ABOVE && !(await fraudReview(amount))) throw new Error('declined');
  await sleep(workMs);
  return { charged: amount, id: `ch_${Date.now().toString(36)}` };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://payments');
  if (req.method === 'POST' && url.pathname === '/charge') {
    const receipt = await charge(Number(url.searchParams.get('amount') ?? 0));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(receipt));
    return;
  }
  res.writeHead(404).end();
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: Error) => res.writeHead(500).end(error.message));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`payments listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
