// `npm run example`: the README's walkthrough in one command. Starts the bank instrumented, fires
// concurrent transfers at it with test-race.ts, stops it, and runs `causeway analyze` on its trace.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const causeway = join(
  dirname(fileURLToPath(import.meta.resolve('@causeway/cli'))),
  '..',
  'bin',
  'causeway.js',
);

console.log('$ npm start   # node --import @causeway/instrumentation/register src/server.ts');
const bank = spawn(
  process.execPath,
  ['--import', '@causeway/instrumentation/register', 'src/server.ts', '--port', '0'],
  {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let said = '';
const url = await new Promise<string>((resolve, reject) => {
  const listen = (chunk: Buffer) => {
    said += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(said);
    if (match?.[1] !== undefined) resolve(match[1]);
  };
  bank.stdout.on('data', listen);
  bank.stderr.on('data', listen);
  bank.once('exit', (code) => reject(new Error(`the bank exited (${code}) before listening:\n${said}`)));
});
process.stdout.write(said);

console.log(`\n$ node test-race.ts --url ${url}`);
spawnSync(process.execPath, ['test-race.ts', '--url', url], { cwd: here, stdio: 'inherit' });

console.log('\n(Ctrl-C the bank)');
let summary = '';
bank.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
bank.stderr.on('data', (chunk: Buffer) => {
  summary += chunk;
  process.stdout.write(chunk);
});
bank.kill('SIGINT');
await once(bank, 'exit');
const traceId = /causeway: trace ([0-9a-f]{32})/.exec(summary)?.[1];
if (traceId === undefined) {
  console.error('the bank did not say which trace it wrote');
  process.exit(1);
}

console.log(`\n$ npx causeway analyze --trace-id ${traceId}`);
const analyzed = spawnSync(process.execPath, [causeway, 'analyze', '--trace-id', traceId], {
  cwd: here,
  stdio: 'inherit',
});
process.exit(analyzed.status ?? 1);
