/**
 * Where the TUI gets its traces. The UI only knows this interface: a list of traces, and a way
 * to open one. FileTraceSource reads trace files from disk; ServerSource (server-source.ts) reads
 * a Causeway server's REST API.
 */

import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readTraceFile, readTraceMeta, TRACE_FILE_EXTENSION } from '@causeway/core';
import { SourceLines, sourceRootsFor } from './source-lines.ts';
import { TraceModel } from './trace-model.ts';
import type { TraceView } from './trace-view.ts';

export interface TraceEntry {
  /** What `open` takes back: a file path, or a server's trace id. */
  id: string;
  /** Short name for the traces pane. */
  name: string;
  /** One line about it: service, start time, size. */
  detail: string;
}

export interface TraceSource {
  /** Where the traces come from, for the header and messages. */
  readonly description: string;
  /** The traces to choose from, newest first. */
  list(): Promise<TraceEntry[]>;
  /** Reads one, unanalysed; throws a CausewayError when it cannot be read. The caller disposes the model. */
  open(entry: TraceEntry): Promise<TraceView>;
  /**
   * Hears of new or changed traces as they happen (a server's live stream); returns the function
   * that stops listening. Absent when the source has no such news: `r` re-reads the list.
   */
  watch?(onChange: () => void, onProblem: (message: string | null) => void): () => void;
}

export interface FileSourceOptions {
  /** One trace file to show; when absent, every trace file in `directory`. */
  file?: string;
  /** Defaults to `.causeway/traces` under the current directory. */
  directory?: string;
}

export class FileTraceSource implements TraceSource {
  readonly description: string;
  readonly #file: string | null;
  readonly #directory: string;

  constructor(options: FileSourceOptions = {}) {
    this.#file = options.file ?? null;
    this.#directory = resolve(options.directory ?? join('.causeway', 'traces'));
    this.description = options.file ?? options.directory ?? join('.causeway', 'traces');
  }

  async list(): Promise<TraceEntry[]> {
    if (this.#file !== null) return [entryFor(this.#file)];
    let names: string[];
    try {
      names = readdirSync(this.#directory);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith(TRACE_FILE_EXTENSION))
      .map((name) => {
        const path = join(this.#directory, name);
        return { path, modified: modifiedMs(path) };
      })
      .sort((a, b) => b.modified - a.modified || a.path.localeCompare(b.path))
      .map(({ path }) => entryFor(path));
  }

  async open(entry: TraceEntry): Promise<TraceModel> {
    return openTraceFile(entry.id, entry.name);
  }
}

/**
 * Reads one trace file, ready to show (its analysis runs once it is on screen): what
 * `causeway tui <file>` checks before the UI starts. Throws a CausewayError for a bad file.
 */
export function openTraceFile(path: string, name = basename(path)): TraceModel {
  return new TraceModel(name, path, readTraceFile(path), new SourceLines(sourceRootsFor(path)));
}

function modifiedMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function entryFor(path: string): TraceEntry {
  let detail = '';
  try {
    const meta = readTraceMeta(path);
    const size = statSync(path).size;
    detail = `${meta === null ? 'unreadable' : `${meta.service} · ${meta.startedAt.replace('T', ' ').slice(0, 19)}`} · ${formatSize(size)}`;
  } catch {
    detail = 'unreadable';
  }
  return { id: path, name: basename(path), detail };
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
