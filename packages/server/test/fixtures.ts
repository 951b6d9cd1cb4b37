/** Batches for the tests: a recorded lost update, split the way the runtime would send it. */

import { randomBytes } from 'node:crypto';
import { EventKind, encodeRecords, type RecordFields, SiteKind, ValueTag } from '@causeway/core/event-format';
import type { Batch } from '@causeway/core/wire-format';

// Sites 1..4 of the one file: the withdraw function, its await, the read and the write of .balance.
const FN = 1;
const AWAIT = 2;
const READ = 3;
const WRITE = 4;
/** `account.balance`: object 1, key 1 (string id 1 = "balance"). */
const BALANCE = 1 + 1 * 2 ** 32;

type Event = Omit<RecordFields, 'seq'>;
const begin = (task: number): Event => ({ kind: EventKind.TaskBegin, flags: 0, task, site: 0, a: 0, b: 0 });
const enter = (task: number, inv: number): Event => ({
  kind: EventKind.FnEnter,
  flags: 0,
  task,
  site: FN,
  a: inv,
  b: 0,
});
const suspend = (task: number, inv: number): Event => ({
  kind: EventKind.AwaitSuspend,
  flags: 0,
  task,
  site: AWAIT,
  a: inv,
  b: 0,
});
const resume = (task: number, inv: number): Event => ({
  kind: EventKind.AwaitResume,
  flags: 0,
  task,
  site: AWAIT,
  a: inv,
  b: 1,
});
const read = (task: number, value: number): Event => ({
  kind: EventKind.Read,
  flags: ValueTag.Number,
  task,
  site: READ,
  a: BALANCE,
  b: value,
});
const write = (task: number, value: number): Event => ({
  kind: EventKind.Write,
  flags: ValueTag.Number,
  task,
  site: WRITE,
  a: BALANCE,
  b: value,
});

/** Two concurrent withdrawals: both read 100, one writes 70, the other 50 (a lost update). 13 records. */
export const LOST_UPDATE: Event[] = [
  begin(1),
  enter(1, 100),
  suspend(1, 100),
  enter(1, 200),
  suspend(1, 200),
  resume(2, 100),
  read(2, 100),
  suspend(2, 100),
  resume(3, 200),
  read(3, 100),
  suspend(3, 200),
  resume(4, 100),
  write(4, 70),
  resume(5, 200),
  write(5, 50),
];

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function records(events: Event[], firstSeq = 0): Uint8Array {
  return encodeRecords(events.map((e, i) => ({ ...e, seq: firstSeq + i })));
}

export interface BatchOptions {
  traceId: string;
  service?: string;
  pid?: number;
  batch?: number;
  /** Include the STREAM, SITES and STRINGS chunks (the process's first batch). */
  first?: boolean;
  events?: Uint8Array;
  stream?: number;
  end?: boolean;
}

/** One batch of one process; the first carries the stream, site table and strings. */
export function makeBatch(options: BatchOptions): Batch {
  const stream = options.stream ?? 0;
  const first = options.first ?? true;
  return {
    meta: {
      traceId: options.traceId,
      service: options.service ?? 'bank',
      pid: options.pid ?? 4242,
      startedAt: '2026-11-23T10:00:00.000Z',
      node: 'v24.0.0',
      causeway: '0.1.0',
      batch: options.batch ?? 1,
    },
    streams: first ? [{ stream, pid: options.pid ?? 4242, thread: 0, epochMs: 1_795_000_000_000 }] : [],
    sites: first
      ? [
          {
            stream,
            base: 1,
            table: {
              v: 1,
              file: 'src/account.ts',
              sites: [
                [SiteKind.Function, 3, 1, 'withdraw', ''],
                [SiteKind.Await, 5, 3, 'withdraw', ''],
                [SiteKind.Read, 4, 17, 'withdraw', 'balance'],
                [SiteKind.Write, 6, 3, 'withdraw', 'balance'],
              ],
            },
          },
        ]
      : [],
    strings: first ? [{ stream, first: 1, strings: ['balance'] }] : [],
    events: [{ stream, records: options.events ?? records(LOST_UPDATE) }],
    end: options.end ? { records: 15, dropped: 0, endedAt: '2026-11-23T10:00:01.000Z' } : null,
  };
}
