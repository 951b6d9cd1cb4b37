// Drives the real `causeway tui <file>` in a tmux terminal of 80x24, as a person would: open a
// trace, move, open details, filter findings, time travel, resize, quit.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@causeway/core/wire-format';
import { createServer, TraceStore } from '@causeway/server';
import { LOST_UPDATE, makeBatch, newTraceId, records } from '../packages/server/test/fixtures.ts';
import { project } from '../tui/test/fixture.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/causeway.js', import.meta.url));
const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;
const SOCKET = `causeway-tui-test-${process.pid}`;

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const screen = () => tmux('capture-pane', '-p', '-t', 'tui');
const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** Polls the screen until it shows `expected`; fails with the last screen. */
async function showing(expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < until) {
    text = screen();
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    await sleep(50);
  }
  assert.fail(`the screen never showed ${expected}; it was:\n${text}`);
}

async function press(key: string, expected: string | RegExp): Promise<string> {
  tmux('send-keys', '-t', 'tui', key);
  return showing(expected);
}

describe('causeway tui in a terminal', {
  skip: HAS_TMUX ? false : 'tmux is not installed (apt-get install -y tmux)',
}, () => {
  it('opens a trace, moves, shows details, filters findings, travels in time, resizes and quits', async () => {
    using p = project({ events: 400, racyEvery: 4 });
    const exitFile = join(p.root, 'exit-code');
    // Ink draws only the final frame when CI is set: run the UI without it, as a user would.
    const command = `env -u CI ${quote(process.execPath)} ${quote(BIN)} tui ${quote(p.trace)}; echo $? > ${quote(exitFile)}; sleep 60`;
    tmux('new-session', '-d', '-s', 'tui', '-x', '80', '-y', '24', '-c', p.root, command);
    try {
      let text = await showing(/\d+ findings/);
      assert.match(text, /Timeline · \d+ events/);
      assert.match(text, /Lost update on object #\d+ \.balance/);
      // Ink reads keys once its first frame is up; give it a moment before typing.
      await sleep(300);

      text = await press('j', /▶ +1 +#0 fn-enter +withdraw/);
      text = await press('Down', /▶ +2 +#0 await-suspend withdraw/);
      assert.match(text, /3\/\d+/);

      text = await press('Enter', 'Details of event 2');
      assert.match(text, /at src\/bank\.ts:3:3 in withdraw/);
      assert.match(text, /3 │ await audit\(account\);/);
      assert.match(text, /Causal relationships/);
      await press('Escape', 'Timeline ·');

      text = await press('a', 'Findings only');
      assert.match(text, /▶!/);
      assert.match(text, /fix: Make the read-modify-write atomic/);

      text = await press('t', 'Time travel');
      assert.match(text, /as of event \d+: \d+ location/);

      tmux('resize-window', '-t', 'tui', '-x', '120', '-y', '30');
      text = await showing(/^.{81,}$/m);
      // The UI fills the new height: its bottom line is on the pane's last row.
      await showing(/^(?:[^\n]*\n){29}[^\n]*\S/);

      tmux('send-keys', '-t', 'tui', 'q');
      for (let i = 0; i < 100 && !existsSync(exitFile); i++) await sleep(50);
      assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', 'causeway tui exits 0 on q');
      assert.doesNotMatch(screen(), /Findings only|Time travel/, 'the shell screen is back');
    } finally {
      tmux('kill-server');
    }
  });

  it('with --server, waits for a trace, shows it when it arrives and follows its new events live', async () => {
    const store = await TraceStore.open(':memory:');
    const server = createServer({ store, analyzeIntervalMs: 0 });
    const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    using p = project({ events: 10, racyEvery: 0 });
    const exitFile = join(p.root, 'exit-code');
    const post = async (batch: ReturnType<typeof makeBatch>) => {
      const response = await fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': BATCH_CONTENT_TYPE },
        body: encodeBatch(batch),
      });
      assert.equal(response.status, 200);
    };
    const command = `env -u CI ${quote(process.execPath)} ${quote(BIN)} tui --server ${quote(base)}; echo $? > ${quote(exitFile)}; sleep 60`;
    tmux('new-session', '-d', '-s', 'tui', '-x', '80', '-y', '24', '-c', p.root, command);
    try {
      await showing('waiting for one');
      await sleep(300);
      // A trace recorded after the UI started: its first batch, no END yet.
      const traceId = newTraceId();
      await post(makeBatch({ traceId, events: records(LOST_UPDATE.slice(0, 5)) }));
      let text = await showing(`bank:${traceId.slice(0, 8)}`);
      text = await showing('Timeline · 5 events');
      assert.match(text, /● live/);
      text = await press('G', /▶ +4 +#\d+ await-suspend/);
      assert.match(text, /5\/5/);
      // The rest of the recording arrives: the selection on the last event follows it.
      await post(
        makeBatch({ traceId, batch: 2, first: false, events: records(LOST_UPDATE.slice(5), 5), end: true }),
      );
      text = await showing('Timeline · 15 events');
      await showing(/15\/15/);
      // The pages read before the batch are read again: the rows fill in a frame or two later.
      await showing(/▶[ !]*14 +#\d+ write/);
      text = await showing(/Lost update on object #\d+ \.balance/);
      assert.doesNotMatch(text, /● live/, 'an ended trace is no longer live');

      tmux('send-keys', '-t', 'tui', 'q');
      for (let i = 0; i < 100 && !existsSync(exitFile); i++) await sleep(50);
      assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', 'causeway tui --server exits 0 on q');
    } finally {
      tmux('kill-server');
      await server.app.close();
      await store.close();
    }
  });
});
