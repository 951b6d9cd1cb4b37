/**
 * @causeway/babel-plugin: instruments functions, awaits and property accesses with calls to
 * Causeway's probes, and gives each instrumented file a site table (what each site id means, where
 * it is in the source).
 *
 * The plugin does all its work in one traversal started from `Program` enter, before any other
 * plugin of the same pass changes the tree, and writes the file's header on `Program` exit, after
 * other plugins (TypeScript's import elision among them) have looked at the imports.
 *
 * What the output looks like is described in docs/instrumentation.md.
 */

import type { NodePath, PluginAPI, PluginObject, PluginPass } from '@babel/core';
import { types as t } from '@babel/core';
import type { SiteTable } from '@causeway/core/event-format';
import { declareTemporaries } from './constructs/accesses.ts';
import { findSharedVariables, programVariablesObject } from './constructs/variables.ts';
import { FileState, type InstrumentWarning } from './file-state.ts';
import { type InstrumentOptions, resolveOptions } from './options.ts';
import type { SourceMapObject } from './source-map.ts';
import { instrumentationVisitor } from './visitor.ts';

export type { InstrumentWarning } from './file-state.ts';
export type { AccessLevel, InstrumentOptions } from './options.ts';
export { DEFAULT_RUNTIME_MODULE } from './options.ts';

const STATE_KEY = Symbol('causeway');

/** What the plugin leaves in Babel's `result.metadata.causeway` for its callers (transform.ts). */
export interface CausewayMetadata {
  /** The input was this plugin's output already: it was left as it was. */
  alreadyInstrumented: boolean;
  /** The file's site table, or null when it has no sites. */
  sites: SiteTable | null;
  /** Constructs left as written because the plugin could not rewrite them (guard.ts). */
  warnings: InstrumentWarning[];
}

/**
 * True when `program` is this plugin's output, whatever its probes module (`--runtime`): it binds
 * a namespace by `import * as` or `require()` and registers a site table through it, in the
 * header's shape (`function _cwRegister() { _cwSites = _cw.registerSites({ v, file, sites }); ... }`,
 * or `var _cwSites = _cw.registerSites(...)` of earlier versions).
 */
function isInstrumented(program: t.Program): boolean {
  const namespaces = new Set<string>();
  /** Is `node` `ns.registerSites({ v: 1, file: "...", sites: [...] })` through a bound namespace? */
  const isRegistration = (node: t.Node | null | undefined): boolean => {
    if (!t.isCallExpression(node) || !t.isMemberExpression(node.callee)) return false;
    const { object, property } = node.callee;
    const table = node.arguments[0];
    if (!t.isIdentifier(object) || !namespaces.has(object.name)) return false;
    if (!t.isIdentifier(property, { name: 'registerSites' }) || !t.isObjectExpression(table)) return false;
    const keys = table.properties.map((p) =>
      t.isObjectProperty(p) && t.isIdentifier(p.key) ? p.key.name : '',
    );
    return keys.join() === 'v,file,sites';
  };
  for (const statement of program.body) {
    if (t.isImportDeclaration(statement)) {
      for (const specifier of statement.specifiers) {
        if (t.isImportNamespaceSpecifier(specifier)) namespaces.add(specifier.local.name);
      }
    } else if (t.isVariableDeclaration(statement)) {
      for (const { id, init } of statement.declarations) {
        if (!t.isIdentifier(id)) continue;
        if (
          t.isCallExpression(init) &&
          t.isIdentifier(init.callee, { name: 'require' }) &&
          t.isStringLiteral(init.arguments[0])
        ) {
          namespaces.add(id.name);
        }
        if (isRegistration(init)) return true;
      }
    } else if (t.isFunctionDeclaration(statement)) {
      const first = statement.body.body[0];
      if (
        t.isExpressionStatement(first) &&
        t.isAssignmentExpression(first.expression) &&
        isRegistration(first.expression.right)
      ) {
        return true;
      }
    }
  }
  return false;
}

/**
 * The file's header: the probes' import (or require), then the site table's registration, in a
 * function of its own, hoisted, so that a top-level function declaration of an ES module called
 * through an import cycle before the module's body ran can register the table first
 * (functions.ts); the body registers it unless that happened:
 *
 *   import * as _cw from "<runtime>";
 *   var _cwSites, _cwVars;
 *   function _cwRegister() { _cwSites = _cw.registerSites({ v: 1, file, sites }); _cwVars = {}; }
 *   _cwSites ?? _cwRegister();
 *
 * (`var`s: before any registration, a site reads as `undefined + n`, which the probes record as
 * "no site", instead of a TDZ error thrown into the application.)
 */
function header(program: NodePath<t.Program>, state: FileState): t.Statement[] {
  const source = t.stringLiteral(state.options.runtimeModule);
  const probes = t.cloneNode(state.probes);
  const variables = programVariablesObject(program, state);
  const registered: t.Statement[] = [
    t.expressionStatement(
      t.assignmentExpression(
        '=',
        t.cloneNode(state.siteBase),
        state.call('registerSites', [t.valueToNode(state.table())]),
      ),
    ),
  ];
  const declared = [t.variableDeclarator(t.cloneNode(state.siteBase))];
  if (variables !== null) {
    registered.push(
      t.expressionStatement(t.assignmentExpression('=', t.cloneNode(variables), t.objectExpression([]))),
    );
    declared.push(t.variableDeclarator(t.cloneNode(variables)));
  }
  const statements: t.Statement[] = [
    state.isModule
      ? t.importDeclaration([t.importNamespaceSpecifier(probes)], source)
      : t.variableDeclaration('var', [
          t.variableDeclarator(probes, t.callExpression(t.identifier('require'), [source])),
        ]),
    t.variableDeclaration('var', declared),
    t.functionDeclaration(t.cloneNode(state.register), [], t.blockStatement(registered)),
    state.ensureRegistered(),
  ];
  if (state.moduleInvocation !== null) {
    statements.push(
      t.variableDeclaration('var', [
        t.variableDeclarator(t.cloneNode(state.moduleInvocation), state.call('invocation', [])),
      ]),
    );
  }
  return statements;
}

export default function causewayPlugin(api: PluginAPI, options: InstrumentOptions): PluginObject {
  api.assertVersion(8);
  return {
    name: 'causeway',
    visitor: {
      Program: {
        enter(program, pass: PluginPass) {
          if (isInstrumented(program.node)) {
            pass.file.metadata.causeway = {
              alreadyInstrumented: true,
              sites: null,
              warnings: [],
            } satisfies CausewayMetadata;
            return;
          }
          const inputMap = (pass.file.inputMap?.toObject() ?? null) as SourceMapObject | null;
          const state = new FileState(program, pass.filename, resolveOptions(options, pass.cwd), inputMap);
          // CommonJS TypeScript is parsed as a module (for `import type`); mark it a script so
          // that no plugin treats it as one (TypeScript's would append `export {}`).
          if (state.options.format === 'commonjs') program.node.sourceType = 'script';
          findSharedVariables(program, state);
          program.traverse(instrumentationVisitor, state);
          declareTemporaries(program, state);
          pass.set(STATE_KEY, state);
        },
        exit(program, pass: PluginPass) {
          const state = pass.get(STATE_KEY) as FileState | undefined;
          if (state === undefined) return;
          pass.set(STATE_KEY, undefined);
          pass.file.metadata.causeway = {
            alreadyInstrumented: false,
            sites: state.siteCount === 0 ? null : state.table(),
            warnings: state.warnings,
          } satisfies CausewayMetadata;
          if (state.siteCount === 0) return;
          program.unshiftContainer('body', header(program, state));
        },
      },
    },
  };
}
