/**
 * Turns a global site id from a record into what it means: file, line, column, function. Site
 * ids are per stream; each registered table covers ids [base, base + its length).
 */

import { SITE_KIND_NAMES, type SiteKind } from './format/event-format.ts';
import type { SitesChunk } from './format/trace-file.ts';

export interface Site {
  id: number;
  kind: SiteKind;
  kindName: string;
  file: string;
  line: number;
  column: number;
  functionName: string;
  name: string;
}

export class SiteIndex {
  /** Per stream, tables sorted by base. */
  readonly #byStream = new Map<number, SitesChunk[]>();

  constructor(chunks: readonly SitesChunk[]) {
    for (const chunk of chunks) {
      let list = this.#byStream.get(chunk.stream);
      if (list === undefined) {
        list = [];
        this.#byStream.set(chunk.stream, list);
      }
      list.push(chunk);
    }
    for (const list of this.#byStream.values()) list.sort((x, y) => x.base - y.base);
  }

  /** The site `id` of `stream`, or null for 0 and for ids no table covers. */
  lookup(stream: number, id: number): Site | null {
    if (id === 0) return null;
    const list = this.#byStream.get(stream);
    if (list === undefined) return null;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const chunk = list[mid] as SitesChunk;
      if (id < chunk.base) hi = mid - 1;
      else if (id >= chunk.base + chunk.table.sites.length) lo = mid + 1;
      else {
        const [kind, line, column, functionName, name] = chunk.table.sites[
          id - chunk.base
        ] as SitesChunk['table']['sites'][number];
        return {
          id,
          kind,
          kindName: SITE_KIND_NAMES[kind] ?? `kind ${kind}`,
          file: chunk.table.file,
          line,
          column,
          functionName,
          name,
        };
      }
    }
    return null;
  }
}

/** `src/account.ts:12:5` */
export function siteLocation(site: Site): string {
  return `${site.file}:${site.line}:${site.column}`;
}
