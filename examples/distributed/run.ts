// `npm run example:distributed`: starts payments, orders and gateway, each its own Node process
// recorded by `--import @causeway/instrumentation/register`; checks out a small order (fast), a
// large one (payments' fraud review is slow: orders times out waiting, gateway answers 504), and
// one with a garbage propagation header (ignored, counted, served); stops the services and runs
// `causeway analyze --trace-id <gateway's trace>`, which loads the three recordings as one trace.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const causeway = join(
  dirname(fileURLToPath(import.meta.resolve('@causeway/cli'))),
  '..',
  'bin',
  'causeway.js',
);
const REVIEW_MS = 1500;
const PAYMENTS_TIMEOUT_MS = 300;

interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  /** What it wrote on stderr (Causeway's summary line among it). */
  stderr: () => string;
}

async function start(name: string, env: Record<string, string>): Promise<Service> {
  const child = spawn(
    process.execPath,
    ['--import', '@causeway/instrumentation/register', `src/${name}.ts`],
    {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  let said = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      said += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(said);
      if (match?.[1] !== undefined) resolveUrl(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`${name} exited (${code}) before listening:\n${said}${stderr}`)),
    );
  });
  console.log(`$ node --import @causeway/instrumentation/register src/${name}.ts   # ${url}`);
  return { name, url, child, stderr: () => stderr };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(url, { headers });
  console.log(
    `GET ${new URL(url).pathname}${new URL(url).search} -> ${response.status} ${await response.text()}`,
  );
}

const payments = await start('payments', { REVIEW_MS: String(REVIEW_MS) });
const orders = await start('orders', {
  PAYMENTS_URL: payments.url,
  PAYMENTS_TIMEOUT_MS: String(PAYMENTS_TIMEOUT_MS),
});
const gateway = await start('gateway', { ORDERS_URL: orders.url });
const services = [gateway, orders, payments];

console.log('\n$ curl the gateway');
await get(`${gateway.url}/checkout?amount=20`);
await get(`${gateway.url}/checkout?amount=5000`);
// A request from outside with a malformed propagation header: ignored and counted, never trusted.
await get(`${gateway.url}/checkout?amount=30`, { 'x-causeway-trace': `1-${'z'.repeat(300)}` });
// Let payments finish the review orders gave up on, so its late answer is in its recording.
await new Promise((done) => setTimeout(done, REVIEW_MS));

console.log('\n(stopping the services)');
const traces: { name: string; traceId: string; path: string }[] = [];
for (const service of services) {
  service.child.kill('SIGINT');
  await once(service.child, 'exit');
  const match = /causeway: trace ([0-9a-f]{32}) written to (.+?) \(/.exec(service.stderr());
  if (match === null) {
    console.error(`${service.name} did not say which trace it wrote:\n${service.stderr()}`);
    process.exit(1);
  }
  traces.push({ name: service.name, traceId: match[1] as string, path: resolve(here, match[2] as string) });
  console.log(`${service.name}: trace ${match[1]} written to ${match[2]}`);
}

const traceDir = process.env.CAUSEWAY_TRACE_DIR;
const gatewayTrace = traces[0]?.traceId as string;
console.log(`\n$ npx causeway analyze --trace-id ${gatewayTrace}`);
const analyzed = spawnSync(
  process.execPath,
  [
    causeway,
    'analyze',
    '--trace-id',
    gatewayTrace,
    ...(traceDir === undefined ? [] : ['--trace-dir', traceDir]),
  ],
  { cwd: here, stdio: 'inherit' },
);
process.exit(analyzed.status ?? 1);
