// First paint from the shell, side by side: `causeway tui <file>` started in a tmux terminal and
// timed to the timeline on its screen, alternating runs with Ink loaded as it is
// (CAUSEWAY_TUI_PLAIN_IMPORTS=1) and through the quick-imports hook (tui/src/quick-imports.ts).
// Usage: node tui/bench/first-paint.ts [runs per variant, default 8]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticTrace } from './synthetic.ts';
import { firstPaintInTmux, hasTmux } from './terminal.ts';

const runs = Number(process.argv[2] ?? 8);

const firstPaint = (path: string, plain: boolean): Promise<number> =>
  firstPaintInTmux(path, [`CAUSEWAY_TUI_PLAIN_IMPORTS=${plain ? 1 : 0}`]);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

if (!hasTmux()) {
  console.error('first-paint: needs tmux (apt-get install -y tmux)');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'causeway-first-paint-'));
try {
  const path = join(dir, 'bench.cwtrace');
  writeSyntheticTrace(path, { events: 1000, racyEvery: 50 });
  // One start of each fills Node's code cache, as a user's second start finds it.
  await firstPaint(path, true);
  await firstPaint(path, false);
  const plain: number[] = [];
  const quick: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await firstPaint(path, true));
    quick.push(await firstPaint(path, false));
  }
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  console.log(`first paint from the shell, median of ${runs} (min–max):`);
  console.log(
    `  Ink as it is:        ${ms(median(plain))} (${ms(Math.min(...plain))}–${ms(Math.max(...plain))})`,
  );
  console.log(
    `  quick imports:       ${ms(median(quick))} (${ms(Math.min(...quick))}–${ms(Math.max(...quick))})`,
  );
  console.log(`  runs: plain ${plain.map(ms).join(' ')}; quick ${quick.map(ms).join(' ')}`);
  console.log(`  ratio quick / plain: ${(median(quick) / median(plain)).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
