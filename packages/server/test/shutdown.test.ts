// Graceful shutdown: a batch being received when close() begins is finished and committed; the
// server then stops listening.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { createServer } from '../src/app.ts';
import { TraceStore } from '../src/store/store.ts';
import { makeBatch, newTraceId } from './fixtures.ts';

describe('graceful shutdown', () => {
  it('finishes the batch in flight, then stops listening', async () => {
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0 });
    const base = new URL(await server.app.listen({ port: 0, host: '127.0.0.1' }));
    const traceId = newTraceId();
    const body = encodeBatch(makeBatch({ traceId }));
    try {
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: base.hostname,
            port: base.port,
            method: 'POST',
            path: '/v1/batches',
            headers: { 'content-type': BATCH_CONTENT_TYPE, 'content-length': body.length },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => {
              text += chunk.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        // Half the body now; once the server has the request, close() begins, then the rest follows.
        server.app.server.once('request', () => {
          closed = server.app.close();
          setTimeout(() => req.end(body.subarray(body.length >> 1)), 50);
        });
        req.write(body.subarray(0, body.length >> 1));
      });
      let closed: Promise<undefined> | undefined;
      const { status, body: text } = await answer;
      assert.equal(status, 200, text);
      assert.equal(JSON.parse(text).records, 15);
      await closed;
      assert.equal((await store.getTrace(traceId))?.records, 15, 'the batch was committed');
      // (Not probed by connecting: another test process may have been given the port since.)
      assert.equal(server.app.server.listening, false, 'the server no longer listens');
    } finally {
      await server.app.close();
      await store.close();
    }
  });
});
