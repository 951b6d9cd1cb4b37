// The PostgreSQL interceptor against the real server on 127.0.0.1:5432 (database `test`), in a
// schema of its own that is dropped afterwards. Skipped, saying so, when no server answers.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AccessFlag,
  DB_SITE_FILE,
  EventKind,
  ExchangeFlag,
  type RecordFields,
  UNKNOWN_ROWS,
  VALUE_TAG_MASK,
  ValueTag,
} from '@causeway/core/event-format';
import pg from 'pg';
import { createPgInterceptor } from '../src/interceptors/pg.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';
import { CONNECTION, postgresAbsent } from './postgres.ts';

const SCHEMA = `causeway_pg_${randomBytes(4).toString('hex')}`;
const ACCOUNTS = `${SCHEMA}.accounts`;

const absent = await postgresAbsent();

const recorder = newRecorder();
const read = reader(recorder);
const interceptor = createPgInterceptor(recorder);
interceptor.patchClient(pg.Client);
// pg.Pool extends pg-pool's Pool, whose query the interceptor wraps.
interceptor.patchPool(Object.getPrototypeOf(pg.Pool));

let client: pg.Client;

/** The records written since `from`, as [kind, fields]. */
function since(from: number): RecordFields[] {
  return read().records.slice(from);
}

function mark(): number {
  return read().records.length;
}

describe('the pg interceptor', { skip: absent ?? false }, () => {
  before(async () => {
    const admin = new pg.Client(CONNECTION);
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${SCHEMA}`);
    await admin.query(`CREATE TABLE ${ACCOUNTS} (id int PRIMARY KEY, balance int NOT NULL, token text)`);
    await admin.query(`INSERT INTO ${ACCOUNTS} VALUES (1, 100, 'a'), (2, 50, 'b')`);
    await admin.end();
    client = new pg.Client(CONNECTION);
    await client.connect();
  });
  after(async () => {
    await client?.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    await client?.end();
  });

  it('records a query, its rows and duration, and the row it reads', async () => {
    const from = mark();
    const result = await client.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1`, [1]);
    assert.equal(result.rows[0]?.balance, 100);
    const records = since(from);
    const recorded = read();
    const query = records.find((r) => r.kind === EventKind.DbQuery) as RecordFields;
    assert.equal(recorded.string(low(query.a)), `SELECT balance FROM ${ACCOUNTS} WHERE id = $1`);
    const done = records.find((r) => r.kind === EventKind.DbResult) as RecordFields;
    assert.equal(low(done.a), query.b);
    assert.deepEqual([high(done.a), done.flags], [1, 0]);
    assert.ok(done.b >= 0);
    const reads = records.filter((r) => r.kind === EventKind.Read);
    assert.equal(reads.length, 1);
    assert.equal((reads[0]?.flags ?? -1) & VALUE_TAG_MASK, ValueTag.None);
    const sites = recorder.takeSites();
    const site = sites.find((s) => s.base === reads[0]?.site);
    assert.equal(site?.table.file, DB_SITE_FILE);
    assert.equal(site?.table.sites[0]?.[4], ACCOUNTS);
  });

  it('records an UPDATE as a write of the row, with the Update flag when the database computes it', async () => {
    const from = mark();
    await client.query(`UPDATE ${ACCOUNTS} SET balance = $1 WHERE id = $2`, [90, 1]);
    await client.query(`UPDATE ${ACCOUNTS} SET balance = balance + $1 WHERE id = $2`, [10, 1]);
    const writes = since(from).filter((r) => r.kind === EventKind.Write);
    assert.equal(writes.length, 2);
    assert.equal(writes[0]?.flags, ValueTag.Number);
    assert.equal(writes[0]?.b, 90);
    assert.equal((writes[1]?.flags ?? 0) & AccessFlag.Update, AccessFlag.Update);
    // Both name the same location: row 1 of the table.
    assert.equal(writes[0]?.a, writes[1]?.a);
  });

  it('records nothing about a row keyed by a secret column, and blanks literals in statements', async () => {
    const from = mark();
    await client.query(`SELECT id FROM ${ACCOUNTS} WHERE token = $1`, ['a']);
    await client.query(`SELECT id FROM ${ACCOUNTS} WHERE token = 'b'`);
    const records = since(from);
    assert.equal(records.filter((r) => r.kind === EventKind.Read).length, 0);
    const recorded = read();
    const texts = records.filter((r) => r.kind === EventKind.DbQuery).map((r) => recorded.string(low(r.a)));
    assert.deepEqual(texts[1], `SELECT id FROM ${ACCOUNTS} WHERE token = '?'`);
  });

  it('records a failed query and a statement timeout as Failed, and passes the error on', async () => {
    const from = mark();
    await assert.rejects(
      client.query(`SELECT nothing FROM ${SCHEMA}.missing WHERE id = 1`),
      /does not exist/,
    );
    await client.query('SET statement_timeout = 50');
    await assert.rejects(client.query('SELECT pg_sleep(2)'), /statement timeout/);
    await client.query('SET statement_timeout = 0');
    const failed = since(from).filter(
      (r) => r.kind === EventKind.DbResult && r.flags === ExchangeFlag.Failed,
    );
    assert.equal(failed.length, 2);
    assert.ok(failed.every((r) => high(r.a) === UNKNOWN_ROWS));
  });

  it('follows callback-style queries', async () => {
    const from = mark();
    const rows = await new Promise<number>((resolve, reject) => {
      client.query(`SELECT * FROM ${ACCOUNTS} WHERE id = $1`, [2], (error, result) =>
        error ? reject(error) : resolve(result.rowCount ?? -1),
      );
    });
    assert.equal(rows, 1);
    const done = since(from).find((r) => r.kind === EventKind.DbResult);
    assert.equal(high(done?.a ?? 0), 1);
  });

  it('records a pooled query in the task that called pool.query', async () => {
    const pool = new pg.Pool({ ...CONNECTION, max: 1 });
    try {
      const from = mark();
      const caller = recorder.currentTask;
      const pending = pool.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1`, [2]);
      // Another request starts before the pool gets to send the query.
      const other = recorder.beginRequest('GET', '/other');
      await pending;
      const records = since(from);
      const query = records.find((r) => r.kind === EventKind.DbQuery);
      const access = records.find((r) => r.kind === EventKind.Read);
      assert.equal(query?.task, caller);
      assert.equal(access?.task, caller);
      assert.notEqual(caller, other);
    } finally {
      await pool.end();
    }
  });

  it('does not record accesses to a row the transaction holds locked', async () => {
    const from = mark();
    await client.query('BEGIN');
    await client.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1 FOR UPDATE`, [2]);
    await client.query(`UPDATE ${ACCOUNTS} SET balance = $1 WHERE id = $2`, [40, 2]);
    await client.query('COMMIT');
    assert.equal(
      since(from).filter((r) => r.kind === EventKind.Read || r.kind === EventKind.Write).length,
      0,
    );

    // Without the lock the read is an ordinary one; the update then locks the row.
    const unlocked = mark();
    await client.query('BEGIN');
    await client.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1`, [2]);
    await client.query(`UPDATE ${ACCOUNTS} SET balance = $1 WHERE id = $2`, [30, 2]);
    await client.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1`, [2]);
    await client.query('ROLLBACK');
    assert.deepEqual(
      since(unlocked)
        .filter((r) => r.kind === EventKind.Read || r.kind === EventKind.Write)
        .map((r) => r.kind),
      [EventKind.Read, EventKind.Write],
    );
    // After the transaction, accesses are recorded again.
    const after = mark();
    await client.query(`SELECT balance FROM ${ACCOUNTS} WHERE id = $1`, [2]);
    assert.equal(since(after).filter((r) => r.kind === EventKind.Read).length, 1);
  });
});

if (absent !== null) {
  it(`skips the pg interceptor tests: ${absent}`, { skip: absent }, () => {});
}
