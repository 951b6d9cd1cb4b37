/**
 * What the plugin keeps while instrumenting one file: its site table, the identifiers it
 * generated, and which nodes are its own (so they are never instrumented again).
 */

import { dirname, relative, resolve, sep } from 'node:path';
import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { EVENT_FORMAT_VERSION, SiteKind, type SiteRow, type SiteTable } from '@causeway/core/event-format';
import type { ResolvedOptions } from './options.ts';
import { InputSourceMap, type SourceMapObject } from './source-map.ts';

/** A construct left uninstrumented (guard.ts), at its position in the original source. */
export interface InstrumentWarning {
  /** The site table's file: relative to the instrumentation root. */
  file: string;
  line: number;
  column: number;
  construct: string;
  reason: string;
}

interface Temporaries {
  object: t.Identifier | null;
  key: t.Identifier | null;
  undeclared: t.Identifier[];
}

export class FileState {
  readonly options: ResolvedOptions;
  readonly file: string;
  /** The namespace the probes are imported as. */
  readonly probes: t.Identifier;
  /** The variable holding the first global site id of this file. */
  readonly siteBase: t.Identifier;
  /**
   * The function that registers the site table and creates the shared variables' object (index.ts):
   * the header calls it, and so does an ES module's top-level function declaration called before
   * the module's body ran (an import cycle), if it was not called yet.
   */
  readonly register: t.Identifier;
  /** Allocated when top-level await is seen: the module's own invocation id. */
  moduleInvocation: t.Identifier | null = null;
  readonly warnings: InstrumentWarning[] = [];
  /** Set by guard.ts while a rewrite runs that a test made fail: `call` throws. */
  failing = false;
  readonly #sites: SiteRow[] = [];
  readonly #generated = new WeakSet<t.Node>();
  readonly #invocations = new WeakMap<t.Node, t.Identifier>();
  /** Function sites handed out, with their index in the table (a Map: rollbackSites walks it). */
  readonly #functionSites = new Map<t.Node, { site: t.Expression; index: number }>();
  readonly #suspendedFlags = new WeakMap<t.Node, t.Identifier>();
  readonly #temporaries = new WeakMap<t.Node, Temporaries>();
  readonly #program: NodePath<t.Program>;

  /**
   * The input's source map, when the file was generated from one original source: sites then
   * name that source and their positions in it.
   */
  readonly #inputMap: InputSourceMap | null = null;

  constructor(
    program: NodePath<t.Program>,
    filename: string | undefined,
    options: ResolvedOptions,
    inputMap: SourceMapObject | null = null,
  ) {
    this.options = options;
    this.#program = program;
    let file = filename;
    if (inputMap !== null && filename !== undefined) {
      const map = readableMap(inputMap);
      const source = map?.sources.length === 1 ? map.sources[0] : undefined;
      // A map from a bundle (several sources) cannot be expressed in one site table: such a
      // file's sites keep its own positions.
      if (map !== null && source !== undefined && source !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(source)) {
        this.#inputMap = map;
        file = resolve(dirname(filename), source);
      }
    }
    this.file = file === undefined ? '<unknown>' : relative(options.root, file).split(sep).join('/');
    this.probes = program.scope.generateUidIdentifier('cw');
    this.siteBase = program.scope.generateUidIdentifier('cwSites');
    this.register = program.scope.generateUidIdentifier('cwRegister');
  }

  /** Is the output an ES module (else CommonJS)? */
  get isModule(): boolean {
    return (
      (this.options.format ?? (this.#program.node.sourceType === 'module' ? 'module' : 'commonjs')) ===
      'module'
    );
  }

  /** `_cwSites ?? _cwRegister()`: registers the site table unless that was done. */
  ensureRegistered(): t.Statement {
    return this.mark(
      t.expressionStatement(
        this.mark(
          t.logicalExpression(
            '??',
            t.cloneNode(this.siteBase),
            this.mark(t.callExpression(t.cloneNode(this.register), [])),
          ),
        ),
      ),
    );
  }

  /** The position of `node` in the original source (1-based line and column; 0 when unknown). */
  position(node: t.Node): { line: number; column: number } {
    let start: { line: number; column: number } | null = node.loc?.start ?? null;
    if (start !== null && this.#inputMap !== null)
      start = this.#inputMap.originalPosition(start.line, start.column);
    return { line: start?.line ?? 0, column: (start?.column ?? -1) + 1 };
  }

  /** Records that the construct at `node` was left as written because rewriting it threw `error`. */
  warn(node: t.Node, construct: string, error: unknown): void {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    this.warnings.push({ file: this.file, ...this.position(node), construct, reason });
  }

  /** Adds a site for `node` and returns the expression for its global id (`_cwSites + n`). */
  site(kind: SiteKind, node: t.Node, functionName: string, name = ''): t.Expression {
    const { line, column } = this.position(node);
    this.#sites.push([kind, line, column, functionName, name]);
    return t.binaryExpression('+', t.cloneNode(this.siteBase), t.numericLiteral(this.#sites.length - 1));
  }

  get siteCount(): number {
    return this.#sites.length;
  }

  /** Forgets the sites added since there were `count` (a rewrite that failed: guard.ts). */
  rollbackSites(count: number): void {
    if (this.#sites.length <= count) return;
    this.#sites.length = count;
    for (const [node, { index }] of this.#functionSites) {
      if (index >= count) this.#functionSites.delete(node);
    }
  }

  table(): SiteTable {
    return { v: EVENT_FORMAT_VERSION, file: this.file, sites: this.#sites };
  }

  /** `_cw.name(...args)`, marked as generated (the call and its callee, never taken for a property read). */
  call(name: string, args: t.Expression[]): t.CallExpression {
    if (this.failing) throw new Error('failure injected by the failConstructs option');
    const callee = this.mark(t.memberExpression(t.cloneNode(this.probes), t.identifier(name)));
    return this.mark(t.callExpression(callee, args));
  }

  mark<N extends t.Node>(node: N): N {
    this.#generated.add(node);
    return node;
  }

  isGenerated(node: t.Node): boolean {
    return this.#generated.has(node);
  }

  /** The identifier holding the invocation id of async function `fn`, created on first request. */
  invocationOf(fn: NodePath<t.Function>): t.Identifier {
    let id = this.#invocations.get(fn.node);
    if (id === undefined) {
      id = fn.scope.generateUidIdentifier('cwInvocation');
      this.#invocations.set(fn.node, id);
    }
    return id;
  }

  /**
   * The site of function `fn`, added on first request: a generator's yields name it before the
   * function itself is instrumented.
   */
  functionSite(fn: NodePath<t.Function>, name: string): t.Expression {
    let entry = this.#functionSites.get(fn.node);
    if (entry === undefined) {
      entry = { site: this.site(SiteKind.Function, fn.node, name), index: this.#sites.length - 1 };
      this.#functionSites.set(fn.node, entry);
    }
    return t.cloneNode(entry.site);
  }

  /** The local variable of sync generator `fn` that says it is suspended at a yield. */
  suspendedFlag(fn: NodePath<t.Function>): t.Identifier {
    let id = this.#suspendedFlags.get(fn.node);
    if (id === undefined) {
      id = fn.scope.generateUidIdentifier('cwSuspended');
      this.#suspendedFlags.set(fn.node, id);
    }
    return t.cloneNode(id);
  }

  /**
   * A temporary variable of `scope` (a function, static block or the program) for property
   * accesses: its shared object or key temporary, or with `fresh` a new object temporary that
   * only one access uses. Declaring it is `takeTemporaries`' caller's job.
   */
  temporary(scope: NodePath, role: 'object' | 'key', fresh = false): t.Identifier {
    let temps = this.#temporaries.get(scope.node);
    if (temps === undefined) {
      temps = { object: null, key: null, undeclared: [] };
      this.#temporaries.set(scope.node, temps);
    }
    const shared = fresh ? null : temps[role];
    if (shared !== null) return t.cloneNode(shared);
    const id = scope.scope.generateUidIdentifier(role === 'object' ? 'cwObj' : 'cwKey');
    temps.undeclared.push(id);
    if (!fresh) temps[role] = id;
    return t.cloneNode(id);
  }

  /** The temporaries of `scope` handed out and not declared yet; the caller declares them. */
  takeTemporaries(scope: t.Node): t.Identifier[] {
    const temps = this.#temporaries.get(scope);
    if (temps === undefined) return [];
    return temps.undeclared.splice(0);
  }

  /** The module's invocation id, for top-level await. */
  topLevelInvocation(): t.Identifier {
    this.moduleInvocation ??= this.#program.scope.generateUidIdentifier('cwModule');
    return this.moduleInvocation;
  }
}

/** The map, or null when it cannot be read (a broken map is ignored: sites keep their positions). */
function readableMap(map: SourceMapObject): InputSourceMap | null {
  try {
    return new InputSourceMap(map);
  } catch {
    return null;
  }
}
