// The App over a server, rendered without a terminal: live events and traces reach the screen,
// and a server that goes away afterwards is a status line, not a crash.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { createServer, TraceStore } from '@causeway/server';
import { render } from 'ink-testing-library';
import { ServerTraceSource } from '../../packages/cli/src/trace-source.ts';
import { LOST_UPDATE, makeBatch, newTraceId, records } from '../../packages/server/test/fixtures.ts';
import { App } from '../src/app.ts';
import { h } from '../src/h.ts';
import { ServerSource } from '../src/server-source.ts';

/** Waits for a frame that shows `expected`; generous, since the machine may be busy with other tests. */
async function frameWith(frame: () => string | undefined, expected: string | RegExp): Promise<string> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const text = frame() ?? '';
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    await sleep(10);
  }
  assert.fail(`no frame showed ${expected}; the last was:\n${frame()}`);
}

describe('the TUI over a server, rendered', () => {
  it('shows live events and new traces, and says so in the status line when the server goes away', async () => {
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0 });
    const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    const post = async (batch: ReturnType<typeof makeBatch>) => {
      const response = await fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': BATCH_CONTENT_TYPE },
        body: encodeBatch(batch),
      });
      assert.equal(response.status, 200);
    };
    const live = newTraceId();
    await post(makeBatch({ traceId: live, events: records(LOST_UPDATE.slice(0, 5)) }));
    const source = new ServerSource(new ServerTraceSource(base, null));
    const entries = await source.list();
    const first = await source.open(entries[0] as (typeof entries)[number]);
    const app = render(h(App, { source, entries, first }));
    let closed = false;
    try {
      let frame = await frameWith(app.lastFrame, /Timeline · 5 events/);
      assert.match(frame, /trace 1\/1 +bank:[0-9a-f]{8} +● live/);
      await sleep(200);
      // A second recording starts: it joins the traces pane without a key.
      await post(makeBatch({ traceId: newTraceId(), service: 'gateway', pid: 7 }));
      frame = await frameWith(app.lastFrame, /trace \d\/2/);
      // The live trace grows: the timeline counts the new events.
      await post(
        makeBatch({ traceId: live, batch: 2, first: false, events: records(LOST_UPDATE.slice(5), 5) }),
      );
      frame = await frameWith(app.lastFrame, /Timeline · 15 events/);

      await server.app.close();
      await store.close();
      closed = true;
      app.stdin.write('r');
      frame = await frameWith(app.lastFrame, /cannot (show|list|read).*cannot reach the Causeway server/);
      assert.match(frame, /Causeway · trace/, 'the UI is still drawn');
      app.stdin.write('q');
    } finally {
      app.unmount();
      if (!closed) {
        await server.app.close();
        await store.close();
      }
    }
  });
});
