// The TUI over a real in-process server: the traces pane, paged events, the graph and findings,
// live records followed, and the errors a user meets, all without a terminal.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { type CausewayServer, createServer, TraceStore } from '@causeway/server';
import { ServerTraceSource } from '../../packages/cli/src/trace-source.ts';
import { LOST_UPDATE, makeBatch, newTraceId, records } from '../../packages/server/test/fixtures.ts';
import { causalLines, detailsLines } from '../src/lines.ts';
import { EVENT_PAGE, type RestClient, ServerSource, type ServerTraceModel } from '../src/server-source.ts';
import { followTail, initialState } from '../src/state.ts';

/** Resolves once `check` holds, re-checking each time the model says it changed. */
function until(model: ServerTraceModel, check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error('the model never got there'));
    }, 5000);
    const stop = model.subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

describe('the TUI over a server', () => {
  let store: TraceStore;
  let server: CausewayServer;
  let base: string;
  before(async () => {
    store = await TraceStore.open(':memory:');
    server = createServer({ store, analyzeIntervalMs: 0, apiKey: 'secret' });
    base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await server.app.close();
    await store.close();
  });

  const post = async (batch: ReturnType<typeof makeBatch>) => {
    const response = await fetch(`${base}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': BATCH_CONTENT_TYPE, 'x-causeway-api-key': 'secret' },
      body: encodeBatch(batch),
    });
    assert.equal(response.status, 200, await response.text());
  };
  const source = () => new ServerSource(new ServerTraceSource(base, 'secret'));

  it('lists the traces, reads events a page at a time, and shows causes, details and findings', async () => {
    const traceId = newTraceId();
    await post(makeBatch({ traceId, end: true }));
    const entries = await source().list();
    const entry = entries.find((e) => e.id === traceId);
    assert.ok(entry !== undefined, 'the trace is listed');
    assert.match(entry.name, new RegExp(`^bank:${traceId.slice(0, 8)}$`));
    assert.match(entry.detail, /15 records/);

    const model = (await source().open(entry)) as ServerTraceModel;
    try {
      assert.equal(model.eventCount, 15);
      assert.equal(model.live, false, 'an ended trace is not followed');
      assert.match(model.eventLine(1), /^ 1 +#0 fn-enter +withdraw/);
      assert.equal(model.rows(false).length, 15);
      await model.analyze();
      assert.equal(model.analysis.error, null);
      assert.ok(
        model.findings.some((finding) => finding.class === 'lost-update'),
        model.findings.map((finding) => finding.class).join(),
      );
      assert.match(model.headline(), /15 events · \d+ tasks · \d+ findings?/);
      // The write of task 4 (event 12) caused nothing; the await it resumed from is its cause.
      const details = model.details(12);
      assert.ok(details !== null);
      const text = detailsLines(details, false).join('\n');
      assert.match(text, /at src\/account\.ts:6:3 in withdraw/);
      assert.match(text, /write obj#\d+\.balance: 70/);
      assert.match(text, /clock: not served by the server/);
      assert.match(text, /stack: not served by the server/);
      const causes = causalLines(model.causal(12)).join('\n');
      assert.match(causes, /caused by:\n {2}← await/);
      assert.match(causes, /concurrent with: not known: the server serves no vector clocks/);
      // The lost update's accesses are timeline rows with `a`, and marked.
      const findingRows = model.rows(true);
      assert.ok(findingRows.length >= 2, `finding rows: ${findingRows.length}`);
      assert.ok(model.findingsOf(findingRows.eventAt(0)).length > 0);
      assert.match(String(model.stateAt()), /server does not serve object states/);
    } finally {
      model.dispose();
    }
  });

  it('follows a live trace: new events arrive, a selection at the end follows them, new traces are heard of', async () => {
    const traceId = newTraceId();
    await post(makeBatch({ traceId, events: records(LOST_UPDATE.slice(0, 5)) }));
    const tui = source();
    const heard: string[] = [];
    const stopWatching = tui.watch(
      () => heard.push('change'),
      () => {},
    );
    const model = (await tui.open({ id: traceId, name: 'bank', detail: '' })) as ServerTraceModel;
    try {
      assert.equal(model.live, true, 'a trace without END is live');
      assert.equal(model.eventCount, 5);
      assert.match(model.eventLine(4), /await-suspend/);
      // Give the live stream a moment to be registered before the next batch.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const atEnd = { ...initialState, cursor: 4 };
      const inMiddle = { ...initialState, cursor: 1 };
      await post(
        makeBatch({ traceId, batch: 2, first: false, events: records(LOST_UPDATE.slice(5), 5), end: true }),
      );
      await until(model, () => model.eventCount === 15);
      assert.equal(
        followTail(atEnd, 5, 15, 10).cursor,
        14,
        'the selection on the last event follows the tail',
      );
      assert.equal(followTail(inMiddle, 5, 15, 10).cursor, 1, 'a selection elsewhere stays');
      // The page read before the batch arrived is read again: the new events show.
      model.eventLine(14);
      await until(model, () => /write/.test(model.eventLine(14)));
      await until(model, () => !model.live);
      await until(model, () => model.analysis.done && model.findings.length > 0);
      assert.ok(heard.length > 0, 'the list heard of the trace changing');
    } finally {
      model.dispose();
      stopWatching();
    }
  });

  it('misses nothing that arrived before the live streams opened', async () => {
    const traceId = newTraceId();
    await post(makeBatch({ traceId, events: records(LOST_UPDATE.slice(0, 5)) }));
    const client = new ServerTraceSource(base, 'secret');
    let sneakedIn = false;
    // A client that answers from before a batch and a new trace arrived: both land after the
    // model and the list were read, and before their live streams open.
    const late: RestClient = {
      base: client.base,
      headers: () => client.headers(),
      get: async <T>(path: string): Promise<T> => {
        const answer = await client.get<T>(path);
        if (!sneakedIn && path.includes('/events?from=0')) {
          sneakedIn = true;
          await post(
            makeBatch({ traceId, batch: 2, first: false, events: records(LOST_UPDATE.slice(5), 5) }),
          );
        }
        return answer;
      },
      listTraces: async () => {
        const list = await client.listTraces();
        await post(makeBatch({ traceId: newTraceId(), service: 'late', pid: 9 }));
        return list;
      },
    };
    const tui = new ServerSource(late);
    const entries = await tui.list();
    let changes = 0;
    const stopWatching = tui.watch(
      () => changes++,
      () => {},
    );
    const model = (await tui.open({ id: traceId, name: 'bank', detail: '' })) as ServerTraceModel;
    try {
      assert.ok(sneakedIn);
      assert.equal(model.eventCount, 5, 'the first read saw 5 records');
      await until(model, () => model.eventCount === 15);
      for (let i = 0; i < 500 && changes === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(changes > 0, 'the list is read again once its stream is open');
      assert.ok(!entries.some((entry) => entry.name.startsWith('late:')));
    } finally {
      model.dispose();
      stopWatching();
    }
  });

  it('reads only the pages of the rows asked for, and keeps a bounded number of them', async () => {
    const traceId = newTraceId();
    // A task that reads a balance 9000 times: 46 pages of events.
    const reading = { ...(LOST_UPDATE[6] as (typeof LOST_UPDATE)[number]), task: 1 };
    const events = [
      LOST_UPDATE[0] as (typeof LOST_UPDATE)[number],
      ...Array.from({ length: 9000 }, () => reading),
    ];
    await post(makeBatch({ traceId, events: records(events), end: true }));
    const model = (await source().open({ id: traceId, name: 'long', detail: '' })) as ServerTraceModel;
    try {
      assert.equal(model.eventCount, 9001);
      assert.equal(model.pagesHeld, 1, 'only the first page is read at open');
      assert.match(model.eventLine(9000), /^9000 …$/, 'a row whose page is not read yet says so');
      await until(model, () => /read +obj#\d+\.balance → 100/.test(model.eventLine(9000)));
      assert.equal(model.pagesHeld, 2, 'the pages in between are not read');
      for (let row = 0; row < 9001; row += EVENT_PAGE) {
        model.eventLine(row);
        await until(model, () => !model.eventLine(row).endsWith('…'));
      }
      assert.ok(model.pagesHeld <= 40, `pages held: ${model.pagesHeld}`);
      assert.ok(model.pagesHeld >= 30, `pages held: ${model.pagesHeld}`);
      // The first page was dropped long ago: asked for again, it is read again.
      assert.match(model.eventLine(1), /…$/);
      await until(model, () => /read/.test(model.eventLine(1)));
    } finally {
      model.dispose();
    }
  });

  it('says in one line what went wrong: no server, a wrong key, an unknown trace', async () => {
    const unreachable = new ServerSource(new ServerTraceSource('http://127.0.0.1:9', null));
    await assert.rejects(unreachable.list(), /cannot reach the Causeway server at http:\/\/127\.0\.0\.1:9/);
    const wrongKey = new ServerSource(new ServerTraceSource(base, 'wrong'));
    await assert.rejects(wrongKey.list(), /401 CW_SERVER_UNAUTHORIZED/);
    await assert.rejects(
      source().open({ id: newTraceId(), name: 'gone', detail: '' }),
      /404 CW_SERVER_TRACE_NOT_FOUND/,
    );
  });
});
