// First paint from the shell: `causeway tui <file>` started in a tmux terminal and timed to the
// timeline on its screen. Used by run.ts (npm run bench:tui) and first-paint.ts.

import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/causeway.js', import.meta.url));
let starts = 0;

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

/**
 * Milliseconds from starting `causeway tui <path>` in a 120x40 tmux terminal to the timeline on
 * its screen; NaN (with the screen on stderr) if it is not there after 30 s. `env` is prepended
 * to the command (`NAME=value` words).
 */
export async function firstPaintInTmux(path: string, env: readonly string[] = []): Promise<number> {
  // A socket per start: a new session on a server still shutting down can fail.
  const socket = `causeway-first-paint-${process.pid}-${++starts}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const started = performance.now();
  tmux(
    'new-session',
    '-d',
    '-s',
    'bench',
    '-x',
    '120',
    '-y',
    '40',
    `env -u CI ${env.join(' ')} '${process.execPath}' '${BIN}' tui '${path}'`,
  );
  try {
    while (performance.now() - started < 30_000) {
      if (tmux('capture-pane', '-p', '-t', 'bench').stdout.includes('Timeline ·'))
        return performance.now() - started;
      await sleep(10);
    }
    console.error(
      `no timeline after 30 s; the screen:\n${tmux('capture-pane', '-p', '-t', 'bench').stdout}${tmux('list-sessions').stderr}`,
    );
    return Number.NaN;
  } finally {
    tmux('kill-server');
  }
}
