// The HTTP benchmark's load generator, run as a process of its own on the same machine:
// `node http-load.ts <port> <connections> <warmupMs> <durationMs>`. Each connection (a keep-alive
// socket) sends its next request as soon as the previous answer has been read. Prints one JSON
// line: the requests answered in the measured window, per second, all requests answered (warm-up
// included), and the errors.

import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [port, connections, warmupMs, durationMs] = process.argv.slice(2).map(Number) as [
  number,
  number,
  number,
  number,
];
const agent = new Agent({ keepAlive: true, maxSockets: connections });
let counting = false;
let stopped = false;
let answered = 0;
let total = 0;
let errors = 0;

function one(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        total++;
        if (counting) answered++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

async function connection(first: number): Promise<void> {
  for (let i = first; !stopped; i += connections) await one(`/deposit/${i}`);
}

const loops = Array.from({ length: connections }, (_, c) => connection(c));
await sleep(warmupMs);
counting = true;
const start = performance.now();
await sleep(durationMs);
counting = false;
const elapsed = performance.now() - start;
stopped = true;
await Promise.all(loops);
agent.destroy();
console.log(JSON.stringify({ requests: answered, rps: (answered / elapsed) * 1000, total, errors }));
