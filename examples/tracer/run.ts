// `npm run example:tracer`: runs the tracer program instrumented, then analyzes the trace it wrote.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const traceFile = join(here, '.causeway', 'traces', 'tracer.cwtrace');
// The CLI package's entry is src/main.ts; its executable sits beside it in bin/.
const causeway = join(
  dirname(fileURLToPath(import.meta.resolve('@causeway/cli'))),
  '..',
  'bin',
  'causeway.js',
);

function step(title: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n$ ${title}`);
  const result = spawnSync(process.execPath, args, { cwd: here, env, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

mkdirSync(dirname(traceFile), { recursive: true });
const shown = relative(here, traceFile);
step(
  'node --import @causeway/instrumentation/register src/main.ts',
  ['--import', '@causeway/instrumentation/register', 'src/main.ts'],
  { ...process.env, CAUSEWAY_TRACE_FILE: traceFile },
);
step(`causeway analyze ${shown}`, [causeway, 'analyze', shown]);
