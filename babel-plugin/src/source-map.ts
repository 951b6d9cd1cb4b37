/**
 * Reading an input source map (version 3), to give sites the position they have in the original
 * source when the file being instrumented was itself generated (by tsc, a bundler, a prior Babel
 * run). Only lookups are needed; Babel chains the maps of the output itself.
 */

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
