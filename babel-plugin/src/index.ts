/**
 * @causeway/babel-plugin: instruments functions and awaits with calls to Causeway's probes, and
 * gives each instrumented file a site table (what each site id means, where it is in the source).
 *
 * The plugin does all its work in one traversal started from `Program` enter, before any other
 * plugin of the same pass changes the tree, and writes the file's header on `Program` exit, after
 * other plugins (TypeScript's import elision among them) have looked at the imports.
 *
 * What the output looks like is described in docs/instrumentation.md.
 */

import type { NodePath, PluginAPI, PluginObject, PluginPass } from '@babel/core';
import { types as t } from '@babel/core';
import { FileState } from './file-state.ts';
import { type InstrumentOptions, resolveOptions } from './options.ts';
import { instrumentationVisitor } from './visitor.ts';

export type { InstrumentOptions } from './options.ts';
export { DEFAULT_RUNTIME_MODULE } from './options.ts';

const STATE_KEY = Symbol('causeway');

/** True when `program` already carries a site table registered by this plugin. */
function isInstrumented(program: t.Program): boolean {
  return program.body.some(
    (statement) =>
      t.isVariableDeclaration(statement) &&
      statement.declarations.some(
        ({ init }) =>
          t.isCallExpression(init) &&
          t.isMemberExpression(init.callee) &&
          t.isIdentifier(init.callee.property, { name: 'registerSites' }),
      ),
  );
}

function header(program: NodePath<t.Program>, state: FileState): t.Statement[] {
  const source = t.stringLiteral(state.options.runtimeModule);
  const probes = t.cloneNode(state.probes);
  const statements: t.Statement[] = [
    program.node.sourceType === 'module'
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
          if (isInstrumented(program.node)) return;
          const state = new FileState(program, pass.filename, resolveOptions(options, pass.cwd));
          program.traverse(instrumentationVisitor, state);
          pass.set(STATE_KEY, state);
        },
        exit(program, pass: PluginPass) {
          const state = pass.get(STATE_KEY) as FileState | undefined;
          if (state === undefined || state.siteCount === 0) return;
          pass.set(STATE_KEY, undefined);
          program.unshiftContainer('body', header(program, state));
        },
      },
    },
  };
}
