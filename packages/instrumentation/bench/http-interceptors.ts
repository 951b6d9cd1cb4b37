// `node packages/instrumentation/bench/http-interceptors.ts`: the latency the interceptors add to
// an HTTP request, measured side by side in one run. The same small server (node:http, then
// Express) runs three ways, in alternating rounds: without Causeway (CAUSEWAY_ENABLED=0), under
// register with CAUSEWAY_INTERCEPTORS=off, and with all interceptors on. A keep-alive client
// sends sequential requests; each figure is the median over rounds of the mean time per request.

import { executionAsyncId } from 'node:async_hooks';
import { type ChildProcess, spawn } from 'node:child_process';
import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installHttpServer } from '../src/interceptors/http-server.ts';
import { Recorder } from '../src/runtime/recorder.ts';

const REGISTER = fileURLToPath(new URL('../src/register.ts', import.meta.url));
const EXPRESS = fileURLToPath(import.meta.resolve('express'));
const ROUNDS = 15;
const REQUESTS = 1000;
const WARMUP = 300;

// The servers live outside Causeway's packages, so register instruments them as user code.
const dir = mkdtempSync(join(tmpdir(), 'causeway-bench-http-'));
writeFileSync(
  join(dir, 'http-server.ts'),
  [
    "import { createServer } from 'node:http';",
    'const server = createServer((req, res) => {',
    "  res.setHeader('content-type', 'application/json');",
    '  res.end(JSON.stringify({ path: req.url }));',
    '});',
    "server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));",
  ].join('\n'),
);
writeFileSync(
  join(dir, 'express-server.ts'),
  [
    `import express from ${JSON.stringify(EXPRESS)};`,
    'const app = express();',
    "app.get('/items/:id', (req, res) => { res.json({ id: req.params.id }); });",
    "const server = app.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));",
  ].join('\n'),
);

const MODES = {
  'no Causeway': { CAUSEWAY_ENABLED: '0' },
  'interceptors off': { CAUSEWAY_INTERCEPTORS: 'off' },
  'interceptors on': { CAUSEWAY_INTERCEPTORS: 'all' },
} as const;
type Mode = keyof typeof MODES;

async function start(
  app: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', REGISTER, app], {
    cwd: dir,
    env: { ...process.env, CAUSEWAY_TRACE_DIR: dir, CAUSEWAY_QUIET: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', () => reject(new Error(`bench: ${app} exited before listening`)));
  });
  return { child, port };
}

function get(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Mean µs per request over `count` sequential requests. */
async function measure(port: number, path: string, count: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const start = performance.now();
    for (let i = 0; i < count; i++) await get(agent, port, `${path}${i}`);
    return ((performance.now() - start) * 1000) / count;
  } finally {
    agent.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

/**
 * The server interceptor's own work per exchange, without the network: the two channel messages
 * Node publishes for a request, on fake request and response objects, with the interceptor
 * subscribed and not. Much steadier than the end-to-end figures on a shared machine.
 */
function perExchangeNs(): { off: number; on: number } {
  const start = channel('http.server.request.start');
  const finish = channel('http.server.response.finish');
  const exchanges = 200_000;
  const run = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < exchanges; i++) {
      const request = { method: 'GET', url: '/items/42?x=1' };
      const response = Object.assign(new EventEmitter(), {
        statusCode: 200,
        writableFinished: true,
        req: request,
      });
      start.publish({ request, response });
      finish.publish({ request, response });
    }
    return ((performance.now() - t0) * 1e6) / exchanges;
  };
  const recorder = new Recorder(1 << 16, performance, executionAsyncId);
  const off: number[] = [];
  const on: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    off.push(run());
    const uninstall = installHttpServer(recorder);
    on.push(run());
    uninstall();
    recorder.ring.drain(() => {});
  }
  return { off: median(off), on: median(on) };
}

const exchange = perExchangeNs();
console.log(`server interceptor, per exchange, no network (median of ${ROUNDS} alternating rounds)`);
console.log(`  channels with no subscriber  ${exchange.off.toFixed(0)} ns`);
console.log(
  `  interceptor subscribed       ${exchange.on.toFixed(0)} ns (+${(exchange.on - exchange.off).toFixed(0)} ns)`,
);

const results: Record<string, Record<Mode, number>> = {};
for (const [app, path] of [
  ['http-server.ts', '/hello/'],
  ['express-server.ts', '/items/'],
] as const) {
  const servers = {} as Record<Mode, { child: ChildProcess; port: number }>;
  for (const mode of Object.keys(MODES) as Mode[]) servers[mode] = await start(join(dir, app), MODES[mode]);
  const times = { 'no Causeway': [], 'interceptors off': [], 'interceptors on': [] } as Record<
    Mode,
    number[]
  >;
  for (const mode of Object.keys(MODES) as Mode[]) await measure(servers[mode].port, path, WARMUP);
  const modes = Object.keys(MODES) as Mode[];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate which mode goes first, so that no mode always follows the same one.
    for (const mode of [...modes.slice(round % 3), ...modes.slice(0, round % 3)]) {
      times[mode].push(await measure(servers[mode].port, path, REQUESTS));
    }
  }
  for (const { child } of Object.values(servers)) child.kill('SIGTERM');
  results[app] = {
    'no Causeway': median(times['no Causeway']),
    'interceptors off': median(times['interceptors off']),
    'interceptors on': median(times['interceptors on']),
  };
  const r = results[app];
  console.log(`${app}: ${REQUESTS} sequential keep-alive requests, median of ${ROUNDS} alternating rounds`);
  for (const mode of Object.keys(MODES) as Mode[])
    console.log(`  ${mode.padEnd(17)} ${r[mode].toFixed(1)} µs/request`);
  console.log(
    `  interceptors on / off: ${(r['interceptors on'] / r['interceptors off']).toFixed(3)}x (+${(r['interceptors on'] - r['interceptors off']).toFixed(1)} µs)`,
  );
}
console.log(JSON.stringify({ perExchangeNs: exchange, endToEndMicros: results }));
