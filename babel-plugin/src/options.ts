/** Options of @causeway/babel-plugin, and their defaults. */

export interface InstrumentOptions {
  /**
   * Module specifier the instrumented code imports its probes from. The on-the-fly loader passes
   * the absolute URL of its own probes module; ahead-of-time output imports the package.
   */
  runtimeModule?: string;
  /** Site tables name files relative to this directory (default: Babel's cwd). */
  root?: string;
  /**
   * How the output is loaded: `module` imports the probes, `commonjs` requires them. Default: the
   * parsed program's source type. (CommonJS TypeScript is parsed as a module, for `import type`.)
   */
  format?: 'module' | 'commonjs';
  /**
   * Which property accesses get probes: `all` (reads and writes, the default), `writes`
   * (assignments, compound assignments, `++`/`--` and `delete` only) or `off`.
   */
  accesses?: AccessLevel;
  /**
   * For tests of the fallback only: rewriting a construct of one of these kinds (guard.ts) throws,
   * as a construct the plugin cannot handle would. Default: none.
   */
  failConstructs?: readonly string[];
}

export type AccessLevel = 'all' | 'writes' | 'off';
const ACCESS_LEVELS: readonly AccessLevel[] = ['all', 'writes', 'off'];

export const DEFAULT_RUNTIME_MODULE = '@causeway/instrumentation/probes';

export interface ResolvedOptions {
  runtimeModule: string;
  root: string;
  format: 'module' | 'commonjs' | undefined;
  accesses: AccessLevel;
  failConstructs: readonly string[];
}

export function resolveOptions(options: InstrumentOptions, cwd: string): ResolvedOptions {
  const accesses = options.accesses ?? 'all';
  if (!ACCESS_LEVELS.includes(accesses)) {
    throw new TypeError(
      `@causeway/babel-plugin: option accesses must be one of ${ACCESS_LEVELS.join(', ')}, not ${String(accesses)}`,
    );
  }
  return {
    runtimeModule: options.runtimeModule ?? DEFAULT_RUNTIME_MODULE,
    root: options.root ?? cwd,
    format: options.format,
    accesses,
    failConstructs: options.failConstructs ?? [],
  };
}
