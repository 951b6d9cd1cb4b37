/**
 * A synthetic trace of any size, shaped like a service handling requests: each request begins a
 * task, calls `withdraw` on its own account, which reads the balance, awaits, and writes it back.
 * Every `racyEvery`-th request starts two withdrawals on its account at once, a recorded lost
 * update, so findings stay few however long the trace. Used by the TUI's tests and benchmark.
 */

import {
  EVENT_FORMAT_VERSION,
  EventKind,
  encodeRecords,
  type RecordFields,
  SiteKind,
  TraceFileWriter,
  ValueTag,
} from '@causeway/core';

export const SOURCE_FILE = 'src/bank.ts';
/** The lines of SOURCE_FILE that the sites point at, for tests that read them back. */
export const SOURCE_LINES = [
  'export async function withdraw(account: Account, amount: number) {',
  '  const balance = account.balance;',
  '  await audit(account);',
  '  account.balance = balance - amount;',
  '  account.status = "open";',
  '}',
];

/** Site ids (one table, base 1), each pointing at a line of SOURCE_LINES. */
export const Site = { Withdraw: 1, Await: 2, ReadBalance: 3, WriteBalance: 4, WriteStatus: 5 } as const;
const STRINGS = ['balance', 'status', 'open'];
const BALANCE_KEY = 1;
const STATUS_KEY = 2;
const OPEN_STRING = 3;
const STREAM = 1;

export interface SyntheticOptions {
  /** At least this many records are generated (whole requests). */
  events: number;
  /** Every n-th request races two withdrawals; 0 for none. */
  racyEvery: number;
}

type Event = Omit<RecordFields, 'seq'>;

const location = (object: number, key: number) => object + key * 2 ** 32;

/** The records of the whole trace, in the order one stream would write them. */
export function syntheticRecords({ events, racyEvery }: SyntheticOptions): Event[] {
  const out: Event[] = [];
  let task = 0;
  let invocation = 0;
  let time = 0;
  for (let request = 0; out.length < events; request++) {
    const account = request + 1;
    const root = ++task;
    time += 0.25;
    out.push({ kind: EventKind.TaskBegin, flags: 0, task: root, site: 0, a: 0, b: time });
    const racy = racyEvery > 0 && request % racyEvery === racyEvery - 1;
    const calls = racy ? [++invocation, ++invocation] : [++invocation];
    for (const call of calls) {
      out.push({ kind: EventKind.FnEnter, flags: 0, task: root, site: Site.Withdraw, a: call, b: 0 });
      out.push({ kind: EventKind.AwaitSuspend, flags: 0, task: root, site: Site.Await, a: call, b: 0 });
    }
    // Each call resumes, reads the balance and awaits again; then each resumes and writes.
    const amounts = [30, 50];
    for (const call of calls) {
      const resumed = ++task;
      time += 0.1;
      out.push({ kind: EventKind.AwaitResume, flags: 0, task: resumed, site: Site.Await, a: call, b: time });
      out.push({
        kind: EventKind.Read,
        flags: ValueTag.Number,
        task: resumed,
        site: Site.ReadBalance,
        a: location(account, BALANCE_KEY),
        b: 100,
      });
      out.push({ kind: EventKind.AwaitSuspend, flags: 0, task: resumed, site: Site.Await, a: call, b: 0 });
    }
    calls.forEach((call, i) => {
      const resumed = ++task;
      time += 0.1;
      out.push({ kind: EventKind.AwaitResume, flags: 0, task: resumed, site: Site.Await, a: call, b: time });
      out.push({
        kind: EventKind.Write,
        flags: ValueTag.Number,
        task: resumed,
        site: Site.WriteBalance,
        a: location(account, BALANCE_KEY),
        b: 100 - (amounts[i] as number),
      });
      out.push({
        kind: EventKind.Write,
        flags: ValueTag.String,
        task: resumed,
        site: Site.WriteStatus,
        a: location(account, STATUS_KEY),
        b: OPEN_STRING,
      });
      out.push({ kind: EventKind.FnExit, flags: 0, task: resumed, site: Site.Withdraw, a: call, b: 0 });
    });
  }
  return out;
}

/** Writes the trace to `path` in chunks, as the runtime would flush them. */
export function writeSyntheticTrace(path: string, options: SyntheticOptions): number {
  const records = syntheticRecords(options);
  const writer = TraceFileWriter.create(path, {
    traceId: '5'.repeat(32),
    service: 'synthetic-bank',
    pid: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    node: process.versions.node,
    causeway: '0.1.0',
  });
  writer.stream({ stream: STREAM, pid: 1, thread: 0, epochMs: Date.UTC(2026, 0, 1) });
  writer.sites({
    stream: STREAM,
    base: 1,
    table: {
      v: EVENT_FORMAT_VERSION,
      file: SOURCE_FILE,
      sites: [
        [SiteKind.Function, 1, 1, 'withdraw', ''],
        [SiteKind.Await, 3, 3, 'withdraw', ''],
        [SiteKind.Read, 2, 27, 'withdraw', 'balance'],
        [SiteKind.Write, 4, 3, 'withdraw', 'balance'],
        [SiteKind.Write, 5, 3, 'withdraw', 'status'],
      ],
    },
  });
  writer.strings({ stream: STREAM, first: 1, strings: STRINGS });
  const CHUNK = 65536;
  for (let start = 0; start < records.length; start += CHUNK) {
    const slice = records.slice(start, start + CHUNK).map((event, i) => ({ ...event, seq: start + i }));
    writer.events(STREAM, encodeRecords(slice));
  }
  writer.end({ records: records.length, dropped: 0, endedAt: '2026-01-01T00:00:01.000Z' });
  return records.length;
}
