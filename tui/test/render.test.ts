import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { render } from 'ink-testing-library';
import { writeSyntheticTrace } from '../bench/synthetic.ts';
import { App } from '../src/app.ts';
import { h } from '../src/h.ts';
import { layout } from '../src/layout.ts';
import { FileTraceSource, openTraceFile } from '../src/source.ts';
import { initialState } from '../src/state.ts';
import type { TraceView } from '../src/trace-view.ts';
import { Screen } from '../src/views/screen.ts';
import { project } from './fixture.ts';

/** Polls the last frame until `expected` shows up in it. */
async function frameWith(frame: () => string | undefined, expected: string | RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = frame() ?? '';
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return text;
    await sleep(10);
  }
  assert.fail(`no frame showed ${expected}; the last was:\n${frame()}`);
}

describe('the TUI, rendered', () => {
  it('shows the panes of a trace and answers the keys', async () => {
    using p = project({ events: 60, racyEvery: 2 }, 'first.cwtrace');
    copyFileSync(p.trace, join(p.traces, 'second.cwtrace'));
    const source = new FileTraceSource({ directory: p.traces });
    const entries = await source.list();
    const released: TraceView[] = [];
    const first = await source.open(entries[0] as (typeof entries)[number]);
    const app = render(h(App, { source, entries, first, release: (m: TraceView) => released.push(m) }));
    try {
      let frame = await frameWith(app.lastFrame, /\d+ findings?/);
      assert.match(frame, /trace 1\/2/);
      assert.match(frame, /Timeline · \d+ events/);
      assert.match(frame, /Causes/);
      assert.match(frame, /Details \(Enter\)/);
      assert.match(frame, /Findings \(\d+\)/);
      assert.match(frame, /Lost update on object #\d+ \.balance · 2 times · high severity/);
      assert.match(frame, /▶ +0 +#0 task-begin/);

      app.stdin.write('jj');
      frame = await frameWith(app.lastFrame, '3/');
      assert.match(frame, /▶ +2 +#0 await-suspend withdraw/);
      assert.match(frame, /at src\/bank\.ts:3:3 in withdraw/);

      app.stdin.write('\r');
      frame = await frameWith(app.lastFrame, 'Details of event 2');
      assert.match(frame, /3 │ await audit\(account\);/);
      assert.match(frame, /Causal relationships/);
      app.stdin.write('\u001b');
      await frameWith(app.lastFrame, 'Timeline ·');

      app.stdin.write('a');
      frame = await frameWith(app.lastFrame, 'Findings only');
      assert.match(frame, /fix: Make the read-modify-write atomic/);
      assert.match(frame, /▶!/);

      app.stdin.write('t');
      frame = await frameWith(app.lastFrame, 'Time travel');
      assert.match(frame, /as of event \d+: \d+ locations? written/);

      // A search runs over the rows shown: no findings event has that value.
      app.stdin.write('/"open"\r');
      await frameWith(app.lastFrame, `no event matches '"open"'`);
      app.stdin.write('a');
      await frameWith(app.lastFrame, 'Timeline ·');
      app.stdin.write('n');
      frame = await frameWith(app.lastFrame, /▶ *\d+ +#\d+ write +obj#\d+\.status ← "open"/);

      app.stdin.write('?');
      frame = await frameWith(app.lastFrame, 'Help');
      assert.match(frame, /time travel: the tracked objects as of the event/);
      app.stdin.write(' ');

      app.stdin.write('l');
      frame = await frameWith(app.lastFrame, /trace 2\/2.*\d+ findings?/);
      assert.equal(released.length, 1, 'the first trace is released when the second is shown');

      // `r` re-reads the list and the trace from disk: the rewritten file is now the newest, and
      // the selection follows it to the top of the list.
      const before = frame.match(/(\d+) events/)?.[1];
      writeSyntheticTrace(join(p.traces, 'first.cwtrace'), { events: 200, racyEvery: 2 });
      app.stdin.write('r');
      frame = await frameWith(app.lastFrame, /trace 1\/2 +first\.cwtrace +2\d\d events · \d+ tasks/);
      assert.notEqual(frame.match(/(\d+) events/)?.[1], before);
      assert.equal(released.length, 2);

      app.stdin.write('q');
      await frameWith(() => String(released.length), '3');
    } finally {
      app.unmount();
    }
  });

  it('fits 80x24 and a larger screen, every line within the width', async () => {
    using p = project({ events: 200, racyEvery: 3 });
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      for (const [columns, rows] of [
        [80, 24],
        [132, 40],
      ] as const) {
        const app = render(
          h(Screen, {
            layout: layout(columns, rows, false),
            entries: [{ id: p.trace, name: 'bank.cwtrace', detail: '' }],
            state: { ...initialState, cursor: 150, top: 140 },
            model,
            problem: null,
          }),
        );
        const lines = (app.lastFrame() ?? '').split('\n');
        app.unmount();
        assert.equal(lines.length, rows, `${columns}x${rows}: one frame line per screen row`);
        for (const line of lines) assert.ok(line.length <= columns, `${columns}x${rows}: too wide: ${line}`);
        assert.ok(
          lines.some((line) => line.startsWith('▶ 150')),
          `${columns}x${rows}: the selected row shows`,
        );
        assert.match(lines.at(-1) ?? '', /q quit/);
      }
    } finally {
      model.dispose();
    }
  });
});
