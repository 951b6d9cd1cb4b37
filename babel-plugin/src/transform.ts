/**
 * Instruments one source file: parses JavaScript or TypeScript (with JSX where the extension
 * allows it), applies the plugin, strips TypeScript types, and returns JavaScript with an inline
 * source map pointing back to the original.
 */

import { basename, dirname, extname } from 'node:path';
import { type PluginItem, parseSync, types as t, transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import type { SiteTable } from '@causeway/core/event-format';
import { instrumentError } from './errors.ts';

export { InstrumentErrorCode } from './errors.ts';

import causewayPlugin, { type CausewayMetadata } from './index.ts';
import type { InstrumentOptions } from './options.ts';
import { isMapComment, loadInputMap, rebaseSources } from './source-map.ts';

export interface TransformRequest extends Omit<InstrumentOptions, 'format'> {
  /** Absolute path of the file; its extension selects the syntax. */
  filename: string;
  /**
   * `module` for ES modules, `commonjs` for CommonJS, `unambiguous` for a file that is an ES
   * module if it has `import` or `export` (Node's detection for files no package.json types).
   */
  format: 'module' | 'commonjs' | 'unambiguous';
  /**
   * `inline` (the default): the output ends with its source map as a data URL (for code run as
   * it is transformed). `separate`: the map is returned as `map`, and the output ends with a
   * `sourceMappingURL` comment naming `<file>.map`.
   */
  sourceMaps?: 'inline' | 'separate';
  /** How the map names the original file (default: its base name, the output sitting beside it). */
  sourceFileName?: string;
  /**
   * Where the output is written, with `sourceMaps: 'separate'` (default: `filename`): the sources
   * an input map names are made relative to it.
   */
  outputFile?: string;
  /**
   * Parse the output again before returning it, and fail (CW_INSTRUMENT_FAILED) if it does not
   * parse: ahead-of-time instrumentation never writes broken code (costs one more parse).
   */
  verify?: boolean;
}

export interface TransformResult {
  code: string;
  /** The source map, with `sourceMaps: 'separate'` (null when the input was left as it was). */
  map: object | null;
  /**
   * The site table of the output, or null when nothing in the file was instrumented (then `code`
   * is the input, unchanged, unless TypeScript types were stripped).
   */
  sites: SiteTable | null;
  /** The input was instrumented already: `code` is the input, unchanged. */
  alreadyInstrumented: boolean;
  /**
   * Constructs left uninstrumented because the plugin could not rewrite them, each as
   * `file:line:col: <construct> left uninstrumented: <reason>` (the rest of the file is
   * instrumented; the output runs as the input does).
   */
  warnings: string[];
  /**
   * The input names a source map that could not be used (`file: its source map x.map: no such
   * file; …`): the output then maps to the file as given. Null otherwise.
   */
  sourceMapWarning: string | null;
}

type BabelInputMap = Exclude<
  NonNullable<Parameters<typeof transformSync>[1]>['inputSourceMap'],
  boolean | undefined | null
>;

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JSX = new Set(['.js', '.jsx', '.tsx']);

/** True for the extensions `instrumentSource` understands. */
export function isInstrumentable(filename: string): boolean {
  const ext = extname(filename);
  return TYPESCRIPT.has(ext) || JSX.has(ext) || ext === '.mjs' || ext === '.cjs';
}

/** Returns the instrumented JavaScript for `code`, or throws a CausewayError naming the file. */
export function instrumentSource(code: string, request: TransformRequest): string {
  return instrumentFile(code, request).code;
}

/**
 * Instruments `code` and says what it did; throws a CausewayError naming the file (and the
 * line and column of a syntax error).
 */
export function instrumentFile(code: string, request: TransformRequest): TransformResult {
  const ext = extname(request.filename);
  if (request.format === 'unambiguous') {
    return instrumentFile(code, { ...request, format: detectFormat(code, request.filename, ext) });
  }
  const format = request.format;
  const plugins: PluginItem[] = [
    [
      causewayPlugin,
      {
        runtimeModule: request.runtimeModule,
        root: request.root,
        format,
        accesses: request.accesses,
        ...(request.failConstructs === undefined ? {} : { failConstructs: request.failConstructs }),
      } satisfies InstrumentOptions,
    ],
  ];
  const typescript = TYPESCRIPT.has(ext);
  if (typescript) {
    plugins.push([stripTypes, { disallowAmbiguousJSXLike: ext !== '.tsx' && ext !== '.ts' }]);
  }
  const separate = request.sourceMaps === 'separate';
  // The input's own map, read here rather than by Babel (which prints a stack trace on stderr for
  // one it cannot read): chained when it can be used, one line of warning when it cannot.
  const input = loadInputMap(code, request.filename);
  const sourceMapWarning =
    input.problem === null
      ? null
      : `${request.filename}: ${input.problem}; the output maps to the file as given`;
  try {
    const result = transformSync(code, {
      filename: request.filename,
      sourceType: request.format,
      // CommonJS TypeScript still has `import type` and `export type`: parse it as a module.
      parserOpts: {
        plugins: JSX.has(ext) ? ['jsx'] : [],
        ...(typescript && request.format === 'commonjs'
          ? { sourceType: 'module', allowReturnOutsideFunction: true }
          : {}),
      },
      babelrc: false,
      configFile: false,
      browserslistConfigFile: false,
      plugins,
      // The input's own map (inline, or a file its sourceMappingURL names) is chained by Babel;
      // its comment is left out of the output, which gets its own.
      // (Babel's type wants no null in sources or sourcesContent; its code takes them.)
      inputSourceMap: input.map === null ? false : (input.map as unknown as BabelInputMap),
      shouldPrintComment: (comment) => !isMapComment(comment),
      sourceMaps: separate ? true : 'inline',
      sourceFileName: request.sourceFileName ?? basename(request.filename),
      retainLines: true,
      // Not 'auto': Babel would print a note on stderr for every file over 500 KB.
      compact: false,
    });
    if (result?.code == null) throw new Error('Babel returned no code');
    const metadata = result.metadata?.causeway as CausewayMetadata | undefined;
    if (metadata?.alreadyInstrumented) {
      return { code, map: null, sites: null, alreadyInstrumented: true, warnings: [], sourceMapWarning };
    }
    const sites = metadata?.sites ?? null;
    const warnings = (metadata?.warnings ?? []).map(
      (w) => `${w.file}:${w.line}:${w.column}: ${w.construct} left uninstrumented: ${w.reason}`,
    );
    // Nothing to instrument and no types to strip: the input is the output, as it was.
    if (sites === null && !typescript)
      return { code, map: null, sites: null, alreadyInstrumented: false, warnings, sourceMapWarning };
    let output = result.code;
    if (request.verify) verifyOutput(output, request, ext);
    if (separate) output += `\n//# sourceMappingURL=${basename(request.filename)}.map\n`;
    const map = separate ? (result.map ?? null) : null;
    // The input map's sources are relative to the input's directory: rebased on the output's.
    if (map !== null && input.map !== null && request.outputFile !== undefined) {
      map.sources = rebaseSources(map.sources, dirname(request.filename), dirname(request.outputFile)).map(
        (source) => source ?? '',
      );
    }
    return { code: output, map, sites, alreadyInstrumented: false, warnings, sourceMapWarning };
  } catch (cause) {
    throw instrumentError(request.filename, cause);
  }
}

/**
 * How Node loads a file no package.json `type` decides: it strips TypeScript's types, then runs
 * the file as CommonJS unless it has module syntax (an `import` or `export` that is not only
 * types, `import.meta`, a top-level `await`). `import type`, `export type`, `export interface`
 * and `export declare` vanish with the types; `import { type T } from 'x'` stays (as `import {}
 * from 'x'`, an ES module). A file that does not parse as a module (a top-level `return` does,
 * here) is CommonJS; if it is no script either, the transform reports its syntax error.
 */
export function detectFormat(code: string, filename: string, ext = extname(filename)): 'module' | 'commonjs' {
  const program = parseAs(code, filename, ext, 'module');
  // Sloppy-only syntax (`with`, octal literals, ...): CommonJS if it parses as a script; if
  // neither parses, the module's syntax error is the one to report, as Node would.
  if (program === null) return parseAs(code, filename, ext, 'commonjs') === null ? 'module' : 'commonjs';
  for (const statement of program.body) {
    if (t.isImportDeclaration(statement)) {
      if (statement.importKind !== 'type' && statement.importKind !== 'typeof') return 'module';
    } else if (t.isExportNamedDeclaration(statement)) {
      if (statement.exportKind === 'type') continue;
      const declaration = statement.declaration;
      if (declaration == null || !isTypeOnly(declaration)) return 'module';
    } else if (t.isExportAllDeclaration(statement)) {
      if (statement.exportKind !== 'type') return 'module';
    } else if (t.isExportDefaultDeclaration(statement)) {
      if (!isTypeOnly(statement.declaration)) return 'module';
    } else if (t.isTSExportAssignment(statement) || t.isTSImportEqualsDeclaration(statement)) {
      // TypeScript's own CommonJS syntax: Node's type stripping refuses it; Babel's turns it into
      // `module.exports =` and `require()`.
      return 'commonjs';
    }
  }
  let module = false;
  // `import.meta` anywhere.
  t.traverseFast(program, (node) => {
    if (t.isMetaProperty(node) && node.meta.name === 'import' && node.property.name === 'meta') {
      module = true;
      return t.traverseFast.stop;
    }
  });
  // A top-level `await` or `for await` (not in a function, nor a class body, where it cannot be).
  t.traverseFast(program, (node) => {
    if (module) return t.traverseFast.stop;
    if (t.isFunction(node) || t.isClassBody(node)) return t.traverseFast.skip;
    if (t.isAwaitExpression(node) || (t.isForOfStatement(node) && node.await)) {
      module = true;
      return t.traverseFast.stop;
    }
  });
  return module ? 'module' : 'commonjs';
}

/** `code` parsed as the transform would parse it as `sourceType`, or null if it does not parse. */
function parseAs(
  code: string,
  filename: string,
  ext: string,
  sourceType: 'module' | 'commonjs',
): t.Program | null {
  try {
    const file = parseSync(code, {
      filename,
      sourceType,
      babelrc: false,
      configFile: false,
      browserslistConfigFile: false,
      // The TypeScript syntax as the transform enables it (through the plugin).
      plugins: TYPESCRIPT.has(ext)
        ? [[stripTypes, { disallowAmbiguousJSXLike: ext !== '.tsx' && ext !== '.ts' }]]
        : [],
      parserOpts: {
        plugins: JSX.has(ext) ? ['jsx'] : [],
        // A module with a top-level `return` is CommonJS (`sourceType: 'commonjs'` allows it).
        ...(sourceType === 'module' ? { allowReturnOutsideFunction: true } : {}),
      },
    });
    return file?.program ?? null;
  } catch {
    return null;
  }
}

/** Is `declaration` (exported) only a type, gone once types are stripped? */
function isTypeOnly(declaration: t.Node): boolean {
  return (
    t.isTSInterfaceDeclaration(declaration) ||
    t.isTSTypeAliasDeclaration(declaration) ||
    t.isTSDeclareFunction(declaration) ||
    ('declare' in declaration && declaration.declare === true)
  );
}

/** Throws when `output` (instrumented JavaScript, JSX kept) does not parse as its format. */
export function verifyOutput(output: string, request: TransformRequest, ext: string): void {
  try {
    parseSync(output, {
      filename: request.filename,
      sourceType: request.format === 'commonjs' ? 'script' : request.format,
      babelrc: false,
      configFile: false,
      browserslistConfigFile: false,
      parserOpts: {
        plugins: JSX.has(ext) ? ['jsx'] : [],
        allowReturnOutsideFunction: request.format === 'commonjs',
      },
    });
  } catch (cause) {
    throw new Error(
      `the instrumented output does not parse (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`,
      {
        cause,
      },
    );
  }
}
