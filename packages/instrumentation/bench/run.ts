// `npm run bench`: the runtime's benchmarks, side by side in one run. Results are printed as a
// table and as JSON; docs/benchmarks.md records them with this command.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTraceFile } from '@causeway/core/trace-file';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const ROUNDS = 7;

function runJson(args: string[], env: NodeJS.ProcessEnv = {}): Record<string, number> {
  const result = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench: ${args.join(' ')} failed:\n${result.stderr}`);
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Record<string, number>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

const hot = runJson([here('probe-hot-path.ts')]);
console.log('Probe hot path (ns per event, median of', hot.runs, 'runs of', hot.events, 'events)');
console.log(`  bare 32-byte record write into a SharedArrayBuffer  ${hot.bareWriteNs?.toFixed(2)} ns`);
console.log(`  enter probe (record + task check)                  ${hot.enterNs?.toFixed(2)} ns`);
console.log(
  `  suspend + resume, per event                        ${hot.suspendResumePerEventNs?.toFixed(2)} ns`,
);
console.log(`  read probe, static key (o.p)                       ${hot.readNs?.toFixed(2)} ns`);
console.log(`  update probe, static key (o.p -= v)                ${hot.writeNs?.toFixed(2)} ns`);
console.log(`  read probe, computed string key (o[k])             ${hot.readKeyNs?.toFixed(2)} ns`);
console.log('  in a task of an unsampled trace (each returns after one check):');
console.log(`    enter probe                                      ${hot.enterUnsampledNs?.toFixed(2)} ns`);
console.log(`    read probe, static key                           ${hot.readUnsampledNs?.toFixed(2)} ns`);
console.log(
  `    suspend + resume, per event (the resume asks the sampler) ${hot.suspendResumeUnsampledPerEventNs?.toFixed(2)} ns`,
);

const sched = runJson([here('scheduling.ts')]);
console.log(
  `\nScheduling wrappers (ns per callback scheduled and run, median of ${sched.rounds} alternating rounds of ${sched.callbacks})`,
);
for (const name of ['setTimeout', 'nextTick', 'promiseThen']) {
  const plainNs = sched[`${name}PlainNs`] as number;
  const wrappedNs = sched[`${name}WrappedNs`] as number;
  console.log(
    `  ${name.padEnd(10)} plain ${plainNs.toFixed(0).padStart(5)} ns   wrapped ${wrappedNs.toFixed(0).padStart(5)} ns   ratio ${(wrappedNs / plainNs).toFixed(2)}x`,
  );
}

const streams = runJson([here('streams.ts')]);
console.log(
  `\nStream wrappers (ns per emit of 'data' with one listener, median of ${streams.rounds} alternating rounds of ${streams.emits})`,
);
for (const name of ['notNoted', 'notedInTask', 'notedFromLoop']) {
  const plainNs = streams[`${name}PlainNs`] as number;
  const wrappedNs = streams[`${name}WrappedNs`] as number;
  console.log(
    `  ${name.padEnd(13)} plain ${plainNs.toFixed(0).padStart(5)} ns   wrapped ${wrappedNs.toFixed(0).padStart(5)} ns   ratio ${(wrappedNs / plainNs).toFixed(2)}x`,
  );
}

// The workload is copied out of this package: register never instruments Causeway's own files.
// Plain and instrumented runs alternate, so that machine noise hits both alike.
const traceDir = mkdtempSync(join(tmpdir(), 'causeway-bench-'));
const workload = join(traceDir, 'promise-workload.ts');
copyFileSync(here('promise-workload.ts'), workload);
copyFileSync(here('orders.ts'), join(traceDir, 'orders.ts'));
let records = 0;
let dropped = 0;
const plain: number[] = [];
const instrumented: number[] = [];
/** Instrumented with the scheduling wrappers off (CAUSEWAY_SCHEDULING=0): what they cost. */
const unscheduled: number[] = [];
/**
 * Instrumented at 1 % sampling. The workload runs in the process's own trace, which is sampled by
 * the recording's (random) trace id: about one run in a hundred records everything, the others
 * nothing, so the median is the cost of an unsampled trace.
 */
const sampled: number[] = [];
let sampledRecords = 0;
for (let round = 0; round < ROUNDS; round++) {
  plain.push(runJson([workload]).ms as number);
  const traceFile = join(traceDir, `round-${round}.cwtrace`);
  instrumented.push(
    runJson(['--import', REGISTER, workload], {
      CAUSEWAY_TRACE_FILE: traceFile,
      CAUSEWAY_QUIET: '1',
      CAUSEWAY_RING_RECORDS: String(1 << 22),
    }).ms as number,
  );
  unscheduled.push(
    runJson(['--import', REGISTER, workload], {
      CAUSEWAY_TRACE_FILE: join(traceDir, `unscheduled-${round}.cwtrace`),
      CAUSEWAY_QUIET: '1',
      CAUSEWAY_RING_RECORDS: String(1 << 22),
      CAUSEWAY_SCHEDULING: '0',
    }).ms as number,
  );
  const sampledFile = join(traceDir, `sampled-${round}.cwtrace`);
  sampled.push(
    runJson(['--import', REGISTER, workload], {
      CAUSEWAY_TRACE_FILE: sampledFile,
      CAUSEWAY_QUIET: '1',
      CAUSEWAY_RING_RECORDS: String(1 << 22),
      CAUSEWAY_SAMPLING_RATE: '0.01',
    }).ms as number,
  );
  sampledRecords = readTraceFile(sampledFile).end?.records ?? 0;
  const end = readTraceFile(traceFile).end;
  records = end?.records ?? 0;
  dropped = end?.dropped ?? 0;
}
const ratio = median(instrumented) / median(plain);
console.log(`\nPromise-heavy workload (100,000 handled calls, median of ${ROUNDS} alternating runs)`);
console.log(`  plain          ${median(plain).toFixed(1)} ms`);
console.log(`  instrumented   ${median(instrumented).toFixed(1)} ms   ratio ${ratio.toFixed(2)}x`);
console.log(
  `  without scheduling wrappers ${median(unscheduled).toFixed(1)} ms   ratio ${(median(unscheduled) / median(plain)).toFixed(2)}x`,
);
console.log(
  `  1 % sampling   ${median(sampled).toFixed(1)} ms   ratio ${(median(sampled) / median(plain)).toFixed(2)}x (last run recorded ${sampledRecords} records)`,
);
console.log(`  one instrumented run recorded ${records} records, dropped ${dropped}`);

// An HTTP server under load from a second process: plain, Causeway full capture, 1 % sampling,
// OpenTelemetry (bench/http-throughput.ts).
const http = runJson([here('http-throughput.ts')]);
console.log(
  `\nHTTP server under load (${http.connections} keep-alive connections from a second process, ${http.durationMs} ms per run, median of ${http.rounds} rounds)`,
);
const cpuLine = (us: number | undefined, ratio: number | undefined) =>
  `   server CPU ${us?.toFixed(1).padStart(6)} µs/request (${ratio?.toFixed(2)}x plain)`;
const rpsLine = (label: string, rps: number | undefined, ratio: number | undefined, cpu: string) =>
  console.log(
    `  ${label.padEnd(28)} ${rps?.toFixed(0).padStart(6)} req/s   throughput ${ratio?.toFixed(2)}x plain${cpu}`,
  );
rpsLine('plain', http.plainRps, 1, cpuLine(http.plainCpuUs, 1));
rpsLine(
  'Causeway, full capture',
  http.causewayRps,
  http.causewayThroughput,
  cpuLine(http.causewayCpuUs, http.causewayCpuRatio),
);
rpsLine(
  'Causeway, 1 % sampling',
  http.sampledRps,
  http.sampledThroughput,
  cpuLine(http.sampledCpuUs, http.sampledCpuRatio),
);
rpsLine(
  'OpenTelemetry Node SDK',
  http.otelRps,
  http.otelThroughput,
  cpuLine(http.otelCpuUs, http.otelCpuRatio),
);
console.log(
  `  last runs: Causeway ${http.causewayRecords} records (${http.causewayDropped} dropped); 1 %: ${http.sampledRecords} records; OTel ${http.otelSpans} spans`,
);

// Memory: the ring's bytes per record, and the resident memory of a process that recorded about
// 1 M events, against the same work plain and a recording of 1,000 calls (Babel and the runtime
// loaded, few events).
const memoryWorkload = join(traceDir, 'memory-workload.ts');
copyFileSync(here('memory-workload.ts'), memoryWorkload);
const memoryRun = (calls: number, recorded: boolean): Record<string, number> =>
  runJson(
    [...(recorded ? ['--import', REGISTER] : []), '--expose-gc', memoryWorkload, String(calls)],
    recorded ? { CAUSEWAY_TRACE_FILE: join(traceDir, 'memory.cwtrace'), CAUSEWAY_QUIET: '1' } : {},
  );
const MEMORY_CALLS = 50_000;
const memory = {
  plain: memoryRun(MEMORY_CALLS, false),
  recorded: memoryRun(MEMORY_CALLS, true),
  recordedFew: memoryRun(1000, true),
  plainFew: memoryRun(1000, false),
};
const mib = (bytes: number | undefined) => `${((bytes ?? 0) / 2 ** 20).toFixed(1)} MiB`;
const eventGrowth =
  (memory.recorded.rssBytes as number) -
  (memory.recordedFew.rssBytes as number) -
  ((memory.plain.rssBytes as number) - (memory.plainFew.rssBytes as number));
const perRecord =
  eventGrowth / ((memory.recorded.records as number) - (memory.recordedFew.records as number));
console.log('\nMemory');
console.log(
  `  ring: ${(memory.recorded.ringBytes as number) / (memory.recorded.ringRecords as number)} bytes per record (${memory.recorded.ringRecords} records, ${mib(memory.recorded.ringBytes)})`,
);
console.log(
  `  resident, ${memory.recorded.records} records written: ${mib(memory.recorded.rssBytes)} (same work plain: ${mib(memory.plain.rssBytes)}; recording ${memory.recordedFew.records} records: ${mib(memory.recordedFew.rssBytes)})`,
);
console.log(
  `  growth with the events, beyond the work's own: ${mib(eventGrowth)} (${perRecord.toFixed(1)} bytes per record)`,
);

// A CPU-bound workload (no awaits): plain, instrumented with every access, and writes only.
const cpuWorkload = join(traceDir, 'cpu-workload.ts');
copyFileSync(here('cpu-workload.ts'), cpuWorkload);
const cpu = { plain: [] as number[], all: [] as number[], writes: [] as number[] };
const CPU_ROUNDS = 5;
for (let round = 0; round < CPU_ROUNDS; round++) {
  cpu.plain.push(runJson([cpuWorkload]).ms as number);
  for (const accesses of ['all', 'writes'] as const) {
    const env = {
      CAUSEWAY_TRACE_FILE: join(traceDir, 'cpu.cwtrace'),
      CAUSEWAY_QUIET: '1',
      CAUSEWAY_ACCESSES: accesses,
    };
    cpu[accesses].push(runJson(['--import', REGISTER, cpuWorkload], env).ms as number);
  }
}
const cpuRatio = median(cpu.all) / median(cpu.plain);
const cpuWritesRatio = median(cpu.writes) / median(cpu.plain);
console.log(`\nCPU-bound workload (parse, Map cache, sort; median of ${CPU_ROUNDS} alternating runs)`);
console.log(`  plain                       ${median(cpu.plain).toFixed(1)} ms`);
console.log(`  instrumented, all accesses  ${median(cpu.all).toFixed(1)} ms   ratio ${cpuRatio.toFixed(2)}x`);
console.log(
  `  instrumented, writes only   ${median(cpu.writes).toFixed(1)} ms   ratio ${cpuWritesRatio.toFixed(2)}x`,
);

const transform = runJson([
  fileURLToPath(new URL('../../../babel-plugin/bench/transform-speed.ts', import.meta.url)),
]);
console.log(
  `\nTransform speed (${transform.files} files, ${transform.lines} lines of this repository, median of ${transform.rounds})`,
);
console.log(
  `  instrument (plugin + type stripping)  ${transform.instrumentMsPer1000Lines?.toFixed(1)} ms per 1,000 lines`,
);
console.log(
  `  type stripping only (same Babel run)  ${transform.stripOnlyMsPer1000Lines?.toFixed(1)} ms per 1,000 lines   ratio ${transform.ratio?.toFixed(2)}x`,
);

console.log(
  `\n${JSON.stringify({
    hotPath: hot,
    scheduling: sched,
    streams,
    workload: {
      plainMs: median(plain),
      instrumentedMs: median(instrumented),
      unscheduledMs: median(unscheduled),
      sampledMs: median(sampled),
      sampledRatio: median(sampled) / median(plain),
      sampledRecords,
      ratio,
      records,
      dropped,
    },
    cpuWorkload: {
      plainMs: median(cpu.plain),
      allMs: median(cpu.all),
      ratio: cpuRatio,
      writesMs: median(cpu.writes),
      writesRatio: cpuWritesRatio,
    },
    transform,
    http,
    memory: { ...memory, eventGrowthBytes: eventGrowth, eventGrowthBytesPerRecord: perRecord },
  })}`,
);
