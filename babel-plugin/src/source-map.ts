/**
 * Reading an input source map (version 3), to give sites the position they have in the original
 * source when the file being instrumented was itself generated (by tsc, a bundler, a prior Babel
 * run). Only lookups are needed; Babel chains the maps of the output itself.
 */

import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface SourceMapObject {
  version: number;
  sources: (string | null)[];
  mappings: string;
  sourceRoot?: string;
  file?: string;
  names?: string[];
  sourcesContent?: (string | null)[];
}

export interface OriginalPosition {
  /** Index into the map's `sources`. */
  source: number;
  /** 1-based line. */
  line: number;
  /** 0-based column. */
  column: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/** One mapped segment of a generated line: [generated column, source, line (0-based), column]. */
type Segment = [number, number, number, number];

/** Decodes the VLQ `mappings` of a source map into segments per generated line, sorted by column. */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let line: Segment[] = [];
  let source = 0;
  let sourceLine = 0;
  let sourceColumn = 0;
  let i = 0;
  const fields: number[] = [];
  while (i <= mappings.length) {
    const char = mappings[i];
    if (char === ';' || char === undefined) {
      line.sort((a, b) => a[0] - b[0]);
      lines.push(line);
      line = [];
      i++;
      continue;
    }
    if (char === ',') {
      i++;
      continue;
    }
    // One segment: up to five VLQ fields, until the next ',' or ';'.
    fields.length = 0;
    while (i < mappings.length && mappings[i] !== ',' && mappings[i] !== ';') {
      let value = 0;
      let shift = 0;
      let digit: number;
      do {
        digit = DIGIT[mappings.charCodeAt(i++)] ?? -1;
        if (digit < 0) throw new Error('invalid character in source map mappings');
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    }
    const generatedColumn = (fields[0] ?? 0) + previousColumn(line);
    if (fields.length >= 4) {
      source += fields[1] ?? 0;
      sourceLine += fields[2] ?? 0;
      sourceColumn += fields[3] ?? 0;
      line.push([generatedColumn, source, sourceLine, sourceColumn]);
    } else {
      // A segment with no source: nothing maps here. Kept as a boundary with source -1.
      line.push([generatedColumn, -1, 0, 0]);
    }
  }
  return lines;
}

/** The generated column of the last segment added to `line` (columns are relative within a line). */
function previousColumn(line: Segment[]): number {
  return line[line.length - 1]?.[0] ?? 0;
}

/** Positions in the original source of positions in a generated file, through its source map. */
export class InputSourceMap {
  readonly sources: readonly string[];
  readonly #lines: Segment[][];

  constructor(map: SourceMapObject) {
    const root = map.sourceRoot ? map.sourceRoot.replace(/\/?$/, '/') : '';
    this.sources = map.sources.map((source) => (source === null ? '' : root + source));
    this.#lines = decodeMappings(map.mappings);
  }

  /**
   * Where the generated position (1-based line, 0-based column) came from: the closest mapped
   * segment at or before it on its line, or null where nothing maps.
   */
  originalPosition(line: number, column: number): OriginalPosition | null {
    const segments = this.#lines[line - 1];
    if (segments === undefined || segments.length === 0) return null;
    let low = 0;
    let high = segments.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((segments[mid]?.[0] ?? 0) <= column) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    // Before the first segment of the line: take the first (a statement's indentation).
    const segment = segments[found < 0 ? 0 : found];
    if (segment === undefined || segment[1] < 0) return null;
    return { source: segment[1], line: segment[2] + 1, column: segment[3] };
  }
}

/** A `sourceMappingURL` comment on a line of its own (a line or block comment); the last one counts. */
const MAP_COMMENT =
  /^[ \t]*(?:\/\/[#@][ \t]+sourceMappingURL=([^\s'"`]+)[ \t]*|\/\*[#@][ \t]+sourceMappingURL=([^\s'"`*]+)[ \t]*\*\/[ \t]*)$/gm;

/** Is `comment` (a comment's text, without its delimiters) a `sourceMappingURL` comment? */
export function isMapComment(comment: string): boolean {
  return /^[#@][ \t]+sourceMappingURL=/.test(comment.trim());
}

/** A source that is a URL (`webpack://…`, `file:…`): left as it is. */
const URL_SOURCE = /^[a-z][a-z0-9+.-]*:/i;

export interface LoadedInputMap {
  /** The map, its sources relative to the input file's directory (no `sourceRoot`); null if none. */
  map: SourceMapObject | null;
  /** Why the map the file names could not be used (one line), or null. */
  problem: string | null;
}

/**
 * The source map `code` (the file `filename`) names in its last `sourceMappingURL` comment: a
 * `data:` URL, or a file relative to `filename`. Its sources are rebased on the input file's
 * directory (a map file elsewhere, a `sourceRoot`), so that they resolve against the file itself.
 * A map that cannot be read or is not a version 3 map gives `problem` instead, never an exception.
 */
export function loadInputMap(code: string, filename: string): LoadedInputMap {
  let url: string | undefined;
  for (const match of code.matchAll(MAP_COMMENT)) url = match[1] ?? match[2];
  if (url === undefined) return { map: null, problem: null };
  let text: string;
  let base: string;
  try {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma < 0) throw new Error('a data URL without data');
      const header = url.slice(5, comma);
      const data = url.slice(comma + 1);
      if (!/^(?:application|text)\/json\b/i.test(header)) throw new Error(`a data URL of type ${header}`);
      text = /;base64$/i.test(header)
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeURIComponent(data);
      base = dirname(filename);
    } else {
      const location = new URL(url, pathToFileURL(filename));
      if (location.protocol !== 'file:') throw new Error('not a local file');
      const path = fileURLToPath(location);
      text = readFileSync(path, 'utf8');
      base = dirname(path);
    }
  } catch (error) {
    return { map: null, problem: `${describe(url)}: ${reason(error)}` };
  }
  let map: SourceMapObject;
  try {
    map = JSON.parse(text) as SourceMapObject;
    if (
      map === null ||
      typeof map !== 'object' ||
      map.version !== 3 ||
      typeof map.mappings !== 'string' ||
      !Array.isArray(map.sources)
    ) {
      throw new Error('not a version 3 source map');
    }
  } catch (error) {
    return { map: null, problem: `${describe(url)}: ${reason(error)}` };
  }
  const root = typeof map.sourceRoot === 'string' ? map.sourceRoot : '';
  const here = dirname(filename);
  const sources = map.sources.map((source) => {
    if (source === null) return null;
    const full = root === '' ? source : `${root.replace(/\/?$/, '/')}${source}`;
    if (URL_SOURCE.test(full)) return full;
    return toPosix(relative(here, resolve(base, full)));
  });
  return { map: { ...map, sources, sourceRoot: undefined }, problem: null };
}

/**
 * `sources` (relative to the input file's directory, as loadInputMap leaves them) made relative
 * to `outputDir`, where the output and its map are written.
 */
export function rebaseSources(
  sources: readonly (string | null)[],
  inputDir: string,
  outputDir: string,
): (string | null)[] {
  return sources.map((source) =>
    source === null || URL_SOURCE.test(source)
      ? source
      : toPosix(relative(outputDir, resolve(inputDir, source))),
  );
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** The map's URL as a warning names it (an inline map's data left out). */
function describe(url: string): string {
  return url.startsWith('data:') ? 'its inline source map' : `its source map ${url}`;
}

function reason(error: unknown): string {
  if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 'no such file';
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}
