// `causeway tui` refuses what it cannot show before the UI starts: one line on stderr, exit 2.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { createServer, TraceStore } from '@causeway/server';
import { BIN, runIn } from '../packages/cli/test/fixtures.ts';
import { makeBatch, newTraceId } from '../packages/server/test/fixtures.ts';
import { project } from '../tui/test/fixture.ts';

async function causeway(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { status, stdout, stderr } = await runIn(process.cwd(), args);
  return { code: status, out: stdout, err: stderr };
}

describe('causeway tui', () => {
  it('is listed in the main help and has its own', async () => {
    const main = await causeway('--help');
    assert.match(main.out, /^ {2}tui \[trace-file\] \[--server URL\] +the terminal UI/m);
    const { code, out } = await causeway('tui', '--help');
    assert.equal(code, 0);
    assert.match(out, /^Usage: causeway tui \[trace-file\] \[--server URL\]/);
    assert.match(out, /t {2}time travel/);
  });

  it('exits 2 with the reason for a missing file', async () => {
    const { code, out, err } = await causeway('tui', 'no/such/trace.cwtrace');
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.equal(err, 'causeway: no/such/trace.cwtrace: cannot read the trace file (no such file)\n');
  });

  it('exits 2 with the reason for a file that is not a trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-tui-cli-'));
    try {
      const bad = join(dir, 'notes.cwtrace');
      writeFileSync(bad, 'just some text');
      const { code, err } = await causeway('tui', bad);
      assert.equal(code, 2);
      assert.match(err, /^causeway: .*notes\.cwtrace: not a Causeway trace file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 for extra arguments, an unknown option and a server it cannot reach', async () => {
    const extra = await causeway('tui', 'a.cwtrace', 'b.cwtrace');
    assert.equal(extra.code, 2);
    assert.match(extra.err, /unexpected argument 'b\.cwtrace'/);
    // Port 9 (discard): nothing listens there, and fetch refuses it anyway.
    const server = await causeway('tui', '--server', 'http://127.0.0.1:9');
    assert.equal(server.code, 2);
    assert.match(
      server.err,
      /^causeway: tui: cannot reach the Causeway server at http:\/\/127\.0\.0\.1:9 \(.+\); start it with 'causeway serve'/,
    );
    assert.equal(server.err.split('\n').length, 2, 'one line');
    const unknown = await causeway('tui', '--colour');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Unknown option '--colour'/);
  });

  it('exits 2 when the project has no traces yet, saying how to record one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-tui-cli-'));
    try {
      const result = spawnSync(process.execPath, [BIN, 'tui'], { cwd: dir, encoding: 'utf8' });
      assert.equal(result.status, 2);
      assert.match(
        result.stderr,
        /no trace files in \S*\.causeway\/traces\/\. Record one with 'node --import/,
      );
      // The configured trace directory is the one listed (config traceDir, CAUSEWAY_TRACE_DIR, --trace-dir).
      const elsewhere = spawnSync(process.execPath, [BIN, 'tui', '--trace-dir', 'recorded'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(elsewhere.status, 2);
      assert.match(elsewhere.stderr, /no trace files in \S*recorded\/\. Record one/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names a server's trace by id prefix or latest, and refuses an unknown one", async () => {
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0 });
    try {
      const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
      const traceId = newTraceId();
      const posted = await fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': BATCH_CONTENT_TYPE },
        body: encodeBatch(makeBatch({ traceId, end: true })),
      });
      assert.equal(posted.status, 200);
      // Found, so the command goes on to look for a terminal, which a test does not have.
      for (const name of ['latest', traceId.slice(0, 6)]) {
        const found = await causeway('tui', '--server', base, name);
        assert.equal(found.code, 2);
        assert.match(found.err, /tui needs an interactive terminal/, name);
      }
      const unknown = await causeway('tui', '--server', base, 'nosuch');
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /^causeway: tui: no trace 'nosuch' in http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await server.app.close();
      await store.close();
    }
  });

  it('exits 2 without a terminal, after checking the trace', () => {
    using p = project({ events: 30, racyEvery: 0 });
    const result = spawnSync(process.execPath, [BIN, 'tui', p.trace], { encoding: 'utf8', stdio: 'pipe' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /tui needs an interactive terminal/);
  });
});
