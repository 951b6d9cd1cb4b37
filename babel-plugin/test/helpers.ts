// Runs instrumented code against a fake probes module that logs every probe call, so tests can
// compare what a program does with and without instrumentation, and what it reports.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SiteTable } from '@causeway/core/event-format';
import type { InstrumentOptions } from '../src/options.ts';
import { instrumentFile, type TransformResult } from '../src/transform.ts';

export type ProbeCall = [name: string, ...args: unknown[]];

/** The fake probes module instrumented ES modules import: `fakeProbes`, logging to a global. */
const FAKE_PROBES = `
import { fakeProbes } from ${JSON.stringify(import.meta.url)};
export const {
  registerSites, invocation, enter, enterAsync, exit, threw, suspend, resume, caught,
  yielded, resumed, reentered, assigned, assignedKey, patternRead, patternReadKey,
  read, readKey, write, writeKey, update, updateKey, postfix, postfixKey, remove, removeKey,
  readSize, mapGet, has, mapSet, setAdd, entryDelete, clear, iterate, arrayPush, arrayResize, arrayReorder,
} = fakeProbes(() => globalThis.__probeLog);
`;

let probesUrl: string | null = null;
let counter = 0;
const dir = mkdtempSync(join(tmpdir(), 'causeway-plugin-'));

/** Instruments `code` as the TypeScript/JavaScript file `name` and returns the output. */
export function instrument(
  code: string,
  name = 'input.ts',
  format: 'module' | 'commonjs' = 'module',
  options: InstrumentOptions = {},
): string {
  return instrumentResult(code, name, format, options).code;
}

/** As `instrument`, with everything the transform says (sites, warnings). */
export function instrumentResult(
  code: string,
  name = 'input.ts',
  format: 'module' | 'commonjs' = 'module',
  options: InstrumentOptions = {},
): TransformResult {
  if (probesUrl === null) {
    const probes = join(dir, 'fake-probes.mjs');
    writeFileSync(probes, FAKE_PROBES);
    probesUrl = pathToFileURL(probes).href;
  }
  return instrumentFile(code, {
    ...options,
    filename: join(dir, name),
    format,
    root: dir,
    runtimeModule: probesUrl,
  });
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
  options: InstrumentOptions = {},
): Promise<{ exports: Record<string, unknown>; log: ProbeCall[] }> {
  const log: ProbeCall[] = [];
  (globalThis as { __probeLog?: ProbeCall[] }).__probeLog = log;
  const exports = await importModule(instrument(code, name, 'module', options));
  return { exports, log };
}

/**
 * Runs `code` (JavaScript) as a CommonJS script, sloppy unless it says otherwise, with `require`
 * returning the fake probes; returns its `module.exports` and the probe calls it made.
 */
export function runScript(code: string): { exports: unknown; log: ProbeCall[] } {
  const log: ProbeCall[] = [];
  const module = { exports: {} as unknown };
  new Function('module', 'exports', 'require', code)(module, module.exports, () => fakeProbes(() => log));
  return { exports: module.exports, log };
}

/**
 * Probes that log each call into the array `log()` returns, and behave as the real ones do:
 * `suspend`/`resume` and the access probes return their last argument (`postfix`: the old
 * value), `enterAsync`/`invocation` hand out ids (from 1 again whenever a file registers its
 * sites), `registerSites` gives base 100. The access probes never touch the object or the key
 * (no getter, trap or toString runs because of them), and throw when called with the wrong number
 * of arguments, so a wrong shape fails the test that emitted it.
 */
export function fakeProbes(log: () => ProbeCall[]): Record<string, (...args: never[]) => unknown> {
  let nextInvocation = 1;
  const record = (...call: ProbeCall): void => void log().push(call);
  /** An access probe taking `arity` arguments and returning the one at `result`. */
  const access =
    (name: string, arity: number, result = arity - 1) =>
    (...args: unknown[]) => {
      if (args.length !== arity)
        throw new Error(`fake probe ${name}: ${args.length} arguments, not ${arity}`);
      record(name, ...args);
      return args[result];
    };
  return {
    read: access('read', 3),
    readKey: access('readKey', 4),
    write: access('write', 3),
    writeKey: access('writeKey', 4),
    update: access('update', 3),
    updateKey: access('updateKey', 4),
    postfix: access('postfix', 4, 2),
    postfixKey: access('postfixKey', 5, 3),
    remove: access('remove', 3),
    removeKey: access('removeKey', 4),
    readSize: access('readSize', 3),
    mapGet: access('mapGet', 4, 2),
    has: access('has', 4, 2),
    mapSet: access('mapSet', 5, 2),
    setAdd: access('setAdd', 4, 2),
    entryDelete: access('entryDelete', 4, 2),
    clear: access('clear', 3, 2),
    iterate: access('iterate', 3, 2),
    arrayPush: access('arrayPush', 3, 2),
    arrayResize: access('arrayResize', 3, 2),
    arrayReorder: access('arrayReorder', 3, 2),
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
    assigned: access('assigned', 3, 1),
    patternRead: access('patternRead', 3),
    patternReadKey: access('patternReadKey', 3),
    assignedKey: access('assignedKey', 4, 1),
    yielded: access('yielded', 3, 1),
    resumed: access('resumed', 3, 1),
    reentered: (site: number, suspended: boolean) => {
      if (suspended) record('reentered', site);
      return false;
    },
  };
}

/**
 * Probe calls without registerSites, as `name:site:...` strings (the site, every probe's first
 * argument but `caught`'s, relative to the file's base 100). Objects and functions print as their
 * name in `names`, else as `object` or `function`, without touching them (no getter, trap or
 * toString runs); bigints end in `n`.
 */
export function trail(log: ProbeCall[], names: Map<unknown, string> = new Map()): string[] {
  const show = (value: unknown, index: number, name: string): string => {
    if (index === 0 && name !== 'caught' && name !== 'invocation') return `s${Number(value) - 100}`;
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'symbol') return value.toString();
    if (typeof value === 'object' && value !== null) return names.get(value) ?? 'object';
    if (typeof value === 'function') return names.get(value) ?? 'function';
    return String(value);
  };
  return log
    .filter(([name]) => name !== 'registerSites')
    .map(([name, ...args]) => [name, ...args.map((value, index) => show(value, index, name))].join(':'));
}

/** The site table the log's `registerSites` call carried. */
export function sitesOf(log: ProbeCall[]): SiteTable {
  const table = log.find(([name]) => name === 'registerSites')?.[1];
  if (table === undefined) throw new Error('no registerSites call in the log');
  return table as SiteTable;
}

/** Runs module `code`'s exported `run` plain and instrumented (module input.mjs), with the probe log. */
export async function both(
  code: string,
  options: InstrumentOptions = {},
): Promise<{ plain: unknown; instrumented: unknown; log: ProbeCall[] }> {
  const plain = await ((await importModule(code)).run as () => unknown)();
  const { exports, log } = await runInstrumented(code, 'input.mjs', options);
  const instrumented = await (exports.run as () => unknown)();
  return { plain, instrumented, log };
}
