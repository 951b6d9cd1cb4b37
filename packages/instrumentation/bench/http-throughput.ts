// `node packages/instrumentation/bench/http-throughput.ts` (also part of `npm run bench`): an HTTP
// server under load from a second process on 127.0.0.1, side by side in one run, four ways:
// plain, Causeway full capture (register, every trace), Causeway at 1 % sampling
// (CAUSEWAY_SAMPLING_RATE=0.01), and the OpenTelemetry Node SDK with its http instrumentation
// (spans exported to nothing). Each round runs every variant once, in a rotating order; each figure
// is the median over rounds of the requests per second. On a shared machine the load generator
// and other processes compete with the server for the CPU, so the server's own CPU time per
// request (user + system, from /proc, over the load generator's run) is measured too: the cost
// of each variant with less noise. Prints one JSON line.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTraceFile } from '@causeway/core/trace-file';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const REGISTER = here('../src/register.ts');
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5);
const CONNECTIONS = 8;
const WARMUP_MS = 1500;
const DURATION_MS = 3000;

// The server lives outside Causeway's packages, so that register instruments it as user code.
const dir = mkdtempSync(join(tmpdir(), 'causeway-bench-throughput-'));
const app = join(dir, 'http-app.ts');
copyFileSync(here('http-app.ts'), app);

interface Variant {
  name: 'plain' | 'causeway' | 'sampled' | 'otel';
  args: string[];
  env: NodeJS.ProcessEnv;
}

function variants(round: number): Variant[] {
  const causewayEnv = (rate: string): NodeJS.ProcessEnv => ({
    CAUSEWAY_TRACE_FILE: join(dir, `${rate}-${round}.cwtrace`),
    CAUSEWAY_QUIET: '1',
    CAUSEWAY_SAMPLING_RATE: rate,
  });
  return [
    { name: 'plain', args: [app], env: {} },
    { name: 'causeway', args: ['--import', REGISTER, app], env: causewayEnv('1') },
    { name: 'sampled', args: ['--import', REGISTER, app], env: causewayEnv('0.01') },
    {
      name: 'otel',
      args: ['--import', here('otel-setup.ts'), app],
      env: { OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    },
  ];
}

function started(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`bench: the server exited (${code}) before listening`)));
  });
}

/** CPU time a process has used so far, in µs (Linux's /proc; NaN elsewhere). */
function cpuMicros(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / CLOCK_TICKS) * 1e6;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ: Linux reports process times in 1/100 s whatever the kernel's tick. */
const CLOCK_TICKS = 100;

interface Outcome {
  rps: number;
  /** The server's CPU time per request answered, in µs. */
  cpuPerRequestUs: number;
  errors: number;
  /** Causeway: records written and dropped; OTel: spans exported. */
  records?: number;
  dropped?: number;
  spans?: number;
}

async function measure(variant: Variant): Promise<Outcome> {
  const server = spawn(process.execPath, variant.args, {
    env: { ...process.env, ...variant.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const port = await started(server);
  const cpuBefore = cpuMicros(server.pid);
  const load = spawnSync(
    process.execPath,
    [here('http-load.ts'), String(port), String(CONNECTIONS), String(WARMUP_MS), String(DURATION_MS)],
    { encoding: 'utf8' },
  );
  if (load.status !== 0) throw new Error(`bench: the load generator failed:\n${load.stderr}`);
  const cpuAfter = cpuMicros(server.pid);
  const { rps, total, errors } = JSON.parse(load.stdout.trim()) as {
    rps: number;
    total: number;
    errors: number;
  };
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
  const outcome: Outcome = { rps, errors, cpuPerRequestUs: (cpuAfter - cpuBefore) / total };
  const traceFile = variant.env.CAUSEWAY_TRACE_FILE;
  if (traceFile !== undefined) {
    const end = readTraceFile(traceFile).end;
    outcome.records = end?.records ?? 0;
    outcome.dropped = end?.dropped ?? 0;
  }
  const spans = /"otelSpansExported":(\d+)/.exec(stderr);
  if (variant.name === 'otel') {
    if (spans === null) throw new Error(`bench: the OpenTelemetry server reported no spans:\n${stderr}`);
    outcome.spans = Number(spans[1]);
  }
  return outcome;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

const results = new Map<Variant['name'], Outcome[]>();
for (let round = 0; round < ROUNDS; round++) {
  const all = variants(round);
  // Rotate the order so that no variant always runs first (or right after another).
  const order = all.map((_, i) => all[(i + round) % all.length] as Variant);
  for (const variant of order) {
    const outcome = await measure(variant);
    results.set(variant.name, [...(results.get(variant.name) ?? []), outcome]);
  }
}

const rps = (name: Variant['name']) => median((results.get(name) ?? []).map((o) => o.rps));
const cpu = (name: Variant['name']) => median((results.get(name) ?? []).map((o) => o.cpuPerRequestUs));
const last = (name: Variant['name']) => (results.get(name) ?? []).at(-1);
const summary = {
  rounds: ROUNDS,
  connections: CONNECTIONS,
  durationMs: DURATION_MS,
  plainRps: rps('plain'),
  causewayRps: rps('causeway'),
  sampledRps: rps('sampled'),
  otelRps: rps('otel'),
  causewayThroughput: rps('causeway') / rps('plain'),
  sampledThroughput: rps('sampled') / rps('plain'),
  otelThroughput: rps('otel') / rps('plain'),
  plainCpuUs: cpu('plain'),
  causewayCpuUs: cpu('causeway'),
  sampledCpuUs: cpu('sampled'),
  otelCpuUs: cpu('otel'),
  causewayCpuRatio: cpu('causeway') / cpu('plain'),
  sampledCpuRatio: cpu('sampled') / cpu('plain'),
  otelCpuRatio: cpu('otel') / cpu('plain'),
  errors: [...results.values()].flat().reduce((sum, o) => sum + o.errors, 0),
  causewayRecords: last('causeway')?.records,
  causewayDropped: last('causeway')?.dropped,
  sampledRecords: last('sampled')?.records,
  otelSpans: last('otel')?.spans,
};
console.log(JSON.stringify(summary));
