// `causeway serve` as a real process: it refuses a public address without a key, prints its start
// line, and keeps every acknowledged batch across a SIGKILL during sustained ingest.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EventKind, encodeRecords, ValueTag } from '@causeway/core/event-format';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { makeBatch, newTraceId } from './fixtures.ts';

const CLI = new URL('../../cli/bin/causeway.js', import.meta.url).pathname;

function startServer(args: string[], cwd: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'silent', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const tooLate = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start listening within 30 s: ${out}${err}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+) /.exec(out);
      if (match !== null) {
        clearTimeout(tooLate);
        resolve({ child, base: match[1] as string });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) =>
      reject(new Error(`the server exited with ${code} before listening: ${out}${err}`)),
    );
  });
}

function runToExit(args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

/** Batch n of the test: one new root task that writes n, with seqs 2n, 2n + 1. */
function batchNumber(traceId: string, n: number): Uint8Array<ArrayBuffer> {
  const records = encodeRecords([
    { kind: EventKind.TaskBegin, flags: 0, seq: 2 * n, task: n, site: 0, a: 0, b: n },
    { kind: EventKind.Write, flags: ValueTag.Number, seq: 2 * n + 1, task: n, site: 4, a: 1 + 2 ** 32, b: n },
  ]);
  return encodeBatch(makeBatch({ traceId, batch: n, first: n === 1, events: records }));
}

describe('causeway serve, as a process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'causeway-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to listen on a public address without an API key, and says why', async () => {
    const { code, err } = await runToExit(['--host', '0.0.0.0', '--port', '0'], dir);
    assert.equal(code, 2);
    assert.match(err, /refusing to listen on 0\.0\.0\.0 without an API key/);
    assert.match(err, /--api-key/);
  });

  it('refuses bad options with exit 2 and a usage line', async () => {
    for (const [args, problem] of [
      [['--port', 'http'], /--port http should be an integer/],
      [['--max-age', '3 weeks'], /--max-age 3 weeks should be a number and a unit/],
      [['--log-level', 'loud'], /--log-level loud/],
      [['extra'], /unexpected argument 'extra'/],
    ] as const) {
      const { code, err } = await runToExit([...args], dir);
      assert.equal(code, 2, err);
      assert.match(err, problem);
    }
  });

  it('prints one start line with the address, the store and the version', async () => {
    const { child, base } = await startServer(['--store', 'start.db'], dir);
    try {
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string };
      assert.equal(health.status, 'ok');
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, 'a clean exit on SIGTERM');
    }
  });

  it('applies --max-traces when it starts', async () => {
    const store = join(dir, 'retention.db');
    const [older, newer] = [newTraceId(), newTraceId()];
    const first = await startServer(['--store', store], dir);
    try {
      for (const traceId of [older, newer]) {
        const body = encodeBatch(makeBatch({ traceId }));
        const response = await fetch(`${first.base}/v1/batches`, {
          method: 'POST',
          headers: { 'content-type': BATCH_CONTENT_TYPE },
          body,
        });
        assert.equal(response.status, 200);
        await new Promise((resolve) => setTimeout(resolve, 20)); // distinct update times
      }
    } finally {
      first.child.kill('SIGKILL');
    }
    const second = await startServer(['--store', store, '--max-traces', '1'], dir);
    try {
      assert.equal((await fetch(`${second.base}/v1/traces/${older}`)).status, 404);
      assert.equal((await fetch(`${second.base}/v1/traces/${newer}`)).status, 200);
    } finally {
      second.child.kill('SIGKILL');
    }
  });

  it('keeps every acknowledged batch when killed with SIGKILL during ingest', async () => {
    const store = join(dir, 'durable.db');
    const traceId = newTraceId();
    const first = await startServer(['--store', store], dir);
    const acknowledged: number[] = [];
    let killed = false;
    // One batch is in flight at all times: the next is sent as soon as the previous is answered.
    const sender = (async () => {
      for (let n = 1; ; n++) {
        try {
          const response = await fetch(`${first.base}/v1/batches`, {
            method: 'POST',
            headers: { 'content-type': BATCH_CONTENT_TYPE },
            body: batchNumber(traceId, n),
          });
          assert.equal(response.status, 200, await response.text());
          acknowledged.push(n);
        } catch (error) {
          if (killed) return;
          throw error;
        }
      }
    })();
    while (acknowledged.length < 300) await new Promise((resolve) => setTimeout(resolve, 5));
    killed = true;
    first.child.kill('SIGKILL');
    await sender;

    const second = await startServer(['--store', store], dir);
    try {
      const summary = (await (await fetch(`${second.base}/v1/traces/${traceId}`)).json()) as {
        records: number;
      };
      assert.ok(
        summary.records >= acknowledged.length * 2,
        `${summary.records} records, ${acknowledged.length} batches acknowledged`,
      );
      const stored = new Set<number>();
      for (let from: number | null = 0; from !== null; ) {
        const page = (await (
          await fetch(`${second.base}/v1/traces/${traceId}/events?kind=write&limit=1000&from=${from}`)
        ).json()) as { events: { access: { value: string } }[]; next: number | null };
        for (const event of page.events) stored.add(Number(event.access.value));
        from = page.next;
      }
      const missing = acknowledged.filter((batch) => !stored.has(batch));
      assert.deepEqual(missing, [], 'every acknowledged batch is stored');
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
