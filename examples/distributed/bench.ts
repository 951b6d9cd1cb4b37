// `node examples/distributed/bench.ts`: what recording costs a request that crosses three
// services. The example's gateway -> orders -> payments stack runs three ways side by side:
// without Causeway (CAUSEWAY_ENABLED=0), recorded with propagation off (CAUSEWAY_PROPAGATE=0: no
// headers, no joins), and recorded with propagation on (request and response headers). A
// keep-alive client sends sequential fast checkouts to each gateway in alternating rounds whose
// order rotates; each figure is the median over rounds of the mean time per checkout. The
// services' simulated work is set to 0 ms (WORK_MS), so two 0 ms timers (about 1 ms each) remain.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CHECKOUTS = Number(process.env.CHECKOUTS ?? 200);
const traceDir = mkdtempSync(join(tmpdir(), 'causeway-bench-distributed-'));

const MODES = {
  'no Causeway': { CAUSEWAY_ENABLED: '0' },
  'recorded, propagation off': { CAUSEWAY_PROPAGATE: '0' },
  'recorded, propagation on': {},
} as const;
type Mode = keyof typeof MODES;

async function start(
  name: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', '@causeway/instrumentation/register', `src/${name}.ts`],
    {
      cwd: here,
      // WORK_MS=0: the services' simulated work (timers) would hide what recording costs.
      env: { ...process.env, CAUSEWAY_TRACE_DIR: traceDir, CAUSEWAY_QUIET: '1', WORK_MS: '0', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let said = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      said += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(said);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error(`bench: ${name} exited before listening`)));
  });
  return { child, url };
}

async function stack(env: Record<string, string>): Promise<{ children: ChildProcess[]; gateway: string }> {
  const payments = await start('payments', env);
  const orders = await start('orders', { ...env, PAYMENTS_URL: payments.url });
  const gateway = await start('gateway', { ...env, ORDERS_URL: orders.url });
  return { children: [gateway.child, orders.child, payments.child], gateway: gateway.url };
}

function checkout(agent: Agent, url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`bench: checkout answered ${res.statusCode}`));
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Mean µs per checkout over `count` sequential checkouts. */
async function measure(gateway: string, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(`${gateway}/checkout?amount=20`);
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await checkout(agent, url);
    return ((performance.now() - t0) * 1000) / count;
  } finally {
    agent.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

const modes = Object.keys(MODES) as Mode[];
const stacks = {} as Record<Mode, Awaited<ReturnType<typeof stack>>>;
for (const mode of modes) stacks[mode] = await stack(MODES[mode]);
const times = Object.fromEntries(modes.map((mode) => [mode, [] as number[]])) as Record<Mode, number[]>;
try {
  for (const mode of modes) await measure(stacks[mode].gateway, 50); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(round + i) % modes.length] as Mode;
      times[mode].push(await measure(stacks[mode].gateway, CHECKOUTS));
    }
  }
} finally {
  for (const mode of modes) {
    for (const child of stacks[mode].children) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
  }
}
const base = median(times['no Causeway']);
console.log(
  `gateway -> orders -> payments, fast checkout: µs per checkout (median of ${ROUNDS} rounds of ${CHECKOUTS})`,
);
for (const mode of modes) {
  const value = median(times[mode]);
  console.log(`  ${mode.padEnd(27)} ${value.toFixed(1).padStart(8)} µs  ${(value / base).toFixed(2)}x`);
}
