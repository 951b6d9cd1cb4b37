/**
 * `causeway instrument <dir>`: instruments a source tree ahead of time with the Babel plugin,
 * writing the result (and a source map per file) to an output directory, and copies every other
 * file, so that the output runs as the input did and records a trace.
 */

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { DEFAULT_RUNTIME_MODULE } from '@causeway/babel-plugin';
import { InstrumentErrorCode, instrumentFile, isInstrumentable } from '@causeway/babel-plugin/transform';
import { CausewayError } from '@causeway/core/errors';
import { SITE_KIND_NAMES, type SiteKind } from '@causeway/core/event-format';
import { filteredOut, matchesFileGlob } from '@causeway/instrumentation/file-filter';
import { parseCommandArgs } from '../args.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { type Io, Progress } from '../io.ts';

export const INSTRUMENT_HELP = `Usage: causeway instrument <dir> [--out-dir DIR] [--include GLOB]... [--exclude GLOB]...

Instruments every JavaScript and TypeScript file under <dir> (.js .jsx .mjs .cjs .ts .tsx .mts
.cts) with the Causeway Babel plugin and writes it, with a source map (<file>.map), under the
output directory at the same relative path; every other file is copied. TypeScript comes out as
JavaScript under its own name, so imports keep working. Run the output as you ran the input: it
records a trace (.causeway/traces/ by default; docs/instrumentation.md).

Options:
  --out-dir DIR      where to write (default: <dir>-instrumented beside <dir>; <dir> itself
                     instruments in place: instrumenting instrumented code changes nothing)
  --include GLOB     instrument only files matching GLOB (relative to <dir>; repeatable)
  --exclude GLOB     do not instrument files matching GLOB (repeatable); they are copied as
                     they are. node_modules is never entered unless an --include names it.
  --accesses LEVEL   property accesses instrumented: all (default), writes or off
  --runtime MODULE   the module instrumented code imports its probes from
                     (default: ${DEFAULT_RUNTIME_MODULE})
  -q, --quiet        print errors only, no summary
  -h, --help         show this help

A file that cannot be parsed is reported as file:line:col and copied unchanged; the others are
still instrumented, and the exit code is 2. A construct the plugin cannot rewrite is left as
written and listed in the summary as file:line:col; the rest of its file is instrumented.

Examples:
  causeway instrument src --out-dir build          then run build/ as you ran src/
  causeway instrument src --exclude 'generated/**' --accesses writes
                                                   (globs are relative to <dir>: src/generated/)
`;

/** Trees with more files than this get a progress line (on a terminal). */
const PROGRESS_THRESHOLD = 200;

const DECLARATION = /\.d\.[cm]?ts$/;

export interface Options {
  root: string;
  outDir: string;
  include: string[];
  exclude: string[];
  accesses: 'all' | 'writes' | 'off';
  runtimeModule: string;
  /** For tests of the plugin's fallback only (InstrumentOptions.failConstructs); no flag sets it. */
  failConstructs?: readonly string[];
}

export interface Summary {
  instrumented: number;
  copied: number;
  sitesByKind: Map<SiteKind, number>;
  skipped: { path: string; reason: string }[];
  /** Constructs the plugin left uninstrumented, as `file:line:col: what` (the files were instrumented). */
  warnings: string[];
  /** --include and --exclude globs that match no file under <dir>, as `--exclude 'glob'`. */
  unmatched: string[];
  /** Files whose own source map could not be read, one line each (they were instrumented). */
  mapWarnings: string[];
  errors: string[];
}

type Format = 'module' | 'commonjs' | 'unambiguous';

export function instrument(args: string[], io: Io): number {
  const { values, positionals } = parseCommandArgs('instrument', args, {
    'out-dir': { type: 'string' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    accesses: { type: 'string' },
    runtime: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(INSTRUMENT_HELP);
    return ExitCode.Ok;
  }
  const [dir, ...extra] = positionals;
  if (dir === undefined) {
    throw new UsageError("instrument: missing <dir>. Run 'causeway instrument --help' for usage.");
  }
  if (extra.length > 0) {
    throw new UsageError(`instrument: unexpected argument '${extra[0]}': instrument takes one directory.`);
  }
  const accesses = values.accesses ?? 'all';
  if (accesses !== 'all' && accesses !== 'writes' && accesses !== 'off') {
    throw new UsageError(`instrument: --accesses must be all, writes or off, not '${accesses}'.`);
  }
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new UsageError(
      `instrument: ${dir} is not a directory. Give the directory of the sources to instrument.`,
    );
  }
  const options: Options = {
    root,
    outDir: resolve(values['out-dir'] ?? `${root}-instrumented`),
    include: values.include ?? [],
    exclude: values.exclude ?? [],
    accesses,
    runtimeModule: values.runtime ?? DEFAULT_RUNTIME_MODULE,
  };
  const summary = instrumentTree(options, io);
  for (const error of summary.errors) io.err(`causeway: ${error}\n`);
  if (!values.quiet) {
    const under = relative(process.cwd(), root) || '.';
    for (const flag of summary.unmatched) {
      io.err(`causeway: warning: ${flag} matches no file under ${under}/ (globs are relative to <dir>)\n`);
    }
    for (const warning of summary.mapWarnings) io.err(`causeway: warning: ${warning}\n`);
  }
  if (!values.quiet) io.out(renderSummary(summary, options));
  return summary.errors.length > 0 ? ExitCode.BadInput : ExitCode.Ok;
}

/** Relative paths (with `/`) of the files under `root`, sorted; node_modules only if included. */
function listFiles(options: Options, summary: Summary): string[] {
  const files: string[] = [];
  const includesNodeModules = options.include.some((glob) => glob.includes('node_modules'));
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        // The output directory may sit inside the input (but not be it): never read it back.
        if (full === options.outDir && options.outDir !== options.root) continue;
        // Git's and Causeway's own folders (traces, the on-the-fly cache): neither source nor output.
        if (entry.name === '.git' || entry.name === '.causeway') continue;
        if (entry.name === 'node_modules' && !includesNodeModules) {
          summary.skipped.push({
            path: `${path}/`,
            reason: 'node_modules is excluded by default (not copied)',
          });
          continue;
        }
        walk(full, path);
      } else if (entry.isFile()) {
        files.push(path);
      }
    }
  };
  walk(options.root, '');
  return files;
}

/** Why `path` is not instrumented, or null when it is. */
function exclusion(path: string, options: Options): string | null {
  if (!isInstrumentable(path)) return null;
  if (DECLARATION.test(path)) return 'a TypeScript declaration file';
  const out = filteredOut(path, options);
  if (out === null) return null;
  return out.reason === 'not-included' ? 'not matched by --include' : `excluded by --exclude ${out.glob}`;
}

/** How Node loads `file`: by extension, else by the `type` of the nearest package.json. */
function formatOf(file: string, typeCache: Map<string, Format>): Format {
  const ext = extname(file);
  if (ext === '.mjs' || ext === '.mts') return 'module';
  if (ext === '.cjs' || ext === '.cts') return 'commonjs';
  const seen: string[] = [];
  let format: Format = 'unambiguous';
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const cached = typeCache.get(dir);
    if (cached !== undefined) {
      format = cached;
      break;
    }
    seen.push(dir);
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      format = packageType(manifest);
      break;
    }
    if (dirname(dir) === dir) break;
  }
  for (const dir of seen) typeCache.set(dir, format);
  return format;
}

function packageType(manifest: string): Format {
  try {
    const type = (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type;
    if (type === 'module') return 'module';
    if (type === 'commonjs') return 'commonjs';
  } catch {
    // An unreadable package.json: Node would fail on it too; let detection decide.
  }
  return 'unambiguous';
}

export function instrumentTree(options: Options, io: Io): Summary {
  const summary: Summary = {
    instrumented: 0,
    copied: 0,
    sitesByKind: new Map(),
    skipped: [],
    warnings: [],
    mapWarnings: [],
    unmatched: [],
    errors: [],
  };
  const files = listFiles(options, summary);
  for (const [flag, globs] of [
    ['--include', options.include],
    ['--exclude', options.exclude],
  ] as const) {
    for (const glob of new Set(globs)) {
      if (!files.some((file) => matchesFileGlob(file, glob))) summary.unmatched.push(`${flag} '${glob}'`);
    }
  }
  const inPlace = options.outDir === options.root;
  const written = new Set<string>();
  const typeCache = new Map<string, Format>();
  const progress = files.length > PROGRESS_THRESHOLD ? new Progress(io) : null;
  const others: string[] = [];
  files.forEach((path, index) => {
    if (index % 50 === 0) progress?.update(`causeway: instrumenting ${index}/${files.length} files`);
    const reason = isInstrumentable(path) ? exclusion(path, options) : null;
    if (!isInstrumentable(path) || reason !== null) {
      if (reason !== null) summary.skipped.push({ path, reason: `${reason} (copied unchanged)` });
      others.push(path);
      return;
    }
    const source = join(options.root, path);
    const target = join(options.outDir, path);
    const code = readFileSync(source, 'utf8');
    try {
      const result = instrumentFile(code, {
        filename: source,
        format: formatOf(source, typeCache),
        root: options.root,
        accesses: options.accesses,
        runtimeModule: options.runtimeModule,
        sourceMaps: 'separate',
        verify: true,
        sourceFileName: relative(dirname(target), source).split(sep).join('/'),
        outputFile: target,
        ...(options.failConstructs ? { failConstructs: options.failConstructs } : {}),
      });
      summary.warnings.push(...result.warnings);
      mkdirSync(dirname(target), { recursive: true });
      if (result.alreadyInstrumented || result.code === code) {
        const why = result.alreadyInstrumented ? 'already instrumented' : 'nothing to instrument';
        summary.skipped.push({ path, reason: `${why} (copied unchanged)` });
        if (!inPlace) writeFileSync(target, code);
        written.add(path);
        return;
      }
      writeFileSync(target, result.code);
      written.add(path);
      if (result.sourceMapWarning !== null) {
        summary.mapWarnings.push(
          result.sourceMapWarning.replace(source, relative(process.cwd(), source) || path),
        );
      }
      if (result.map !== null) {
        writeFileSync(`${target}.map`, JSON.stringify(result.map));
        written.add(`${path}.map`);
      }
      summary.instrumented++;
      for (const [kind] of result.sites?.sites ?? []) {
        summary.sitesByKind.set(kind, (summary.sitesByKind.get(kind) ?? 0) + 1);
      }
    } catch (error) {
      if (!(error instanceof CausewayError)) throw error;
      summary.errors.push(error.message.replace(source, relative(process.cwd(), source) || path));
      const reason = error.code === InstrumentErrorCode.SYNTAX ? 'syntax error' : 'could not be instrumented';
      summary.skipped.push({ path, reason: `${reason} (copied unchanged)` });
      others.push(path);
    }
  });
  progress?.done();
  if (!inPlace) {
    for (const path of others) {
      // An input's own map is replaced by the chained map written beside its instrumented file.
      if (written.has(path)) continue;
      const target = join(options.outDir, path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(options.root, path), target);
      summary.copied++;
    }
  }
  return summary;
}

export function renderSummary(summary: Summary, options: Options): string {
  const total = [...summary.sitesByKind.values()].reduce((a, b) => a + b, 0);
  const kinds = [...summary.sitesByKind.entries()]
    .sort(([a], [b]) => a - b)
    .map(([kind, count]) => `${count} ${SITE_KIND_NAMES[kind]}`)
    .join(', ');
  const out = relative(process.cwd(), options.outDir) || '.';
  const lines = [
    `Instrumented ${summary.instrumented} file${summary.instrumented === 1 ? '' : 's'} into ${out}/: ${total} sites${kinds === '' ? '' : ` (${kinds})`}`,
  ];
  if (summary.copied > 0)
    lines.push(`Copied ${summary.copied} other file${summary.copied === 1 ? '' : 's'}.`);
  if (summary.skipped.length > 0) {
    lines.push(`Skipped ${summary.skipped.length}:`);
    for (const { path, reason } of summary.skipped) lines.push(`  ${path}: ${reason}`);
  }
  if (summary.warnings.length > 0) {
    const count = summary.warnings.length;
    lines.push(
      `Left ${count} construct${count === 1 ? '' : 's'} uninstrumented (the plugin could not rewrite ${count === 1 ? 'it' : 'them'}; the rest of each file is instrumented, and the output runs as the input does; please report it):`,
    );
    for (const warning of summary.warnings) lines.push(`  ${warning}`);
  }
  return `${lines.join('\n')}\n`;
}
