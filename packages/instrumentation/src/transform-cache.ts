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

  /** Stores `code` under `key`: written to a temporary name, then renamed (never a torn file). */
  set(key: string, code: string): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const temporary = join(this.dir, `${key}.${process.pid}.${this.#writes++}.tmp`);
      writeFileSync(temporary, code);
      renameSync(temporary, join(this.dir, `${key}.js`));
    } catch {
      // A read-only or full disk: the next run instruments the file again.
    }
  }
}
