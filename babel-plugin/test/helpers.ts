// Runs instrumented code against a fake probes module that logs every probe call, so tests can
// compare what a program does with and without instrumentation, and what it reports.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { instrumentSource } from '../src/transform.ts';

export type ProbeCall = [name: string, ...args: unknown[]];

/** The fake probes module instrumented ES modules import: `fakeProbes`, logging to a global. */
const FAKE_PROBES = `
import { fakeProbes } from ${JSON.stringify(import.meta.url)};
export const { registerSites, invocation, enter, enterAsync, exit, threw, suspend, resume, caught } =
  fakeProbes(() => globalThis.__probeLog);
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

/**
 * Probes that log each call into the array `log()` returns, and behave as the real ones do:
 * `suspend`/`resume` return their value, `enterAsync`/`invocation` hand out ids (from 1 again
 * whenever a file registers its sites), `registerSites` gives base 100.
 */
export function fakeProbes(log: () => ProbeCall[]): Record<string, (...args: never[]) => unknown> {
  let nextInvocation = 1;
  const record = (...call: ProbeCall): void => void log().push(call);
  return {
    registerSites: (table: unknown) => {
      nextInvocation = 1;
      record('registerSites', table);
      return 100;
    },
    invocation: () => {
      record('invocation', nextInvocation);
      return nextInvocation++;
    },
    enter: (site: number) => record('enter', site),
    enterAsync: (site: number) => {
      record('enterAsync', site, nextInvocation);
      return nextInvocation++;
    },
    exit: (site: number, inv = 0) => record('exit', site, inv),
    threw: (site: number, inv = 0) => record('threw', site, inv),
    suspend: (site: number, inv: number, value: unknown) => {
      record('suspend', site, inv);
      return value;
    },
    resume: (site: number, inv: number, value: unknown) => {
      record('resume', site, inv);
      return value;
    },
    caught: (inv: number) => record('caught', inv),
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
