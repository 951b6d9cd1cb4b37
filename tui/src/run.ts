/** Starts the TUI in the terminal and resolves when the user quits. */

import { render } from 'ink';
import { App } from './app.ts';
import { h } from './h.ts';
import type { TraceEntry, TraceSource } from './source.ts';
import type { TraceView } from './trace-view.ts';

export interface RunOptions {
  source: TraceSource;
  entries: readonly TraceEntry[];
  first: TraceView | null;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

export async function runTui({ source, entries, first, stdin, stdout }: RunOptions): Promise<void> {
  const instance = render(h(App, { source, entries, first }), {
    stdin,
    stdout,
    // Ctrl+C goes through the reducer like `q`, so the trace is released on the way out.
    exitOnCtrlC: false,
    // Like less or vim: the UI gets its own screen, and the shell's comes back on quit.
    alternateScreen: true,
    patchConsole: false,
    // A frame per key: Ink's default of 30 frames a second would hold a key back up to 33 ms.
    maxFps: 120,
  });
  await instance.waitUntilExit();
}
