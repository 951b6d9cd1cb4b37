// Runs instrumented code against a fake probes module that logs every probe call, so tests can
// compare what a program does with and without instrumentation, and what it reports.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { instrumentSource } from '../src/transform.ts';

export type ProbeCall = [name: string, ...args: unknown[]];

const FAKE_PROBES = `
const log = (...call) => globalThis.__probeLog.push(call);
let nextInvocation = 1;
export function registerSites(table) { nextInvocation = 1; log('registerSites', table); return 100; }
export function invocation() { const id = nextInvocation++; log('invocation', id); return id; }
export function enter(site) { log('enter', site); }
export function enterAsync(site) { const id = nextInvocation++; log('enterAsync', site, id); return id; }
export function exit(site, inv = 0) { log('exit', site, inv); }
export function threw(site, inv = 0) { log('threw', site, inv); }
export function suspend(site, inv, value) { log('suspend', site, inv); return value; }
export function resume(site, inv, value) { log('resume', site, inv); return value; }
export function caught(inv) { log('caught', inv); }
`;

let probesUrl: string | null = null;
let counter = 0;
const dir = mkdtempSync(join(tmpdir(), 'causeway-plugin-'));

/** Instruments `code` as the TypeScript/JavaScript file `name` and returns the output. */
export function instrument(
  code: string,
  name = 'input.ts',
  format: 'module' | 'commonjs' = 'module',
): string {
  if (probesUrl === null) {
    const probes = join(dir, 'fake-probes.mjs');
    writeFileSync(probes, FAKE_PROBES);
    probesUrl = pathToFileURL(probes).href;
  }
  return instrumentSource(code, { filename: join(dir, name), format, root: dir, runtimeModule: probesUrl });
}

/** Writes `code` (already JavaScript) as an ES module and imports it, returning its exports. */
export async function importModule(code: string): Promise<Record<string, unknown>> {
  const file = join(dir, `module-${++counter}.mjs`);
  writeFileSync(file, code);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** Imports the instrumented version of `code` and returns its exports and the probe calls it made. */
export async function runInstrumented(
  code: string,
  name = 'input.ts',
): Promise<{ exports: Record<string, unknown>; log: ProbeCall[] }> {
  const log: ProbeCall[] = [];
  (globalThis as { __probeLog?: ProbeCall[] }).__probeLog = log;
  const exports = await importModule(instrument(code, name));
  return { exports, log };
}

/** The fake probes as an object, for CommonJS output run with `new Function`. */
export function fakeProbes(log: ProbeCall[]): Record<string, (...args: number[]) => unknown> {
  let nextInvocation = 1;
  return {
    registerSites: () => 100,
    invocation: () => nextInvocation++,
    enter: (site) => void log.push(['enter', site]),
    enterAsync: (site) => {
      log.push(['enterAsync', site, nextInvocation]);
      return nextInvocation++;
    },
    exit: (site, inv = 0) => void log.push(['exit', site, inv]),
    threw: (site, inv = 0) => void log.push(['threw', site, inv]),
    suspend: (site, inv, value) => {
      log.push(['suspend', site, inv]);
      return value;
    },
    resume: (site, inv, value) => {
      log.push(['resume', site, inv]);
      return value;
    },
    caught: (inv) => void log.push(['caught', inv]),
  };
}

/** Probe calls without registerSites, as `name:site` strings (site relative to the file's base 100). */
export function trail(log: ProbeCall[]): string[] {
  return log
    .filter(([name]) => name !== 'registerSites')
    .map(([name, ...args]) =>
      [name, ...args.map((a) => (typeof a === 'number' && a >= 100 ? `s${a - 100}` : String(a)))].join(':'),
    );
}
