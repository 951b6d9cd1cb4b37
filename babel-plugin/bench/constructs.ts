// The run-time cost of generators, `for await`, destructuring targets and logical assignments
// instrumented (constructs-workload.ts), against the same code plain, alternating runs in one
// process tree. Prints the figures and one JSON line.
//
//   node babel-plugin/bench/constructs.ts

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REGISTER = fileURLToPath(new URL('../../packages/instrumentation/src/register.ts', import.meta.url));
const ROUNDS = 5;

function runJson(args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; checksum: number } {
  const result = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench: ${args.join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as { ms: number; checksum: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

// Copied out of the repository: register never instruments Causeway's own files.
const dir = mkdtempSync(join(tmpdir(), 'causeway-constructs-bench-'));
const workload = join(dir, 'constructs-workload.ts');
copyFileSync(fileURLToPath(new URL('constructs-workload.ts', import.meta.url)), workload);
const env = { CAUSEWAY_TRACE_FILE: join(dir, 'constructs.cwtrace'), CAUSEWAY_QUIET: '1' };

const plain: number[] = [];
const instrumented: number[] = [];
let checksums = new Set<number>();
for (let round = 0; round < ROUNDS; round++) {
  const a = runJson([workload]);
  const b = runJson(['--import', REGISTER, workload], env);
  plain.push(a.ms);
  instrumented.push(b.ms);
  checksums = new Set([...checksums, a.checksum, b.checksum]);
}
if (checksums.size !== 1) throw new Error(`bench: plain and instrumented runs disagree: ${[...checksums]}`);
const ratio = median(instrumented) / median(plain);
console.log(
  `Generators, for await, destructuring, logical assignments (median of ${ROUNDS} alternating runs)`,
);
console.log(`  plain          ${median(plain).toFixed(1)} ms`);
console.log(`  instrumented   ${median(instrumented).toFixed(1)} ms   ratio ${ratio.toFixed(2)}x`);
console.log(JSON.stringify({ plainMs: median(plain), instrumentedMs: median(instrumented), ratio }));
