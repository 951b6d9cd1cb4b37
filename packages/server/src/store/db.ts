/**
 * The little SQL both stores need, over node:sqlite and over pg: queries with `?` placeholders,
 * transactions, and the schema migrations with their version table. The store's logic
 * (store/sql-store.ts) is written once on top of this.
 */

import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import pg from 'pg';
import { ServerError, ServerErrorCode } from '../errors.ts';

export type Param = string | number | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data is, for the start line and /metrics (the file, or the URL without password). */
  readonly location: string;
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  run(sql: string, params?: readonly Param[]): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Bytes the data takes on disk. */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Serialises work on the one SQLite connection: a transaction's statements must not interleave with
 * another request's, even though each statement runs synchronously.
 */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class SqliteDb implements Db {
  readonly dialect = 'sqlite';
  readonly location: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #mutex = new Mutex();
  #inTransaction = false;

  constructor(path: string) {
    this.location = path;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.#db = new DatabaseSync(path);
      // WAL: readers do not block the writer. synchronous=NORMAL keeps every committed transaction
      // across a crash of the process (SIGKILL); only a power loss can lose the last ones.
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    } catch (error) {
      throw new ServerError(
        ServerErrorCode.STORE,
        `cannot open the SQLite store ${path}: ${(error as Error).message}`,
      );
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return this.#statement(sql).all(...(params as SQLInputValue[])) as T[];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<void> {
    if (params.length === 0 && !sql.includes('?')) this.#db.exec(sql);
    else this.#statement(sql).run(...(params as SQLInputValue[]));
  }

  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.#inTransaction) throw new Error('SqliteDb: nested transaction');
    return this.#mutex.run(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      this.#inTransaction = true;
      try {
        const result = await fn(this);
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      } finally {
        this.#inTransaction = false;
      }
    });
  }

  async sizeBytes(): Promise<number> {
    if (this.location === ':memory:') return 0;
    let total = 0;
    for (const suffix of ['', '-wal']) {
      try {
        total += statSync(this.location + suffix).size;
      } catch {
        // No WAL file yet.
      }
    }
    return total;
  }

  async close(): Promise<void> {
    await this.#mutex.run(async () => {
      if (this.#db.isOpen) this.#db.close();
    });
  }
}

// COUNT(*), SUM() and BIGINT columns come back as JS numbers: the values stay far below 2^53.
pg.types.setTypeParser(20, Number);
pg.types.setTypeParser(1700, Number);

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (no statement here has a `?` inside a string). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

class PgClientDb implements Db {
  readonly dialect = 'postgres';
  readonly location: string;
  readonly #client: Queryable;
  readonly #owner: PostgresDb;

  constructor(client: Queryable, location: string, owner: PostgresDb) {
    this.#client = client;
    this.location = location;
    this.#owner = owner;
  }
  async all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return (await this.#client.query(numbered(sql), params as unknown[])).rows as T[];
  }
  async run(sql: string, params: readonly Param[] = []): Promise<void> {
    await this.#client.query(numbered(sql), params as unknown[]);
  }
  transaction<T>(): Promise<T> {
    throw new Error('PostgresDb: nested transaction');
  }
  sizeBytes(): Promise<number> {
    return this.#owner.sizeBytes();
  }
  close(): Promise<void> {
    return this.#owner.close();
  }
}

export class PostgresDb implements Db {
  readonly dialect = 'postgres';
  readonly location: string;
  readonly schema: string;
  readonly #pool: pg.Pool;

  /** `url` is a postgres:// URL; its `schema` parameter (default `causeway`) names the schema used. */
  constructor(url: string) {
    const parsed = new URL(url);
    this.schema = parsed.searchParams.get('schema') ?? 'causeway';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) {
      throw new ServerError(
        ServerErrorCode.CONFIG,
        `--store ${url}: schema "${this.schema}" should be lowercase letters, digits and _`,
      );
    }
    parsed.searchParams.delete('schema');
    if (parsed.password !== '') parsed.password = '***';
    this.location = `${parsed.toString()} (schema ${this.schema})`;
    const connection = new URL(url);
    connection.searchParams.delete('schema');
    this.#pool = new pg.Pool({
      connectionString: connection.toString(),
      max: 8,
      options: `-c search_path=${this.schema}`,
    });
    // An idle client's error (the server went away) must not crash the process; the next query reports it.
    this.#pool.on('error', () => undefined);
  }

  /** Creates the schema if needed; fails with a clear message when PostgreSQL cannot be reached. */
  async open(): Promise<void> {
    try {
      await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    } catch (error) {
      throw new ServerError(
        ServerErrorCode.STORE,
        `cannot use the PostgreSQL store ${this.location}: ${(error as Error).message}`,
      );
    }
  }

  async all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return (await this.#pool.query(numbered(sql), params as unknown[])).rows as T[];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<void> {
    await this.#pool.query(numbered(sql), params as unknown[]);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgClientDb(client, this.location, this));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async sizeBytes(): Promise<number> {
    const rows = await this.all<{ size: number | null }>(
      `SELECT SUM(pg_total_relation_size(c.oid)) AS size FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind = 'r'`,
      [this.schema],
    );
    return rows[0]?.size ?? 0;
  }

  /** Drops the schema and everything in it (tests). */
  async dropSchema(): Promise<void> {
    await this.#pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  #closed = false;
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** Schema versions, oldest first; each is applied once, in a transaction, and recorded in schema_version. */
function migrations(dialect: Db['dialect']): string[][] {
  const blob = dialect === 'sqlite' ? 'BLOB' : 'BYTEA';
  return [
    [
      `CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY, service TEXT NOT NULL, services TEXT NOT NULL, meta TEXT,
        started_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, records BIGINT NOT NULL DEFAULT 0,
        dropped BIGINT NOT NULL DEFAULT 0, spans BIGINT NOT NULL DEFAULT 0, end_json TEXT,
        next_stream INTEGER NOT NULL DEFAULT 0, findings INTEGER, analyzed_records BIGINT)`,
      'CREATE INDEX traces_started ON traces (started_ms)',
      'CREATE INDEX traces_updated ON traces (updated_ms)',
      `CREATE TABLE streams (
        trace_id TEXT NOT NULL, stream INTEGER NOT NULL, source TEXT NOT NULL, info TEXT NOT NULL,
        next_string INTEGER NOT NULL DEFAULT 1, last_seq BIGINT NOT NULL DEFAULT -1,
        PRIMARY KEY (trace_id, stream), UNIQUE (trace_id, source))`,
      `CREATE TABLE sites (trace_id TEXT NOT NULL, stream INTEGER NOT NULL, base INTEGER NOT NULL,
        table_json TEXT NOT NULL, PRIMARY KEY (trace_id, stream, base))`,
      `CREATE TABLE strings (trace_id TEXT NOT NULL, stream INTEGER NOT NULL, first_id INTEGER NOT NULL,
        strings TEXT NOT NULL, PRIMARY KEY (trace_id, stream, first_id))`,
      `CREATE TABLE events (trace_id TEXT NOT NULL, first_index BIGINT NOT NULL, stream INTEGER NOT NULL,
        count INTEGER NOT NULL, records ${blob} NOT NULL, PRIMARY KEY (trace_id, first_index))`,
      `CREATE TABLE batches (trace_id TEXT NOT NULL, source TEXT NOT NULL, batch BIGINT NOT NULL,
        PRIMARY KEY (trace_id, source, batch))`,
      `CREATE TABLE spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT,
        service TEXT NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns TEXT NOT NULL,
        end_ns TEXT NOT NULL, attributes TEXT NOT NULL, PRIMARY KEY (trace_id, span_id))`,
    ],
  ];
}

export const SCHEMA_VERSION = 1;

/** Brings the schema up to SCHEMA_VERSION; refuses a store written by a newer server. */
export async function migrate(db: Db): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const steps = migrations(db.dialect);
  await db.transaction(async (tx) => {
    const rows = await tx.all<{ version: number }>('SELECT version FROM schema_version');
    const current = rows[0]?.version ?? 0;
    if (current > steps.length) {
      throw new ServerError(
        ServerErrorCode.STORE,
        `the store ${db.location} has schema version ${current}, newer than this server's ${steps.length}; use a newer Causeway`,
      );
    }
    for (let version = current + 1; version <= steps.length; version++) {
      for (const statement of steps[version - 1] as string[]) await tx.run(statement);
    }
    if (rows.length === 0) await tx.run('INSERT INTO schema_version (version) VALUES (?)', [steps.length]);
    else await tx.run('UPDATE schema_version SET version = ?', [steps.length]);
  });
}
