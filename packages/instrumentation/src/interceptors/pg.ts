/**
 * PostgreSQL through `pg`, which publishes nothing: `Client.prototype.query` is wrapped, narrowly
 * (the wrapper records, then calls the original with the same arguments and hands back what it
 * returns, or a promise that settles the same way). `pg-pool`'s `Pool.prototype.query` is wrapped
 * too, only to remember which task called it: the pool runs the client's query later, from a
 * callback, when the recorder's current task may be another's.
 *
 * Each query is a DbQuery record (its statement, string literals blanked) and a DbResult (rows,
 * duration, failure). A statement that names one row (sql.ts) is also recorded as an access to
 * that row: a Read for SELECT, a Write for UPDATE (with the Update flag when the database does the
 * read-modify-write itself, `SET balance = balance - $1`) or DELETE, on a pseudo-object per table
 * and key column whose key is the row's key. Their sites are registered per statement under the
 * file `<postgres>` (DB_SITE_FILE), which is how reports name a row (`row accounts[42]`).
 *
 * Transactions (per client): a row the transaction has locked (SELECT ... FOR UPDATE, or an
 * UPDATE/DELETE inside it) cannot change under it until COMMIT or ROLLBACK, and every other
 * locking transaction waits for it. The runtime knows this and the core does not, so the runtime
 * applies it: accesses to a row the client's transaction holds locked are not recorded as
 * accesses. A correctly locked read-modify-write therefore reports nothing; the cost is that a
 * race between a locked transaction and code that does not lock the row is not seen either
 * (docs/instrumentation.md, "PostgreSQL").
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { type LoadHookSync, registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  AccessFlag,
  DB_SITE_FILE,
  EventKind,
  ExchangeFlag,
  SiteKind,
  UNKNOWN_ROWS,
} from '@causeway/core/event-format';
import type { Recorder } from '../runtime/recorder.ts';
import { isSecretKey, MAX_STRING_VALUE_LENGTH } from '../runtime/strings.ts';
import {
  CAPTURE_NAMES,
  type CaptureSettings,
  DEFAULT_CAPTURE,
  paramsJson,
  recordCapture,
  rowsJson,
} from './capture.ts';
import { interceptorFailed } from './guard.ts';
import {
  parameterColumns,
  parseStatement,
  type RowAccess,
  redactStatement,
  type StatementShape,
} from './sql.ts';

/** Distinct statements whose parse is kept. */
const MAX_STATEMENTS = 1024;
/** Distinct (table, key column) pseudo-objects. */
const MAX_TABLES = 1024;
/** Longest statement text recorded (functionName of its site too). */
const MAX_SITE_TEXT = 120;

/** Stands for a value not captured: the record's value tag is None. */
const UNCAPTURED = Symbol('uncaptured');

interface Statement {
  shape: StatementShape;
  /** The recorded text's string id. */
  textId: number;
  /** Site of the statement's row access, registered on first use; 0 if none. */
  site: number;
  /** The pseudo-object of the accessed table and key column. */
  table: object | null;
  /** The column each parameter is bound to (1-based), where the statement says. */
  paramColumns: Map<number, string>;
}

/** Per client: the rows its open transaction holds locked, by "table object id/key". */
interface Transaction {
  locked: Set<string>;
}

type QueryFn = (this: unknown, ...args: unknown[]) => unknown;

interface PatchTarget {
  prototype: { query: QueryFn };
}

const PATCHED = Symbol.for('causeway.pg.patched');

/** The global through which code appended to pg's modules reaches the installed interceptor. */
export const PG_HOOK = Symbol.for('causeway.interceptors.pg');

export interface PgInterceptor {
  patchClient(Client: unknown): void;
  patchPool(Pool: unknown): void;
}

export function createPgInterceptor(
  recorder: Recorder,
  capture: CaptureSettings = DEFAULT_CAPTURE,
): PgInterceptor {
  const statements = new Map<string, Statement>();
  const tables = new Map<string, object>();
  const transactions = new WeakMap<object, Transaction>();
  /** The task that called Pool.query, for the one Client.query the pool makes for it. */
  const callerTask = new AsyncLocalStorage<{ task: number; used: boolean }>();

  function tableObject(access: RowAccess): object | null {
    const name = `${access.table}\u0000${access.column}`;
    let table = tables.get(name);
    if (table === undefined) {
      if (tables.size >= MAX_TABLES) return null;
      table = { table: access.table, column: access.column };
      tables.set(name, table);
    }
    return table;
  }

  function statementOf(text: string): Statement {
    const known = statements.get(text);
    if (known !== undefined) return known;
    const shape = parseStatement(text);
    const recorded = redactStatement(text, MAX_STRING_VALUE_LENGTH);
    const statement: Statement = {
      shape,
      textId: recorder.strings.valueOf(recorded),
      site: 0,
      table: null,
      paramColumns: parameterColumns(text),
    };
    const access = shape.access;
    if (access !== null) {
      statement.table = tableObject(access);
      const kind = access.kind === 'read' ? SiteKind.Read : SiteKind.Write;
      statement.site = recorder.registerSites({
        v: 1,
        file: DB_SITE_FILE,
        sites: [[kind, 1, 1, redactStatement(text, MAX_SITE_TEXT), access.table]],
      });
    }
    if (statements.size < MAX_STATEMENTS) statements.set(text, statement);
    return statement;
  }

  function keyValue(access: RowAccess, values: unknown): string | number | null {
    if (isSecretKey(access.column)) return null;
    if ('literal' in access.key) return access.key.literal;
    const value = Array.isArray(values) ? values[access.key.param - 1] : undefined;
    if (typeof value === 'number' || typeof value === 'string') return value;
    if (typeof value === 'bigint') return String(value);
    return null;
  }

  /** The value an UPDATE of one column writes, when it is a plain parameter and not secret. */
  function writtenValue(access: RowAccess, values: unknown): unknown {
    const assigned = access.assigned;
    if (assigned === null || isSecretKey(assigned.column) || !Array.isArray(values)) return UNCAPTURED;
    const value: unknown = values[assigned.param - 1];
    return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : UNCAPTURED;
  }

  /** Records the row access of `statement` on `client`, minding its transaction's locks. */
  function recordAccess(client: object, statement: Statement, values: unknown): void {
    const access = statement.shape.access;
    if (access === null || statement.table === null) return;
    const key = keyValue(access, values);
    if (key === null) return;
    const transaction = transactions.get(client);
    if (transaction !== undefined) {
      const row = `${recorder.objectId(statement.table)}/${key}`;
      if (transaction.locked.has(row)) return;
      if (access.locks || access.kind !== 'read') transaction.locked.add(row);
      if (access.locks) return;
    }
    if (access.kind === 'read') {
      recorder.readKey(statement.site, statement.table, key, UNCAPTURED);
    } else if (access.kind === 'delete') {
      recorder.writeKey(statement.site, statement.table, key, undefined, AccessFlag.Delete);
    } else {
      const flags = access.selfUpdate ? AccessFlag.Update : 0;
      recorder.writeKey(statement.site, statement.table, key, writtenValue(access, values), flags);
    }
  }

  /** Records the query's start; returns what records its end. */
  function begin(
    client: object,
    config: unknown,
    values: unknown,
  ): ((error: unknown, result: unknown) => void) | null {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
    // A query of an unsampled trace is not recorded (runtime/sampling.ts).
    if (typeof text !== 'string' || recorder.unsampledNow()) return null;
    const params =
      values === undefined || typeof values === 'function' ? (config as { values?: unknown }).values : values;
    const statement = statementOf(text);
    const id = recorder.exchange();
    // The store is inherited by everything the pool's callback chain starts later (its socket,
    // for one): only the first query under it is the pool's.
    const caller = callerTask.getStore();
    const task = caller === undefined || caller.used ? undefined : caller.task;
    if (caller !== undefined) caller.used = true;
    const record = () => {
      recorder.exchangeStep(EventKind.DbQuery, 0, statement.textId, 0, id, false);
      if (Array.isArray(params) && params.length > 0) {
        const json = paramsJson(id, params, statement.paramColumns, capture.level, capture.bytes);
        recordCapture(recorder, CAPTURE_NAMES.queryParams, json, capture.bytes);
      }
      const control = statement.shape.control;
      if (control === 'begin') transactions.set(client, { locked: new Set() });
      else if (control !== null) transactions.delete(client);
      else recordAccess(client, statement, params);
    };
    if (task === undefined) record();
    else recorder.inTask(task, record);
    const start = recorder.now();
    return (error, result) => {
      try {
        const rowCount = (result as { rowCount?: unknown } | null)?.rowCount;
        const rows =
          typeof rowCount === 'number' && rowCount >= 0 && rowCount < UNKNOWN_ROWS ? rowCount : UNKNOWN_ROWS;
        const flags = error ? ExchangeFlag.Failed : 0;
        recorder.exchangeStep(
          EventKind.DbResult,
          flags,
          id,
          error ? UNKNOWN_ROWS : rows,
          recorder.now() - start,
          true,
        );
        const resultRows = (result as { rows?: unknown } | null)?.rows;
        if (capture.level === 'on' && !error && Array.isArray(resultRows) && resultRows.length > 0) {
          recordCapture(
            recorder,
            CAPTURE_NAMES.queryRows,
            rowsJson(id, resultRows, capture.bytes),
            capture.bytes,
          );
        }
      } catch (failure) {
        interceptorFailed('pg', failure);
      }
    };
  }

  function patchClient(Client: unknown): void {
    const target = Client as PatchTarget | null;
    const proto = target?.prototype;
    if (typeof proto?.query !== 'function' || (proto as Record<symbol, unknown>)[PATCHED]) return;
    const original = proto.query;
    const query = function query(this: unknown, ...args: unknown[]): unknown {
      const [config, values, callback] = args;
      let end: ((error: unknown, result: unknown) => void) | null = null;
      // A submittable (a Query, a cursor, a stream) reports through its own events: not followed.
      if (typeof (config as { submit?: unknown } | null)?.submit !== 'function') {
        try {
          end = begin(this as object, config, values);
        } catch (error) {
          interceptorFailed('pg', error);
        }
      }
      if (end === null) return original.apply(this, args);
      const done = end;
      const at = typeof callback === 'function' ? 2 : typeof values === 'function' ? 1 : -1;
      if (at >= 0) {
        const user = args[at] as (error: unknown, result: unknown) => unknown;
        args[at] = function (this: unknown, error: unknown, result: unknown) {
          done(error, result);
          return user.call(this, error, result);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args);
      if (typeof (result as { then?: unknown } | null)?.then !== 'function') return result;
      // Hand back the derived promise, so that a rejection nobody handles is still reported.
      return (result as Promise<unknown>).then(
        (value) => {
          done(null, value);
          return value;
        },
        (error: unknown) => {
          done(error, null);
          throw error;
        },
      );
    };
    Object.defineProperty(proto, 'query', { value: query, writable: true, configurable: true });
    Object.defineProperty(proto, PATCHED, { value: true });
  }

  function patchPool(Pool: unknown): void {
    const proto = (Pool as PatchTarget | null)?.prototype;
    if (typeof proto?.query !== 'function' || (proto as Record<symbol, unknown>)[PATCHED]) return;
    const original = proto.query;
    const query = function query(this: unknown, ...args: unknown[]): unknown {
      return callerTask.run({ task: recorder.currentTask, used: false }, () => original.apply(this, args));
    };
    Object.defineProperty(proto, 'query', { value: query, writable: true, configurable: true });
    Object.defineProperty(proto, PATCHED, { value: true });
  }

  return { patchClient, patchPool };
}

/** pg's and pg-pool's modules, by the end of their path, and what to call with their exports. */
const PG_MODULES: readonly [suffix: string, method: keyof PgInterceptor][] = [
  ['/node_modules/pg/lib/client.js', 'patchClient'],
  ['/node_modules/pg-pool/index.js', 'patchPool'],
];

/**
 * A module load hook that appends, to pg's client module and pg-pool's module, a call handing
 * their exports to the installed interceptor (through PG_HOOK, so no import is needed). Whichever
 * copy of pg the application loads, and however (require or import), is patched as it loads.
 */
export const pgLoadHook: LoadHookSync = (url, context, nextLoad) => {
  const loaded = nextLoad(url, context);
  if (!url.startsWith('file:')) return loaded;
  const module = PG_MODULES.find(([suffix]) => url.endsWith(suffix));
  if (module === undefined || (loaded.format !== 'commonjs' && loaded.format !== undefined)) return loaded;
  try {
    const source = loaded.source ?? readFileSync(fileURLToPath(url));
    const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
    const call = `\n;globalThis[Symbol.for('causeway.interceptors.pg')]?.${module[1]}(module.exports);\n`;
    return { format: 'commonjs', source: text + call, shortCircuit: true };
  } catch (error) {
    interceptorFailed('pg', error);
    return loaded;
  }
};

/** Installs the pg interceptor: the global the patched modules call, and the load hook. */
export function installPg(recorder: Recorder, capture: CaptureSettings = DEFAULT_CAPTURE): () => void {
  const interceptor = createPgInterceptor(recorder, capture);
  (globalThis as Record<symbol, unknown>)[PG_HOOK] = interceptor;
  const hooks = registerHooks({ load: pgLoadHook });
  return () => {
    hooks.deregister();
    delete (globalThis as Record<symbol, unknown>)[PG_HOOK];
  };
}
