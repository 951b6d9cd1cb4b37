// Money transfers, written two ways.

import { type AccountStore, InsufficientFunds } from './accounts.ts';

/**
 * The natural way, and a race: read both accounts, check, adjust, save both. Two transfers that
 * touch one account at once both read the same balance, and the second save overwrites the first.
 */
export async function transferMoney(
  store: AccountStore,
  fromId: string,
  toId: string,
  amount: number,
): Promise<void> {
  const from = await store.find(fromId);
  const to = await store.find(toId);
  if (from.balance < amount) throw new InsufficientFunds(from.id, from.balance, amount);
  from.balance -= amount;
  to.balance += amount;
  await store.save(from);
  await store.save(to);
}

/**
 * The fixed way: each balance changes in one atomic step where it is stored (in SQL,
 * `UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1`), so no
 * transfer can overwrite another's. A payee that does not exist gives the money back.
 */
export async function transferMoneyAtomically(
  store: AccountStore,
  fromId: string,
  toId: string,
  amount: number,
): Promise<void> {
  await store.adjust(fromId, -amount);
  try {
    await store.adjust(toId, amount);
  } catch (error) {
    await store.adjust(fromId, amount);
    throw error;
  }
}
