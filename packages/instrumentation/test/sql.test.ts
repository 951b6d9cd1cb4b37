import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interceptorFailures } from '../src/interceptors/guard.ts';
import { createPgInterceptor } from '../src/interceptors/pg.ts';
import { parseStatement, redactStatement } from '../src/interceptors/sql.ts';
import type { Recorder } from '../src/runtime/recorder.ts';

describe('parseStatement', () => {
  it('names the row of a single-equality SELECT, UPDATE and DELETE', () => {
    const select = parseStatement('SELECT balance FROM accounts WHERE id = $1');
    assert.deepEqual(select.access, {
      kind: 'read',
      table: 'accounts',
      column: 'id',
      key: { param: 1 },
      locks: false,
      selfUpdate: false,
      assigned: null,
    });
    const locked = parseStatement('select * from "bank"."accounts" a where a.id = 42 for update');
    assert.deepEqual(
      [locked.access?.table, locked.access?.column, locked.access?.key, locked.access?.locks],
      ['bank.accounts', 'id', { literal: 42 }, true],
    );
    const update = parseStatement('UPDATE accounts SET balance = $1 WHERE id = $2 RETURNING balance');
    assert.deepEqual(
      [update.access?.kind, update.access?.key, update.access?.selfUpdate, update.access?.assigned],
      ['write', { param: 2 }, false, { column: 'balance', param: 1 }],
    );
    const atomic = parseStatement('UPDATE accounts SET balance = balance - $1, seen = now() WHERE id = $2');
    assert.equal(atomic.access?.selfUpdate, true);
    assert.equal(atomic.access?.assigned, null);
    const removed = parseStatement("DELETE FROM sessions WHERE code = 'it''s'");
    assert.deepEqual([removed.access?.kind, removed.access?.key], ['delete', { literal: "it's" }]);
  });

  it('names no row when the statement does not make one clear', () => {
    for (const text of [
      'SELECT * FROM accounts',
      'SELECT * FROM accounts WHERE id > $1',
      'SELECT * FROM accounts WHERE id = $1 AND owner = $2',
      'SELECT * FROM accounts a JOIN owners o ON o.id = a.owner WHERE a.id = $1',
      'SELECT * FROM accounts WHERE id IN ($1, $2)',
      'INSERT INTO accounts (id, balance) VALUES ($1, $2)',
      'UPDATE accounts SET balance = 0',
    ]) {
      assert.equal(parseStatement(text).access, null, text);
    }
  });

  it('recognises transaction control, but not a rollback to a savepoint', () => {
    assert.equal(parseStatement('BEGIN').control, 'begin');
    assert.equal(parseStatement('start transaction isolation level serializable').control, 'begin');
    assert.equal(parseStatement('COMMIT').control, 'commit');
    assert.equal(parseStatement('rollback').control, 'rollback');
    assert.equal(parseStatement('ROLLBACK TO SAVEPOINT a').control, null);
  });
});

describe('redactStatement', () => {
  it('blanks string literals and bounds the text', () => {
    assert.equal(
      redactStatement("SELECT * FROM users WHERE password = 'hunter2'  AND x = 'it''s'", 200),
      "SELECT * FROM users WHERE password = '?' AND x = '?'",
    );
    assert.equal(redactStatement('SELECT 1234567890', 10), 'SELECT 12…');
  });
});

describe('the pg query wrapper', () => {
  it('still runs the query, and hands back its result and errors, when recording fails', async () => {
    const broken = new Proxy({} as Recorder, {
      get() {
        throw new Error('recorder unavailable');
      },
    });
    class FakeClient {
      query(text: string, _values?: unknown, callback?: (error: unknown, result: unknown) => void): unknown {
        const outcome = text.startsWith('FAIL')
          ? Promise.reject(new Error('syntax'))
          : Promise.resolve({ rowCount: 1 });
        if (typeof callback !== 'function') return outcome;
        outcome.then(
          (result) => callback(null, result),
          (error: unknown) => callback(error, null),
        );
        return undefined;
      }
    }
    createPgInterceptor(broken).patchClient(FakeClient);
    const before = interceptorFailures();
    const client = new FakeClient();
    assert.deepEqual(await client.query('SELECT * FROM t WHERE id = $1', [1]), { rowCount: 1 });
    await assert.rejects(client.query('FAIL') as Promise<unknown>, /syntax/);
    const viaCallback = await new Promise((resolve) => client.query('SELECT 1', [], (_e, r) => resolve(r)));
    assert.deepEqual(viaCallback, { rowCount: 1 });
    assert.ok(interceptorFailures() >= before + 3);
  });
});
