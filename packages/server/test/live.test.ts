// Server-Sent Events: a client following all traces, and one following one trace, see new batches.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { type CausewayServer, createServer } from '../src/app.ts';
import { TraceStore } from '../src/store/store.ts';
import { LOST_UPDATE, makeBatch, newTraceId, records } from './fixtures.ts';

/** Reads a live stream until `count` events (`event:` blocks) have arrived. */
async function readEvents(response: Response, count: number): Promise<{ event: string; data: unknown }[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: { event: string; data: unknown }[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end = text.indexOf('\n\n');
    while (end !== -1) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      end = text.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

describe('live updates (SSE)', () => {
  let store: TraceStore;
  let server: CausewayServer;
  let base: string;
  before(async () => {
    store = await TraceStore.open(':memory:');
    server = createServer({ store, analyzeIntervalMs: 0 });
    base = await server.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await server.app.close();
    await store.close();
  });

  const post = (body: Uint8Array<ArrayBuffer>) =>
    fetch(`${base}/v1/batches`, { method: 'POST', headers: { 'content-type': BATCH_CONTENT_TYPE }, body });

  it('sends every trace change to /v1/live, and new records to /v1/live?trace=id', async () => {
    const traceId = newTraceId();
    const all = await fetch(`${base}/v1/live`);
    assert.equal(all.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const allEvents = readEvents(all, 2);
    assert.equal(
      (await post(encodeBatch(makeBatch({ traceId, events: records(LOST_UPDATE.slice(0, 5)) })))).status,
      200,
    );

    const one = await fetch(`${base}/v1/live?trace=${traceId}`);
    const oneEvents = readEvents(one, 2);
    // Another trace's batch is not sent to the client following `traceId`.
    assert.equal((await post(encodeBatch(makeBatch({ traceId: newTraceId() })))).status, 200);
    const second = makeBatch({ traceId, batch: 2, first: false, events: records(LOST_UPDATE.slice(5), 5) });
    assert.equal((await post(encodeBatch(second))).status, 200);

    const seenByAll = await allEvents;
    assert.deepEqual(
      seenByAll.map((e) => e.event),
      ['trace', 'trace'],
    );
    const firstChange = seenByAll[0]?.data as { traceId: string; records: number };
    assert.equal(firstChange.traceId, traceId);
    assert.equal(firstChange.records, 5);

    const seenByOne = await oneEvents;
    assert.deepEqual(seenByOne, [
      { event: 'events', data: { traceId, firstIndex: 5, count: 10 } },
      {
        event: 'trace',
        data: { ...(seenByOne[1]?.data as object), traceId, records: 15 },
      },
    ]);
  });

  it('refuses to follow an unknown trace', async () => {
    const response = await fetch(`${base}/v1/live?trace=${newTraceId()}`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { code: string }).code, 'CW_SERVER_TRACE_NOT_FOUND');
  });
});
