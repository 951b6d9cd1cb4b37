// Value capture by the pg interceptor against the real PostgreSQL on 127.0.0.1:5432 (database
// `test`), in a schema of its own dropped afterwards: parameters (redacted per column and per
// setting) and result rows, attached to the query's exchange.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventKind } from '@causeway/core/event-format';
import pg from 'pg';
import { CAPTURE_NAMES, MAX_CAPTURED_ROWS } from '../src/interceptors/capture.ts';
import { createPgInterceptor } from '../src/interceptors/pg.ts';
import { parameterColumns } from '../src/interceptors/sql.ts';
import type { Recorder } from '../src/runtime/recorder.ts';
import { REDACTED } from '../src/runtime/strings.ts';
import { high, low, newRecorder, reader } from './intercepted.ts';
import { CONNECTION, postgresAbsent } from './postgres.ts';

const SCHEMA = `causeway_pgcap_${randomBytes(4).toString('hex')}`;
const USERS = `${SCHEMA}.users`;

const absent = await postgresAbsent();

// One interceptor per setting, each on a Client subclass of its own (the patch is per prototype).
class CapturingClient extends pg.Client {}
class DefaultClient extends pg.Client {}
const capturing = newRecorder();
const defaults = newRecorder();
createPgInterceptor(capturing, { level: 'on', bytes: 400 }).patchClient(CapturingClient);
createPgInterceptor(defaults).patchClient(DefaultClient);

/** Captures of `recorder` named `name`, with the statement of the exchange they name. */
function capturesOf(recorder: Recorder, read: ReturnType<typeof reader>, name: string) {
  const recorded = read();
  const statements = new Map<number, string>();
  for (const r of recorded.records) {
    if (r.kind === EventKind.DbQuery) statements.set(r.b, recorded.string(low(r.a)) as string);
  }
  const found: { statement: string | undefined; data: Record<string, unknown> }[] = [];
  for (const r of recorded.records) {
    if (r.kind !== EventKind.CustomEvent || recorded.string(low(r.a)) !== name) continue;
    const text = recorded.string(high(r.a)) as string;
    assert.ok(text.length <= (recorder === capturing ? 400 : 1024), `${name} is bounded`);
    const data = JSON.parse(text) as Record<string, unknown>;
    found.push({ statement: statements.get(data.exchange as number), data });
  }
  return found;
}

describe('parameterColumns', () => {
  it('binds parameters to the columns they are compared with or inserted into', () => {
    assert.deepEqual(
      [...parameterColumns('UPDATE users SET password = $1, name = $2 WHERE id = $3').entries()],
      [
        [1, 'password'],
        [2, 'name'],
        [3, 'id'],
      ],
    );
    assert.deepEqual(
      [...parameterColumns('INSERT INTO s.users (id, "apiKey") VALUES ($1, $2), ($3, $4)').entries()],
      [
        [1, 'id'],
        [2, 'apiKey'],
        [3, 'id'],
        [4, 'apiKey'],
      ],
    );
    assert.equal(parameterColumns("SELECT * FROM t WHERE note = 'x = $1'").size, 0);
  });
});

describe('pg value capture', { skip: absent ?? false }, () => {
  const client = new CapturingClient(CONNECTION);
  const plain = new DefaultClient(CONNECTION);
  const readCapturing = reader(capturing);
  const readDefaults = reader(defaults);

  before(async () => {
    await client.connect();
    await plain.connect();
    await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(`CREATE TABLE ${USERS} (id int PRIMARY KEY, name text, password text)`);
  });
  after(async () => {
    await client.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    await client.end();
    await plain.end();
  });

  it('with capture on: parameters, secret columns redacted, and result rows', async () => {
    for (let id = 1; id <= MAX_CAPTURED_ROWS + 5; id++) {
      await client.query(`INSERT INTO ${USERS} (id, name, password) VALUES ($1, $2, $3)`, [
        id,
        `u${id}`,
        'hunter2',
      ]);
    }
    const inserts = capturesOf(capturing, readCapturing, CAPTURE_NAMES.queryParams).filter((c) =>
      c.statement?.startsWith('INSERT'),
    );
    assert.equal(inserts.length, MAX_CAPTURED_ROWS + 5);
    assert.deepEqual(inserts[0]?.data.params, [1, 'u1', REDACTED]);

    const { rows } = await client.query(`SELECT id, name, password FROM ${USERS} WHERE id = $1`, [2]);
    assert.equal(rows[0].password, 'hunter2', 'the application sees its values');
    const selected = capturesOf(capturing, readCapturing, CAPTURE_NAMES.queryRows).filter((c) =>
      c.statement?.includes('WHERE id = $1'),
    );
    assert.deepEqual(selected[0]?.data.rows, [{ id: 2, name: 'u2', password: REDACTED }]);
    assert.equal(selected[0]?.data.truncated, undefined);

    await client.query(`SELECT id, name FROM ${USERS} ORDER BY id`);
    const all = capturesOf(capturing, readCapturing, CAPTURE_NAMES.queryRows).filter((c) =>
      c.statement?.includes('ORDER BY id'),
    );
    const captured = all[0]?.data.rows as unknown[];
    assert.equal(all[0]?.data.truncated, true);
    assert.ok(captured.length > 0 && captured.length <= MAX_CAPTURED_ROWS);
    assert.deepEqual(captured[0], { id: 1, name: 'u1' });
  });

  it('by default: every parameter redacted, no rows', async () => {
    const { rows } = await plain.query(`SELECT name FROM ${USERS} WHERE id = $1`, [3]);
    assert.equal(rows[0].name, 'u3');
    const params = capturesOf(defaults, readDefaults, CAPTURE_NAMES.queryParams);
    assert.deepEqual(
      params.map((c) => c.data.params),
      [[REDACTED]],
    );
    assert.equal(capturesOf(defaults, readDefaults, CAPTURE_NAMES.queryRows).length, 0);
  });
});
