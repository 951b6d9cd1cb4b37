// The store's schema: created once with its version recorded, left alone when reopened, and a
// store from a newer server refused rather than misread.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SCHEMA_VERSION } from '../src/store/db.ts';
import { TraceStore } from '../src/store/store.ts';

/** Rows as plain objects (node:sqlite gives them a null prototype). */
async function rows(store: TraceStore, sql: string): Promise<unknown[]> {
  return (await store.db.all(sql)).map((row) => ({ ...row }));
}

describe('schema migrations (node:sqlite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-migrations-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'causeway.db');

  it('records the schema version once, and reopening keeps the version and the tables', async () => {
    const first = await TraceStore.open(file);
    assert.deepEqual(await rows(first, 'SELECT version FROM schema_version'), [{ version: SCHEMA_VERSION }]);
    await first.db.run(
      "INSERT INTO traces (trace_id, service, services, started_ms, updated_ms) VALUES ('t1', 's', '[]', 1, 1)",
    );
    await first.close();

    const again = await TraceStore.open(file);
    try {
      assert.deepEqual(await rows(again, 'SELECT version FROM schema_version'), [
        { version: SCHEMA_VERSION },
      ]);
      assert.deepEqual(await rows(again, 'SELECT trace_id FROM traces'), [{ trace_id: 't1' }]);
    } finally {
      await again.close();
    }
  });

  it('refuses a store whose schema is newer than this server, and says what to do', async () => {
    const store = await TraceStore.open(file);
    await store.db.run('UPDATE schema_version SET version = ?', [SCHEMA_VERSION + 1]);
    await store.close();
    await assert.rejects(TraceStore.open(file), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CW_SERVER_STORE');
      assert.match(
        error.message,
        new RegExp(
          `schema version ${SCHEMA_VERSION + 1}, newer than this server's ${SCHEMA_VERSION}; use a newer Causeway`,
        ),
      );
      return true;
    });
  });
});
