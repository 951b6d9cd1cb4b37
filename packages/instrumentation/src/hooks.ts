/**
 * The module load hook that instruments an application as Node loads it: user files (JavaScript
 * and TypeScript, ES modules and CommonJS) go through the Babel plugin; node_modules and
 * Causeway's own packages are left alone. A file that cannot be instrumented runs as it is, after
 * one warning.
 */

import { readFileSync } from 'node:fs';
import type { LoadHookSync, ModuleFormat } from 'node:module';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instrumentFile, isInstrumentable } from '@causeway/babel-plugin/transform';
import type { AccessLevel } from './config.ts';
import { InstrumentationErrorCode, warn } from './errors.ts';
import { type FileFilter, filteredOut, NO_FILTER } from './file-filter.ts';
import type { TransformCache } from './transform-cache.ts';

const PROBES_URL = import.meta.resolve('./probes.ts');
const PROBES_PATH = fileURLToPath(PROBES_URL);

/** The directory of a @causeway package, from its main entry (every one lives in `<package>/src/`). */
function packageDir(specifier: string): string {
  const entry = fileURLToPath(import.meta.resolve(specifier));
  return dirname(dirname(entry)) + sep;
}

const CAUSEWAY_DIRS = [
  packageDir('@causeway/core'),
  packageDir('@causeway/babel-plugin'),
  dirname(dirname(PROBES_PATH)) + sep,
];

/** The format instrumented output is loaded as, or null for formats left alone. */
function targetFormat(format: ModuleFormat | string | null | undefined): 'module' | 'commonjs' | null {
  if (format === 'module' || format === 'module-typescript') return 'module';
  if (format === 'commonjs' || format === 'commonjs-typescript') return 'commonjs';
  return null;
}

export function shouldInstrument(path: string): boolean {
  return (
    isInstrumentable(path) &&
    !path.includes(`${sep}node_modules${sep}`) &&
    !CAUSEWAY_DIRS.some((dir) => path.startsWith(dir))
  );
}

/** One warning per file that has constructs the plugin left uninstrumented, naming the first. */
function warnPartial(warnings: readonly string[]): void {
  const [first] = warnings;
  if (first === undefined) return;
  const more = warnings.length > 1 ? ` (and ${warnings.length - 1} more in this file)` : '';
  warn(
    InstrumentationErrorCode.CONSTRUCT_SKIPPED,
    `${first}${more}; it runs as written, the rest of the file is instrumented`,
  );
}

/**
 * The load hook. With `cache`, instrumented code is looked up there first and stored there after
 * instrumenting (transform-cache.ts). `failConstructs` is for tests of the plugin's fallback.
 * `quiet` (CAUSEWAY_QUIET) drops the warning about a source map a module names and that cannot
 * be read (the module is instrumented all the same).
 */
export function createLoadHook(
  root: string,
  accesses: AccessLevel | (() => AccessLevel) = 'all',
  cache: TransformCache | null = null,
  files: FileFilter = NO_FILTER,
  failConstructs: readonly string[] = [],
  quiet = false,
): LoadHookSync {
  return (url, context, nextLoad) => {
    const loaded = nextLoad(url, context);
    if (!url.startsWith('file:')) return loaded;
    const format = targetFormat(loaded.format);
    const path = fileURLToPath(url);
    if (format === null || !shouldInstrument(path)) return loaded;
    if (filteredOut(relative(root, path).split(sep).join('/'), files) !== null) return loaded;
    try {
      const source = loaded.source ?? readFileSync(path);
      const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
      // require() takes paths, import takes URLs.
      const runtimeModule = format === 'module' ? PROBES_URL : PROBES_PATH;
      const level = typeof accesses === 'function' ? accesses() : accesses;
      const key = cache?.key([path, format, root, level, runtimeModule, ...failConstructs, text]) ?? '';
      const cached = cache?.get(key) ?? null;
      if (cached !== null) {
        warnPartial(cache?.warnings(key) ?? []);
        return { format, source: cached, shortCircuit: true };
      }
      const { code, warnings, sourceMapWarning } = instrumentFile(text, {
        filename: path,
        format,
        root,
        accesses: level,
        runtimeModule,
        // Never run broken output: a file whose output does not parse runs as it is (below).
        verify: true,
        ...(failConstructs.length > 0 ? { failConstructs } : {}),
      });
      cache?.set(key, code, warnings);
      warnPartial(warnings);
      if (sourceMapWarning !== null && !quiet)
        warn(InstrumentationErrorCode.SOURCE_MAP_UNREADABLE, sourceMapWarning);
      return { format, source: code, shortCircuit: true };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      warn(InstrumentationErrorCode.MODULE_SKIPPED, `${reason} (running it uninstrumented)`);
      return loaded;
    }
  };
}
