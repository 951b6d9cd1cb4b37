// Where accounts live. Both stores answer after a round trip, like a database: that wait is
// where another request's transfer slips in.

export interface Account {
  id: string;
  owner: string;
  balance: number;
}

export interface AccountStore {
  /** A copy of the account as stored now, like a row a query returns. */
  find(id: string): Promise<Account>;
  /** Stores the account's balance as given (a whole-row save). */
  save(account: Account): Promise<void>;
  /** Adds `delta` to the stored balance in one step, refusing to go below zero. */
  adjust(id: string, delta: number): Promise<void>;
  all(): Promise<Account[]>;
  close(): Promise<void>;
}

export class AccountNotFound extends Error {
  readonly status = 404;
  constructor(id: string) {
    super(`no account '${id}'`);
  }
}

export class InsufficientFunds extends Error {
  readonly status = 409;
  constructor(id: string, balance: number, amount: number) {
    super(`account '${id}' holds ${balance}, cannot pay ${amount}`);
  }
}

export const OPENING_ACCOUNTS: readonly Account[] = [
  { id: 'alice', owner: 'Alice', balance: 1000 },
  { id: 'bob', owner: 'Bob', balance: 1000 },
  { id: 'carol', owner: 'Carol', balance: 1000 },
];

function roundTrip(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Accounts in process memory, each answer after `latencyMs`. */
export class MemoryAccountStore implements AccountStore {
  readonly #rows = new Map<string, Account>();
  readonly #latencyMs: number;

  constructor(accounts: readonly Account[] = OPENING_ACCOUNTS, latencyMs = 5) {
    for (const account of accounts) this.#rows.set(account.id, { ...account });
    this.#latencyMs = latencyMs;
  }

  async find(id: string): Promise<Account> {
    await roundTrip(this.#latencyMs);
    const row = this.#row(id);
    return { id: row.id, owner: row.owner, balance: row.balance };
  }

  async save(account: Account): Promise<void> {
    await roundTrip(this.#latencyMs);
    const row = this.#row(account.id);
    row.balance = account.balance;
  }

  async adjust(id: string, delta: number): Promise<void> {
    await roundTrip(this.#latencyMs);
    const row = this.#row(id);
    if (row.balance + delta < 0) throw new InsufficientFunds(id, row.balance, -delta);
    row.balance += delta;
  }

  async all(): Promise<Account[]> {
    await roundTrip(this.#latencyMs);
    return [...this.#rows.values()].map((row) => ({ id: row.id, owner: row.owner, balance: row.balance }));
  }

  async close(): Promise<void> {}

  #row(id: string): Account {
    const row = this.#rows.get(id);
    if (row === undefined) throw new AccountNotFound(id);
    return row;
  }
}
