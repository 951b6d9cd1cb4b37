// Accounts in PostgreSQL: the same store, one row per account.

import pg from 'pg';
import {
  type Account,
  AccountNotFound,
  type AccountStore,
  InsufficientFunds,
  OPENING_ACCOUNTS,
} from './accounts.ts';

export class PostgresAccountStore implements AccountStore {
  readonly #pool: pg.Pool;
  readonly #table: string;

  private constructor(pool: pg.Pool, table: string) {
    this.#pool = pool;
    this.#table = table;
  }

  /** Connects, creates `table` if needed and resets it to the opening balances. */
  static async open(url: string, table = 'accounts'): Promise<PostgresAccountStore> {
    if (!/^[a-z_][a-z0-9_]*$/.test(table))
      throw new Error(`table name '${table}' is not a plain SQL identifier`);
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const store = new PostgresAccountStore(pool, table);
    try {
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, owner text NOT NULL, balance integer NOT NULL)`,
      );
      for (const account of OPENING_ACCOUNTS) {
        await pool.query(
          `INSERT INTO ${table} (id, owner, balance) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, balance = EXCLUDED.balance`,
          [account.id, account.owner, account.balance],
        );
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  async find(id: string): Promise<Account> {
    const { rows } = await this.#pool.query<Account>(
      `SELECT id, owner, balance FROM ${this.#table} WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) throw new AccountNotFound(id);
    return row;
  }

  async save(account: Account): Promise<void> {
    const result = await this.#pool.query(`UPDATE ${this.#table} SET balance = $1 WHERE id = $2`, [
      account.balance,
      account.id,
    ]);
    if (result.rowCount === 0) throw new AccountNotFound(account.id);
  }

  async adjust(id: string, delta: number): Promise<void> {
    const result = await this.#pool.query(
      `UPDATE ${this.#table} SET balance = balance + $1 WHERE id = $2 AND balance + $1 >= 0`,
      [delta, id],
    );
    if (result.rowCount === 0) {
      const account = await this.find(id);
      throw new InsufficientFunds(id, account.balance, -delta);
    }
  }

  async all(): Promise<Account[]> {
    const { rows } = await this.#pool.query<Account>(
      `SELECT id, owner, balance FROM ${this.#table} ORDER BY id`,
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
