// The bank's HTTP API.

import express, { type NextFunction, type Request, type Response } from 'express';
import type { AccountStore } from './accounts.ts';
import { transferMoney, transferMoneyAtomically } from './bank.ts';
import type { OrderService } from './orders.ts';

export interface BankOptions {
  store: AccountStore;
  orders: OrderService;
  /** Use the atomic transfer instead of the racy one. */
  fixed: boolean;
}

class BadRequest extends Error {
  readonly status = 400;
}

function transferFrom(body: unknown): { from: string; to: string; amount: number } {
  const { from, to, amount } = (body ?? {}) as Record<string, unknown>;
  if (typeof from !== 'string' || typeof to !== 'string') {
    throw new BadRequest('a transfer needs "from" and "to" account ids (strings)');
  }
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) {
    throw new BadRequest('"amount" must be a positive whole number');
  }
  return { from, to, amount };
}

export function createApp({ store, orders, fixed }: BankOptions): express.Express {
  const transfer = fixed ? transferMoneyAtomically : transferMoney;
  const app = express();
  app.use(express.json());

  app.get('/accounts', async (_req: Request, res: Response) => {
    const accounts = await store.all();
    res.json({ accounts, total: accounts.reduce((sum, account) => sum + account.balance, 0) });
  });

  app.get('/accounts/:id', async (req: Request, res: Response) => {
    res.json(await store.find(String(req.params.id)));
  });

  app.post('/transfers', async (req: Request, res: Response) => {
    const { from, to, amount } = transferFrom(req.body);
    await transfer(store, from, to, amount);
    res.json({ from, to, amount, status: 'done' });
  });

  // `?shippingMs=500` plays a shipping partner that answers slowly for this order.
  app.post('/orders/:id/process', async (req: Request, res: Response) => {
    const slow = req.query.shippingMs;
    const shippingMs = typeof slow === 'string' && /^\d+$/.test(slow) ? Number(slow) : undefined;
    res.json(await orders.processOrder(String(req.params.id), shippingMs));
  });

  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status ?? 500;
    res.status(status).json({ error: error.message });
  });
  return app;
}
