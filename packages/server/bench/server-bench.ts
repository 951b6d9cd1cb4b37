// `npm run bench:server`: the server's benchmarks, side by side in one run.
//  1. Sustained ingest over HTTP (real sockets on 127.0.0.1): binary batches of BATCH records,
//     SENDERS concurrent senders each with its own trace, into node:sqlite and into PostgreSQL.
//  2. A page of events from a 1 M-event trace: the first request (analysis in the core) and the
//     p50/p95 of PAGES random pages afterwards, unfiltered and filtered by kind.
// Prints a table and one JSON line; docs/benchmarks.md records the figures with this command.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EventKind, RECORD_SIZE, RecordOffset, ValueTag } from '@causeway/core/event-format';
import { BATCH_CONTENT_TYPE, type Batch, encodeBatch } from '@causeway/core/wire-format';
import pg from 'pg';
import { createServer } from '../src/app.ts';
import type { PostgresDb } from '../src/store/db.ts';
import { TraceStore } from '../src/store/store.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '2000000' },
    batch: { type: 'string', default: '8192' },
    senders: { type: 'string', default: '4' },
    'page-trace': { type: 'string', default: '1000000' },
    pages: { type: 'string', default: '200' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const SENDERS = Number(values.senders);
const PAGE_TRACE = Number(values['page-trace']);
const PAGES = Number(values.pages);

/**
 * Records of tasks that each begin, call a function, read and write their own object and return:
 * valid for the core, no races between tasks. Five records per task.
 */
function taskRecords(firstSeq: number, count: number): Uint8Array {
  const bytes = new Uint8Array(count * RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const task = Math.floor(seq / 5) + 1;
    const step = seq % 5;
    const at = i * RECORD_SIZE;
    const kind = [EventKind.TaskBegin, EventKind.FnEnter, EventKind.Read, EventKind.Write, EventKind.FnExit][
      step
    ] as number;
    view.setUint8(at + RecordOffset.kind, kind);
    view.setUint32(at + RecordOffset.seq, seq, true);
    view.setUint32(at + RecordOffset.task, task, true);
    view.setUint32(at + RecordOffset.site, step === 0 ? 0 : step, true);
    if (kind === EventKind.Read || kind === EventKind.Write) {
      view.setUint8(at + RecordOffset.flags, ValueTag.Number);
      view.setUint32(at + RecordOffset.a, task, true); // object `task`, key 1
      view.setUint32(at + RecordOffset.a + 4, 1, true);
      view.setFloat64(at + RecordOffset.b, task, true);
    } else if (kind === EventKind.TaskBegin) {
      view.setFloat64(at + RecordOffset.b, seq / 1000, true);
    }
  }
  return bytes;
}

function batchOf(traceId: string, n: number, firstSeq: number, count: number): Batch {
  const first = n === 1;
  return {
    meta: {
      traceId,
      service: 'bench',
      pid: 1,
      startedAt: new Date().toISOString(),
      node: process.version,
      causeway: '0.1.0',
      batch: n,
    },
    streams: first ? [{ stream: 0, pid: 1, thread: 0, epochMs: Date.now() }] : [],
    sites: first
      ? [
          {
            stream: 0,
            base: 1,
            table: {
              v: 1,
              file: 'bench.ts',
              sites: [
                [1, 1, 1, 'work', ''],
                [3, 2, 1, 'work', 'value'],
                [4, 3, 1, 'work', 'value'],
                [1, 4, 1, 'work', ''],
              ],
            },
          },
        ]
      : [],
    strings: first ? [{ stream: 0, first: 1, strings: ['value'] }] : [],
    events: [{ stream: 0, records: taskRecords(firstSeq, count) }],
    end: null,
  };
}

/** Pre-encoded batches of one trace, `events` records in all. */
function traceBatches(events: number, batch = BATCH): { traceId: string; bodies: Uint8Array<ArrayBuffer>[] } {
  const traceId = randomBytes(16).toString('hex');
  const bodies: Uint8Array<ArrayBuffer>[] = [];
  for (let seq = 0, n = 1; seq < events; seq += batch, n++) {
    bodies.push(encodeBatch(batchOf(traceId, n, seq, Math.min(batch, events - seq))));
  }
  return { traceId, bodies };
}

async function post(base: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const response = await fetch(`${base}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': BATCH_CONTENT_TYPE },
    body,
  });
  if (response.status !== 200) throw new Error(`bench: batch refused: ${await response.text()}`);
  await response.arrayBuffer();
}

async function ingest(store: TraceStore): Promise<{ eventsPerSecond: number; seconds: number }> {
  const server = createServer({ store, analyzeIntervalMs: 0, bodyLimit: 64 * 1024 * 1024 });
  const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const perSender = Math.floor(EVENTS / SENDERS);
    const traces = Array.from({ length: SENDERS }, () => traceBatches(perSender));
    const started = performance.now();
    await Promise.all(
      traces.map(async ({ bodies }) => {
        for (const body of bodies) await post(base, body);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerSecond: (perSender * SENDERS) / seconds, seconds };
  } finally {
    await server.app.close();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

async function pages(store: TraceStore) {
  const server = createServer({ store, analyzeIntervalMs: 0, bodyLimit: 64 * 1024 * 1024 });
  const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { traceId, bodies } = traceBatches(PAGE_TRACE);
    for (const body of bodies) await post(base, body);
    const get = async (query: string) => {
      const started = performance.now();
      const response = await fetch(`${base}/v1/traces/${traceId}/events?${query}`);
      const body = (await response.json()) as { events: unknown[] };
      if (response.status !== 200 || body.events.length === 0) throw new Error(`bench: page ${query} failed`);
      return performance.now() - started;
    };
    // While the first page analyses the trace, another process keeps sending small batches: how
    // long do they wait for their acknowledgement?
    const first = get('from=0&limit=100');
    let analysing = true;
    const ackMs: number[] = [];
    const other = traceBatches(256 * 4000, 256);
    const sender = (async () => {
      for (const body of other.bodies) {
        if (!analysing) break;
        const started = performance.now();
        await post(base, body);
        ackMs.push(performance.now() - started);
      }
    })();
    const firstMs = await first;
    analysing = false;
    await sender;
    const plain: number[] = [];
    const filtered: number[] = [];
    for (let i = 0; i < PAGES; i++) {
      const from = Math.floor(Math.random() * (PAGE_TRACE - 100));
      plain.push(await get(`from=${from}&limit=100`));
      filtered.push(await get(`from=${from}&limit=100&kind=write`));
    }
    // A live trace: one more batch arrives, and the next page re-analyses incrementally.
    const more = encodeBatch(batchOf(traceId, bodies.length + 1, PAGE_TRACE, BATCH));
    await post(base, more);
    const afterBatchMs = await get(`from=${PAGE_TRACE}&limit=100`);
    return {
      ackDuringAnalysisP95Ms: percentile(ackMs, 0.95),
      ackDuringAnalysisMaxMs: Math.max(...ackMs),
      acksDuringAnalysis: ackMs.length,
      firstPageMs: firstMs,
      pageAfterNewBatchMs: afterBatchMs,
      pageP50Ms: percentile(plain, 0.5),
      pageP95Ms: percentile(plain, 0.95),
      filteredPageP50Ms: percentile(filtered, 0.5),
      filteredPageP95Ms: percentile(filtered, 0.95),
    };
  } finally {
    await server.app.close();
  }
}

async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'causeway-server-bench-'));
const results: Record<string, number | string> = {
  events: EVENTS,
  batch: BATCH,
  senders: SENDERS,
  pageTrace: PAGE_TRACE,
};
try {
  const sqlite = await TraceStore.open(join(dir, 'bench.db'));
  const sqliteIngest = await ingest(sqlite);
  results.sqliteEventsPerSecond = Math.round(sqliteIngest.eventsPerSecond);
  const page = await pages(sqlite);
  Object.assign(results, page);
  await sqlite.close();
  console.log(`Ingest over HTTP, ${EVENTS} events in batches of ${BATCH}, ${SENDERS} senders`);
  console.log(`  node:sqlite   ${Math.round(sqliteIngest.eventsPerSecond).toLocaleString('en')} events/s`);

  if (await postgresReachable(values.postgres)) {
    const schema = `cw_bench_${randomBytes(4).toString('hex')}`;
    const postgres = await TraceStore.open(`${values.postgres}?schema=${schema}`);
    try {
      const pgIngest = await ingest(postgres);
      results.postgresEventsPerSecond = Math.round(pgIngest.eventsPerSecond);
      console.log(`  PostgreSQL    ${Math.round(pgIngest.eventsPerSecond).toLocaleString('en')} events/s`);
    } finally {
      await (postgres.db as PostgresDb).dropSchema();
      await postgres.close();
    }
  } else {
    console.log(`  PostgreSQL    skipped: not reachable at ${values.postgres}`);
  }
  console.log(
    `A page of 100 events from a ${PAGE_TRACE.toLocaleString('en')}-event trace (node:sqlite), ${PAGES} random pages`,
  );
  console.log(
    `  first page (loads the trace and analyses it in the core)  ${page.firstPageMs.toFixed(0)} ms`,
  );
  console.log(
    `  meanwhile, ${page.acksDuringAnalysis} batches of 256 records to another trace: ack p95 ${page.ackDuringAnalysisP95Ms.toFixed(0)} ms, max ${page.ackDuringAnalysisMaxMs.toFixed(0)} ms`,
  );
  console.log(
    `  first page after one more batch of ${BATCH} records (incremental analysis)  ${page.pageAfterNewBatchMs.toFixed(0)} ms`,
  );
  console.log(
    `  unfiltered page      p50 ${page.pageP50Ms.toFixed(2)} ms   p95 ${page.pageP95Ms.toFixed(2)} ms`,
  );
  console.log(
    `  filtered (kind=write) p50 ${page.filteredPageP50Ms.toFixed(2)} ms   p95 ${page.filteredPageP95Ms.toFixed(2)} ms`,
  );
  console.log(JSON.stringify(results));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
