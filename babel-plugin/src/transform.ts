/**
 * Instruments one source file: parses JavaScript or TypeScript (with JSX where the extension
 * allows it), applies the plugin, strips TypeScript types, and returns JavaScript with an inline
 * source map pointing back to the original.
 */

import { extname } from 'node:path';
import { type PluginItem, transformSync } from '@babel/core';
import stripTypes from '@babel/plugin-transform-typescript';
import { instrumentError } from './errors.ts';
import causewayPlugin from './index.ts';
import type { InstrumentOptions } from './options.ts';

export interface TransformRequest extends InstrumentOptions {
  /** Absolute path of the file; its extension selects the syntax. */
  filename: string;
  /** `module` for ES modules, `commonjs` for CommonJS. */
  format: 'module' | 'commonjs';
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JSX = new Set(['.js', '.jsx', '.tsx']);

/** True for the extensions `instrumentSource` understands. */
export function isInstrumentable(filename: string): boolean {
  const ext = extname(filename);
  return TYPESCRIPT.has(ext) || JSX.has(ext) || ext === '.mjs' || ext === '.cjs';
}

/** Returns the instrumented JavaScript for `code`, or throws a CausewayError naming the file. */
export function instrumentSource(code: string, request: TransformRequest): string {
  const ext = extname(request.filename);
  const plugins: PluginItem[] = [
    [
      causewayPlugin,
      {
        runtimeModule: request.runtimeModule,
        root: request.root,
        format: request.format,
        accesses: request.accesses,
      } satisfies InstrumentOptions,
    ],
  ];
  const typescript = TYPESCRIPT.has(ext);
  if (typescript) {
    plugins.push([stripTypes, { disallowAmbiguousJSXLike: ext !== '.tsx' && ext !== '.ts' }]);
  }
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
      sourceMaps: 'inline',
      retainLines: true,
    });
    if (result?.code == null) throw new Error('Babel returned no code');
    return result.code;
  } catch (cause) {
    throw instrumentError(request.filename, cause);
  }
}
