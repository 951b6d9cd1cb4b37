/**
 * `npm run bench:tui`: how fast `causeway tui` paints a large trace and answers a key.
 *
 * Writes synthetic traces (bench/synthetic.ts) of 1,000 and 1,000,000 events and, for each, in
 * this one process: opens the file and renders the App into an in-memory 120x40 terminal until
 * the first frame with the timeline (first paint), waits for the causal analysis to finish, then
 * sends keys one at a time and times each key from stdin to the frame written for it. The two
 * sizes run side by side, so their ratio shows what the trace's size costs.
 * Goals (issue 7): first paint < 1 s, key to frame < 16 ms, on 1 M events.
 */

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSyntheticTrace } from './synthetic.ts';
import { firstPaintInTmux, hasTmux } from './terminal.ts';

// As `causeway tui` runs it: React's production build (set before React is first imported).
process.env.NODE_ENV ??= 'production';
const { render } = await import('ink');
const { App } = await import('../src/app.ts');
const { h } = await import('../src/h.ts');
const { FileTraceSource } = await import('../src/source.ts');

/** A terminal in memory: Ink writes frames to it; each write is timed. */
class Terminal extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 120;
  readonly rows = 40;
  #waiters: { test: (chunk: string) => boolean; resolve: (at: number) => void }[] = [];

  write = (chunk: string | Uint8Array): boolean => {
    const at = performance.now();
    const text = String(chunk);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test(text)) return true;
      waiter.resolve(at);
      return false;
    });
    return true;
  };

  /** Resolves with the time of the first write from now on that passes `test`. */
  next(test: (chunk: string) => boolean): Promise<number> {
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }
}

/** Ink wraps each frame in synchronized-output marks; this one closes a frame. */
const FRAME_END = '\u001b[?2026l';

function keyboard(): PassThrough & { isTTY: boolean; setRawMode: () => void } {
  return Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
}

interface ShellPaint {
  terminalPaintMs: number | null;
}

interface Figures {
  events: number;
  firstPaintMs: number;
  analysedMs: number;
  keys: Record<string, number[]>;
  /** Ink's own measure of each frame after a key: React render, layout and output. */
  renders: number[];
}

const KEYS: [string, string, number][] = [
  ['j (next event)', 'j', 60],
  ['k (previous event)', 'k', 30],
  ['PgDn (a page)', '\u001b[6~', 30],
  ['G / g (bottom, top)', 'Gg', 20],
  ['t then j (time travel)', 't', 1],
  ['j in time travel', 'j', 30],
  ['a then j (findings only)', 'a', 1],
  ['j k in findings only', 'jk', 15],
  ['Enter (details)', '\r', 10],
];

async function measure(path: string, events: number): Promise<Figures> {
  const stdout = new Terminal();
  const stdin = keyboard();
  const started = performance.now();
  const source = new FileTraceSource({ file: path });
  const entries = await source.list();
  const first = await source.open(entries[0] as (typeof entries)[number]);
  const painted = stdout.next((frame) => frame.includes('Timeline ·'));
  const analysed = stdout.next((frame) => /\d+ findings?/.test(frame));
  const renders: number[] = [];
  const app = render(h(App, { source, entries, first }), {
    onRender: ({ renderTime }) => renders.push(renderTime),
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    interactive: true,
    patchConsole: false,
    exitOnCtrlC: false,
    maxFps: 120,
  });
  const firstPaintMs = (await painted) - started;
  const analysedMs = (await analysed) - started;
  await sleep(100);
  renders.length = 0;
  const keys: Record<string, number[]> = {};
  for (const [name, key, times] of KEYS) {
    const samples: number[] = [];
    for (let i = 0; i < times; i++) {
      for (const char of key.startsWith('\u001b') ? [key] : [...key]) {
        const frame = stdout.next((chunk) => chunk.includes(FRAME_END));
        const sent = performance.now();
        stdin.write(char);
        const drawn = await Promise.race([frame, sleep(2000).then(() => Number.NaN)]);
        if (Number.isNaN(drawn))
          throw new Error(`no frame within 2 s of key ${JSON.stringify(char)} (${name})`);
        samples.push(drawn - sent);
        // Ink draws at most maxFps frames a second: space the keys so each gets its own frame.
        await sleep(12);
      }
    }
    keys[name] = samples;
  }
  app.unmount();
  app.cleanup();
  return { events, firstPaintMs, analysedMs, keys, renders };
}

/**
 * First paint as a user sees it: from starting `causeway tui <file>` in a tmux terminal to the
 * timeline on its screen (node's start and the imports included, with Node's code cache filled by
 * an earlier start), polled every 10 ms. null when tmux is not installed.
 */
async function firstPaintInTerminal(path: string): Promise<number | null> {
  return hasTmux() ? firstPaintInTmux(path) : null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] as number;
}

const dir = mkdtempSync(join(tmpdir(), 'causeway-tui-bench-'));
try {
  const sizes = [1_000, 1_000_000];
  const results: (Figures & ShellPaint)[] = [];
  for (const size of sizes) {
    const path = join(dir, `${size}.cwtrace`);
    const events = writeSyntheticTrace(path, { events: size, racyEvery: 50 });
    // The first start fills Node's code cache (causeway tui enables it); time starts after it.
    if (size === sizes[0]) await firstPaintInTerminal(path);
    results.push({ ...(await measure(path, events)), terminalPaintMs: await firstPaintInTerminal(path) });
  }
  const [small, large] = results as [Figures & ShellPaint, Figures & ShellPaint];
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(
    `Node ${process.versions.node}; synthetic traces of ${small.events} and ${large.events} events\n`,
  );
  console.log('| Measure | 1 k events | 1 M events | ratio | goal (1 M) |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(
    `| first paint (open the file, first frame with the timeline) | ${ms(small.firstPaintMs)} | ${ms(large.firstPaintMs)} | ${(large.firstPaintMs / small.firstPaintMs).toFixed(1)}x | < 1 s |`,
  );
  if (small.terminalPaintMs !== null && large.terminalPaintMs !== null) {
    console.log(
      `| first paint from the shell (\`causeway tui <file>\` in tmux: start, imports, open, frame) | ${ms(small.terminalPaintMs)} | ${ms(large.terminalPaintMs)} | ${(large.terminalPaintMs / small.terminalPaintMs).toFixed(1)}x | < 1 s |`,
    );
  }
  console.log(
    `| causal analysis done (tasks, causes, findings shown) | ${ms(small.analysedMs)} | ${ms(large.analysedMs)} | ${(large.analysedMs / small.analysedMs).toFixed(1)}x | |`,
  );
  for (const name of Object.keys(large.keys)) {
    const a = small.keys[name] as number[];
    const b = large.keys[name] as number[];
    console.log(
      `| key to frame, ${name}: median / p95 | ${ms(median(a))} / ${ms(p95(a))} | ${ms(median(b))} / ${ms(p95(b))} | ${(median(b) / median(a)).toFixed(2)}x | < 16 ms |`,
    );
  }
  console.log(
    `| Ink render time per frame after a key (onRender): median / p95 | ${ms(median(small.renders))} / ${ms(p95(small.renders))} | ${ms(median(large.renders))} / ${ms(p95(large.renders))} | ${(median(large.renders) / median(small.renders)).toFixed(2)}x | |`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// Ink keeps stdin listeners; nothing else is pending once the tables are out.
process.exit(0);
