/**
 * The on-disk cache of on-the-fly instrumentation: a file's instrumented code, keyed by everything
 * that decides it (the source text, its path, the module format, the options, the probes module
 * it imports, and the instrumenter itself: the plugin's own source files and the Babel versions).
 * A process that loads a file the cache has skips Babel entirely. Every failure to read or write
 * the cache is silent: the file is then instrumented as if there were no cache.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

function version(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/** A hash of what the instrumenter is: its source files and the Babel it runs on. */
function instrumenterIdentity(): string {
  const hash = createHash('sha256');
  const pluginSrc = dirname(fileURLToPath(import.meta.resolve('@causeway/babel-plugin')));
  const files = readdirSync(pluginSrc, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  hash.update(version('@babel/core')).update('\0').update(version('@babel/plugin-transform-typescript'));
  return hash.digest('hex');
}

export class TransformCache {
  readonly dir: string;
  readonly #identity: string;
  #writes = 0;

  constructor(dir: string) {
    this.dir = dir;
    this.#identity = instrumenterIdentity();
  }

  /** The key of one transformation: `parts` are its inputs (the source text last). */
  key(parts: readonly string[]): string {
    const hash = createHash('sha256').update(this.#identity);
    for (const part of parts) hash.update('\0').update(part);
    return hash.digest('hex');
  }

  get(key: string): string | null {
    try {
      return readFileSync(join(this.dir, `${key}.js`), 'utf8');
    } catch {
      return null;
    }
  }

  /**
   * The warnings stored with the entry `key` (constructs the plugin left uninstrumented), so a
   * process served from the cache gives them as one that instrumented the file would.
   */
  warnings(key: string): string[] {
    try {
      const stored = JSON.parse(readFileSync(join(this.dir, `${key}.warnings.json`), 'utf8')) as unknown;
      return Array.isArray(stored) ? stored.filter((w): w is string => typeof w === 'string') : [];
    } catch {
      return [];
    }
  }

  /**
   * Stores `code` under `key`, with its `warnings` if any (written first, so whoever finds the
   * code finds them too): each written to a temporary name, then renamed (never a torn file).
   */
  set(key: string, code: string, warnings: readonly string[] = []): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      if (warnings.length > 0) this.#write(`${key}.warnings.json`, JSON.stringify(warnings));
      this.#write(`${key}.js`, code);
    } catch {
      // A read-only or full disk: the next run instruments the file again.
    }
  }

  #write(name: string, text: string): void {
    const temporary = join(this.dir, `${name}.${process.pid}.${this.#writes++}.tmp`);
    writeFileSync(temporary, text);
    renameSync(temporary, join(this.dir, name));
  }
}
