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
}

export const DEFAULT_RUNTIME_MODULE = '@causeway/instrumentation/probes';

export interface ResolvedOptions {
  runtimeModule: string;
  root: string;
  format: 'module' | 'commonjs' | undefined;
}

export function resolveOptions(options: InstrumentOptions, cwd: string): ResolvedOptions {
  return {
    runtimeModule: options.runtimeModule ?? DEFAULT_RUNTIME_MODULE,
    root: options.root ?? cwd,
    format: options.format,
  };
}
