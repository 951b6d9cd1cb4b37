/** A project folder with a recorded synthetic trace and its source file, as the TUI finds them. */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOURCE_FILE, SOURCE_LINES, type SyntheticOptions, writeSyntheticTrace } from '../bench/synthetic.ts';

export interface Project {
  root: string;
  traces: string;
  trace: string;
  records: number;
  [Symbol.dispose](): void;
}

export function project(
  options: SyntheticOptions = { events: 60, racyEvery: 2 },
  name = 'bank.cwtrace',
): Project {
  const root = mkdtempSync(join(tmpdir(), 'causeway-tui-'));
  const traces = join(root, '.causeway', 'traces');
  mkdirSync(traces, { recursive: true });
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, SOURCE_FILE), `${SOURCE_LINES.join('\n')}\n`);
  const trace = join(traces, name);
  const records = writeSyntheticTrace(trace, options);
  return {
    root,
    traces,
    trace,
    records,
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  };
}
