// Findings in words for request tasks and database rows: a lost update between two HTTP request
// tasks on a row the PostgreSQL interceptor recorded reads as `row accounts[42]`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DB_SITE_FILE } from '../src/format/event-format.ts';
import {
  ARRAY_INDEX_KEY,
  buildFindingReports,
  CausalTrace,
  EventKind,
  encodeRecords,
  type RecordFields,
  SiteIndex,
  SiteKind,
  StringIndex,
  ValueTag,
} from '../src/index.ts';

const READ_SITE = 1;
const WRITE_SITE = 2;
const AWAIT_SITE = 3;
const TABLE_OBJECT = 1;

type Event = Omit<RecordFields, 'seq'>;
const record = (kind: number, task: number, site: number, a: number, b = 0, flags = 0): Event => ({
  kind,
  flags,
  task,
  site,
  a,
  b,
});

/** Two requests read row `key`, await, and write it back: the second write loses the first. */
function withdrawals(location: number, readSite: number, writeSite: number): Uint8Array {
  const events: Event[] = [
    record(EventKind.TaskBegin, 1, 0, 0),
    record(EventKind.HttpRequest, 2, 0, 1 + 2 * 2 ** 32, 1),
    record(EventKind.Read, 2, readSite, location),
    record(EventKind.AwaitSuspend, 2, AWAIT_SITE, 100),
    record(EventKind.HttpRequest, 3, 0, 1 + 2 * 2 ** 32, 2),
    record(EventKind.Read, 3, readSite, location),
    record(EventKind.AwaitSuspend, 3, AWAIT_SITE, 200),
    record(EventKind.AwaitResume, 4, AWAIT_SITE, 100, 3),
    record(EventKind.Write, 4, writeSite, location, 90, ValueTag.Number),
    record(EventKind.AwaitResume, 5, AWAIT_SITE, 200, 4),
    record(EventKind.Write, 5, writeSite, location, 70, ValueTag.Number),
  ];
  return encodeRecords(events.map((event, seq) => ({ ...event, seq })));
}

function reportsFor(file: string, name: string, location: number, strings: string[]) {
  const trace = CausalTrace.create();
  try {
    trace.ingest(1, withdrawals(location, READ_SITE, WRITE_SITE));
    const sites = new SiteIndex([
      {
        stream: 1,
        base: 1,
        table: {
          v: 1,
          file,
          sites: [
            [SiteKind.Read, 1, 1, 'SELECT balance FROM accounts WHERE id = $1', name],
            [SiteKind.Write, 1, 1, 'UPDATE accounts SET balance = $1 WHERE id = $2', name],
            [SiteKind.Await, 1, 1, 'withdraw', ''],
          ],
        },
      },
    ]);
    return buildFindingReports(trace.findings(), sites, new StringIndex([{ stream: 1, first: 1, strings }]));
  } finally {
    trace.dispose();
  }
}

describe('finding reports', () => {
  it('name a database row by its table and key', () => {
    const reports = reportsFor(DB_SITE_FILE, 'accounts', TABLE_OBJECT + (ARRAY_INDEX_KEY + 42) * 2 ** 32, []);
    const lost = reports.find((report) => report.class === 'lost-update');
    assert.equal(lost?.location.name, 'row accounts[42]');
    assert.match(lost?.story ?? '', /read row accounts\[42\] /);
  });

  it('quote a row key that is a string', () => {
    const reports = reportsFor(DB_SITE_FILE, 'sessions', TABLE_OBJECT + 1 * 2 ** 32, ['abc']);
    assert.equal(reports[0]?.location.name, 'row sessions["abc"]');
  });

  it('name an object property as before', () => {
    const reports = reportsFor('src/bank.ts', 'balance', TABLE_OBJECT + 1 * 2 ** 32, ['balance']);
    assert.equal(reports[0]?.location.name, 'object #1 .balance');
  });
});
