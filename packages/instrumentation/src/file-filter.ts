/**
 * Which source files are instrumented, by include and exclude globs matched against the path
 * relative to the instrumentation root, written with `/`: one rule for `causeway instrument`
 * (its --include/--exclude) and for on-the-fly loading (CAUSEWAY_INCLUDE/CAUSEWAY_EXCLUDE). A
 * leading `./` is allowed (`./src/**` is `src/**`).
 */

import { matchesGlob } from 'node:path';

export interface FileFilter {
  /** When not empty, only files matching one of these are instrumented. */
  include: readonly string[];
  /** Files matching one of these are not instrumented. */
  exclude: readonly string[];
}

export const NO_FILTER: FileFilter = { include: [], exclude: [] };

/** `glob` as matched: a leading `./` (which no relative path starts with) left out. */
export function normaliseGlob(glob: string): string {
  let normalised = glob;
  while (normalised.startsWith('./')) normalised = normalised.slice(2);
  return normalised;
}

/** Does `relativePath` match `glob` (after normaliseGlob)? */
export function matchesFileGlob(relativePath: string, glob: string): boolean {
  return matchesGlob(relativePath, normaliseGlob(glob));
}

/** Why the filter leaves `relativePath` alone: not included, or the exclude glob it matched; null to instrument it. */
export function filteredOut(
  relativePath: string,
  filter: FileFilter,
): { reason: 'not-included' } | { reason: 'excluded'; glob: string } | null {
  if (filter.include.length > 0 && !filter.include.some((glob) => matchesFileGlob(relativePath, glob))) {
    return { reason: 'not-included' };
  }
  const glob = filter.exclude.find((g) => matchesFileGlob(relativePath, g));
  return glob === undefined ? null : { reason: 'excluded', glob };
}

/** Globs from a comma-separated setting (`src/**,lib/**`); empty entries are dropped. */
export function globList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((glob) => glob.trim())
    .filter((glob) => glob !== '');
}
