/**
 * Source lines for the details pane, read from disk when the site's file is there. A site names
 * its file as the instrumenter saw it (usually relative to the recorded program's directory), so
 * each file is looked for under a few roots: the project the trace was recorded in, then the
 * current directory. Files are read once.
 */

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

export class SourceLines {
  readonly #roots: readonly string[];
  readonly #files = new Map<string, string[] | null>();

  constructor(roots: readonly string[]) {
    this.#roots = roots;
  }

  /** Line `line` (1-based) of `file`, without its end of line; null when the file or line is not there. */
  line(file: string, line: number): string | null {
    const lines = this.#read(file);
    if (lines === null || line < 1 || line > lines.length) return null;
    return lines[line - 1] as string;
  }

  #read(file: string): string[] | null {
    const cached = this.#files.get(file);
    if (cached !== undefined) return cached;
    let lines: string[] | null = null;
    for (const candidate of isAbsolute(file) ? [file] : this.#roots.map((root) => resolve(root, file))) {
      try {
        lines = readFileSync(candidate, 'utf8').split(/\r?\n/);
        break;
      } catch {
        // Not under this root: try the next.
      }
    }
    this.#files.set(file, lines);
    return lines;
  }
}

/**
 * Where to look for the sources of a trace at `tracePath`: traces are written to
 * `<project>/.causeway/traces/`, so the project is two folders up; then the current directory.
 */
export function sourceRootsFor(tracePath: string, cwd = process.cwd()): string[] {
  const dir = dirname(resolve(tracePath));
  const roots: string[] = [];
  if (basename(dir) === 'traces' && basename(dirname(dir)) === '.causeway') roots.push(dirname(dirname(dir)));
  roots.push(cwd, dir);
  return roots;
}
