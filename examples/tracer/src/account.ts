// A bank account kept in memory, with storage that takes time to answer, like a database would.

export interface Account {
  id: string;
  balance: number;
}

function storageDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function readBalance(account: Account): Promise<number> {
  await storageDelay(2);
  return account.balance;
}

export async function writeBalance(account: Account, balance: number): Promise<void> {
  await storageDelay(2);
  account.balance = balance;
}

/** Read, compute, write: correct alone, a lost update when two run at once. */
export async function withdraw(account: Account, amount: number): Promise<void> {
  const balance = await readBalance(account);
  if (balance < amount) throw new Error(`insufficient funds in ${account.id}`);
  await writeBalance(account, balance - amount);
}
