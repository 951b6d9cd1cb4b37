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
 * True when `program` is this plugin's output: it binds the probes namespace (an import or a
 * require of a module whose specifier ends in `probes`, `probes.ts` or `probes.js`) and registers a site table
 * through that very binding.
 */
function isInstrumented(program: t.Program): boolean {
  const probeBindings = new Set<string>();
  const isProbesSource = (source: t.Node | null | undefined) =>
    t.isStringLiteral(source) && /probes(\.[cm]?[jt]s)?$/.test(source.value);
  for (const statement of program.body) {
    if (t.isImportDeclaration(statement) && isProbesSource(statement.source)) {
      for (const specifier of statement.specifiers) {
        if (t.isImportNamespaceSpecifier(specifier)) probeBindings.add(specifier.local.name);
      }
    }
    if (!t.isVariableDeclaration(statement)) continue;
    for (const { id, init } of statement.declarations) {
      if (!t.isIdentifier(id) || !t.isCallExpression(init)) continue;
      const callee = init.callee;
      if (t.isIdentifier(callee, { name: 'require' }) && isProbesSource(init.arguments[0]))
        probeBindings.add(id.name);
      if (
        t.isMemberExpression(callee) &&
        t.isIdentifier(callee.object) &&
        probeBindings.has(callee.object.name) &&
        t.isIdentifier(callee.property, { name: 'registerSites' })
      ) {
        return true;
      }
    }
  }
  return false;
}

function header(program: NodePath<t.Program>, state: FileState): t.Statement[] {
  const source = t.stringLiteral(state.options.runtimeModule);
  const probes = t.cloneNode(state.probes);
  const statements: t.Statement[] = [
    (state.options.format ?? (program.node.sourceType === 'module' ? 'module' : 'commonjs')) === 'module'
      ? t.importDeclaration([t.importNamespaceSpecifier(probes)], source)
      : t.variableDeclaration('var', [
          t.variableDeclarator(probes, t.callExpression(t.identifier('require'), [source])),
        ]),
    // `var`, not `const`: a function of this file called through a circular import before the
    // file's body ran sees `undefined + n`, which the probes record as "no site" instead of
    // throwing a TDZ error into the application.
    t.variableDeclaration('var', [
      t.variableDeclarator(
        t.cloneNode(state.siteBase),
        state.call('registerSites', [t.valueToNode(state.table())]),
      ),
    ]),
  ];
  const variables = programVariablesObject(program, state);
  if (variables !== null) {
    statements.push(
      t.variableDeclaration('var', [t.variableDeclarator(t.cloneNode(variables), t.objectExpression([]))]),
    );
  }
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
