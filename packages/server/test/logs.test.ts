// Structured logs: JSON lines from fastify's logger, refusals at warn with their code.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { createServer } from '../src/app.ts';
import { TraceStore } from '../src/store/store.ts';
import { makeBatch, newTraceId } from './fixtures.ts';

describe('logs', () => {
  it('logs answered requests at debug and refusals at warn, as JSON lines', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
        done();
      },
    });
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0, logger: { level: 'debug', stream } });
    try {
      const post = (payload: Buffer) =>
        server.app.inject({
          method: 'POST',
          url: '/v1/batches',
          headers: { 'content-type': BATCH_CONTENT_TYPE },
          payload,
        });
      assert.equal(
        (await post(Buffer.from(encodeBatch(makeBatch({ traceId: newTraceId() }))))).statusCode,
        200,
      );
      assert.equal((await post(Buffer.from('not a batch'))).statusCode, 400);
    } finally {
      await server.app.close();
      await store.close();
    }
    const requests = lines.filter((l) => l.msg === 'request' || l.msg === 'request refused');
    assert.deepEqual(
      requests.map((l) => [l.level, l.method, l.url, l.status]),
      [
        [20, 'POST', '/v1/batches', 200],
        [40, 'POST', '/v1/batches', 400],
      ],
    );
    assert.ok(!lines.some((l) => l.msg === 'incoming request'), "fastify's own line per request is off");
    const refusal = lines.find((l) => l.code === 'CW_SERVER_BATCH_INVALID');
    assert.ok(refusal !== undefined, JSON.stringify(lines));
    assert.equal(refusal.level, 40);
    assert.match(String(refusal.msg), /batch magic/);
  });
});
