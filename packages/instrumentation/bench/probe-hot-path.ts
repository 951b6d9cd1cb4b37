// Cost of one probe call on the hot path, in ns per event, against a bare 32-byte record write
// into a SharedArrayBuffer. Run by bench/run.ts; prints one JSON line.

import { executionAsyncId } from 'node:async_hooks';
import { AccessFlag, EventKind, SiteKind } from '@causeway/core/event-format';
import { Recorder } from '../src/runtime/recorder.ts';
import { Sampler } from '../src/runtime/sampling.ts';

const EVENTS = 1 << 20;
const RUNS = 21;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function timeRuns(body: () => void): number {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    body();
    samples.push(Number(process.hrtime.bigint() - start) / EVENTS);
  }
  return median(samples);
}

// Baseline: eight u32 stores per record into a SharedArrayBuffer, no bookkeeping.
const words = new Uint32Array(new SharedArrayBuffer(EVENTS * 32));
const bareWrite = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) {
    const at = i << 3;
    words[at] = EventKind.FnEnter;
    words[at + 1] = i;
    words[at + 2] = 1;
    words[at + 3] = 7;
    words[at + 4] = 0;
    words[at + 5] = 0;
    words[at + 6] = 0;
    words[at + 7] = 0;
  }
});

const recorder = new Recorder(EVENTS * 2, performance, executionAsyncId);
const discard = (): void => {};
const enter = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) recorder.enter(7);
  recorder.ring.drain(discard);
});
const awaitPair = timeRuns(() => {
  for (let i = 0; i < EVENTS / 2; i++) {
    recorder.suspend(8, i);
    recorder.resume(8, i);
  }
  recorder.ring.drain(discard);
});

// Accesses: one object, a static-key site (`account.balance`) and a computed one (`row[key]`).
const site = recorder.registerSites({
  v: 1,
  file: 'bench.ts',
  sites: [
    [SiteKind.Read, 1, 1, 'f', 'balance'],
    [SiteKind.Write, 2, 1, 'f', 'balance'],
    [SiteKind.Read, 3, 1, 'f', ''],
  ],
});
const account = { balance: 100 };
const read = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) recorder.read(site, account, i);
  recorder.ring.drain(discard);
});
const write = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) recorder.write(site + 1, account, i, AccessFlag.Update);
  recorder.ring.drain(discard);
});
const readKey = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) recorder.readKey(site + 2, account, 'balance', i);
  recorder.ring.drain(discard);
});

// The same probes in a task of an unsampled trace (rate 0): each returns after one field check;
// an await's resumption also asks the sampler (an AsyncLocalStorage read) as its task starts.
const unsampled = new Recorder(1 << 12, performance, executionAsyncId, new Sampler(0));
unsampled.resample();
if (!unsampled.muted) throw new Error('bench: the unsampled recorder records');
const unsampledSite = unsampled.registerSites({
  v: 1,
  file: 'bench.ts',
  sites: [[SiteKind.Read, 1, 1, 'f', 'balance']],
});
const enterUnsampled = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) unsampled.enter(7);
});
const readUnsampled = timeRuns(() => {
  for (let i = 0; i < EVENTS; i++) unsampled.read(unsampledSite, account, i);
});
const awaitPairUnsampled = timeRuns(() => {
  for (let i = 0; i < EVENTS / 2; i++) {
    unsampled.suspend(8, i);
    unsampled.resume(8, i);
  }
});
if (unsampled.sequence !== 1) throw new Error('bench: the unsampled recorder wrote records');

console.log(
  JSON.stringify({
    enterUnsampledNs: enterUnsampled,
    readUnsampledNs: readUnsampled,
    suspendResumeUnsampledPerEventNs: awaitPairUnsampled,
    readNs: read,
    writeNs: write,
    readKeyNs: readKey,
    events: EVENTS,
    runs: RUNS,
    bareWriteNs: bareWrite,
    enterNs: enter,
    suspendResumePerEventNs: awaitPair,
    dropped: recorder.ring.dropped,
  }),
);
