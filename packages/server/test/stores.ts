/** The stores every store test runs against: node:sqlite, and PostgreSQL when one is reachable. */

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresDb } from '../src/store/db.ts';
import { TraceStore } from '../src/store/store.ts';

export const POSTGRES_URL = process.env.CAUSEWAY_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | undefined;

/** Is PostgreSQL there? Asked once per test process. */
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  })();
  return reachable;
}

export interface StoreKind {
  name: string;
  /** A fresh, empty store (a new SQLite file, or a new PostgreSQL schema). */
  open(): Promise<TraceStore>;
  /** Closes the store and removes what `open` made. */
  dispose(store: TraceStore): Promise<void>;
  /** Why this kind is skipped, or null. */
  skip(): Promise<string | null>;
}

export const sqliteKind: StoreKind = {
  name: 'node:sqlite',
  open: () => TraceStore.open(':memory:'),
  dispose: (store) => store.close(),
  skip: async () => null,
};

export const postgresKind: StoreKind = {
  name: 'PostgreSQL',
  open: () => TraceStore.open(`${POSTGRES_URL}?schema=cw_test_${randomBytes(6).toString('hex')}`),
  async dispose(store) {
    await (store.db as PostgresDb).dropSchema();
    await store.close();
  },
  async skip() {
    return (await postgresReachable())
      ? null
      : `PostgreSQL is not reachable at ${POSTGRES_URL} (set CAUSEWAY_TEST_POSTGRES to another URL): its store tests are skipped`;
  },
};

export const STORE_KINDS = [sqliteKind, postgresKind];
