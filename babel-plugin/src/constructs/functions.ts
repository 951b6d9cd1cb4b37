/**
 * Functions of every kind: `enter` on the way in, `threw` when an exception leaves, `exit` on
 * every way out. Async functions also get an invocation id, which their awaits refer to.
 *
 *   function f(a) { body }
 *   =>
 *   function f(a) { _cw.enter(S); try { body } catch (e) { _cw.threw(S); throw e } finally { _cw.exit(S) } }
 *
 * A sync generator also declares its "suspended at a yield" flag first, and its catch and finally
 * start with `_cw.reentered` (a return() or throw() at a yield resumes it there); an async
 * generator's finally starts with `_cw.caught(inv)` for the same reason (yields.ts).
 *
 * The body moves into a block as a whole, so `this`, `arguments`, `super` and `new.target` are
 * untouched and no function is added; `asBlockBody` keeps the body's function declarations valid
 * (and hoisted) inside that block.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';

/** Names declared with `var` in `statements`, outside nested functions and classes. */
function varNames(statements: t.Statement[]): Set<string> {
  const names = new Set<string>();
  for (const statement of statements) {
    t.traverseFast(statement, (node) => {
      if (t.isFunction(node) || t.isClass(node)) return t.traverseFast.skip;
      if (t.isVariableDeclaration(node) && node.kind === 'var') {
        for (const name of Object.keys(t.getBindingIdentifiers(node))) names.add(name);
      }
    });
  }
  return names;
}

/** Does `body` hold a `for await` loop of its own (outside nested functions)? */
function hasForAwait(body: t.BlockStatement): boolean {
  let found = false;
  t.traverseFast(body, (node) => {
    if (t.isFunction(node)) return t.traverseFast.skip;
    if (t.isForOfStatement(node) && node.await) found = true;
  });
  return found;
}

/**
 * A function body's statements, made valid inside a block. At the top of a function body,
 * function declarations are var-like: the last of several with one name wins, and one may share
 * its name with a `var`. Inside a block they are lexical, and both would be syntax errors. So an
 * overridden declaration is dropped (it could never be called), and one that shares a `var`'s
 * name becomes an assignment at the top of the block (where hoisting would have put it).
 */
function asBlockBody(statements: t.Statement[]): t.Statement[] {
  const declarations = statements.filter(
    (s): s is t.FunctionDeclaration => t.isFunctionDeclaration(s) && s.id != null,
  );
  if (declarations.length === 0) return statements;
  const last = new Map(declarations.map((d) => [d.id?.name, d]));
  const vars = varNames(statements);
  const hoisted: t.Statement[] = [];
  const rest = statements.filter((statement) => {
    if (!t.isFunctionDeclaration(statement) || !statement.id) return true;
    const name = statement.id.name;
    if (last.get(name) !== statement) return false;
    if (!vars.has(name)) return true;
    const { params, body, generator, async } = statement;
    // An anonymous function assigned to a name is named after it, as the declaration was.
    const value = t.functionExpression(null, params, body, generator, async);
    hoisted.push(t.expressionStatement(t.assignmentExpression('=', t.identifier(name), value)));
    return false;
  });
  return [...hoisted, ...rest];
}

export function instrumentFunction(path: NodePath<t.Function>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node)) return;
  state.mark(node);

  const site = state.functionSite(path, functionName(path));
  const body = t.isBlockStatement(node.body) ? node.body : t.blockStatement([t.returnStatement(node.body)]);
  const invocation = node.async ? state.invocationOf(path) : null;
  const trailing = invocation === null ? [] : [t.cloneNode(invocation)];
  // A sync generator's flag: set while it is suspended at a yield (yields.ts).
  const suspended = node.generator && !node.async ? state.suspendedFlag(path) : null;

  const prologue: t.Statement[] = [];
  // Through an import cycle, an ES module's function declaration can be called before the
  // module's body (and the header registering its sites) ran: it registers them then.
  if (state.isModule && isTopLevelDeclaration(path)) prologue.push(state.ensureRegistered());
  if (suspended) {
    prologue.push(
      state.mark(t.variableDeclaration('var', [t.variableDeclarator(suspended, t.booleanLiteral(false))])),
    );
  }
  prologue.push(
    invocation
      ? t.variableDeclaration('const', [
          t.variableDeclarator(t.cloneNode(invocation), state.call('enterAsync', [t.cloneNode(site)])),
        ])
      : t.expressionStatement(state.call('enter', [t.cloneNode(site)])),
  );

  // The first code that runs after a generator was resumed by return() or throw() at a yield: a
  // catch or finally; here, the function's own. Also an async function's finally after a
  // `return` in a `for await`, whose iterator's return() was awaited.
  const resumedHere = (): t.Statement[] => {
    if (suspended) return [reenter(state, site, suspended)];
    if (invocation && (node.generator || hasForAwait(body)))
      return [t.expressionStatement(state.call('caught', [t.cloneNode(invocation)]))];
    return [];
  };

  const error = path.scope.generateUidIdentifier('cwError');
  const onThrow: t.Statement[] = [];
  if (invocation) {
    // The exception may come from a rejected await that no catch inside handled: this catch is
    // then the first code of the continuation, and must start its task.
    onThrow.push(t.expressionStatement(state.call('caught', [t.cloneNode(invocation)])));
  } else {
    onThrow.push(...resumedHere());
  }
  onThrow.push(
    t.expressionStatement(state.call('threw', [t.cloneNode(site), ...trailing.map((id) => t.cloneNode(id))])),
    t.throwStatement(t.cloneNode(error)),
  );
  const handler = state.mark(t.catchClause(error, t.blockStatement(onThrow)));
  const finalizer = state.mark(
    t.blockStatement([
      ...resumedHere(),
      t.expressionStatement(state.call('exit', [t.cloneNode(site), ...trailing])),
    ]),
  );
  const guarded = state.mark(t.tryStatement(t.blockStatement(asBlockBody(body.body)), handler, finalizer));

  // Direct assignment, not replaceWith: the statements moved into the try block were already
  // visited, and must not be visited (and instrumented) again.
  node.body = t.blockStatement([...prologue, guarded], body.directives);
}

/** Is `fn` a function declaration of the program's top level (exported or not): hoisted? */
function isTopLevelDeclaration(fn: NodePath<t.Function>): boolean {
  if (!fn.isFunctionDeclaration()) return false;
  const parent = fn.parentPath;
  if (parent.isProgram()) return true;
  return (
    (parent.isExportNamedDeclaration() || parent.isExportDefaultDeclaration()) &&
    parent.parentPath.isProgram()
  );
}

/** `_cwSuspended = _cw.reentered(S, _cwSuspended)`: starts a generator's slice if it was suspended. */
export function reenter(state: FileState, site: t.Expression, suspended: t.Identifier): t.Statement {
  return state.mark(
    t.expressionStatement(
      state.mark(
        t.assignmentExpression(
          '=',
          t.cloneNode(suspended),
          state.call('reentered', [t.cloneNode(site), t.cloneNode(suspended)]),
        ),
      ),
    ),
  );
}

/**
 * When a function's own rewrite failed (guard.ts), the constructs inside it were rewritten
 * already. An async function's awaits refer to its invocation id: it is declared, a fresh one
 * (`_cw.invocation()`, as for top-level await), so they keep recording. A sync generator's yields
 * and re-entries record slices of the function, which has no enter or exit now: they are put
 * back as they were written. The function itself records no enter, exit or throw.
 */
export function declareFallback(path: NodePath<t.Function>, state: FileState): void {
  const node = path.node;
  if (node.async) {
    path.ensureBlock();
    const body = path.get('body') as NodePath<t.BlockStatement>;
    const invocation = t.variableDeclarator(
      t.cloneNode(state.invocationOf(path)),
      state.call('invocation', []),
    );
    body.unshiftContainer('body', state.mark(t.variableDeclaration('var', [invocation])));
  } else if (node.generator) {
    restoreYields(path, state);
  }
}

/** Is `node` a call of the probe `name` (`_cw.name(...)`)? */
function isProbe(node: t.Node | null | undefined, name: string, state: FileState): node is t.CallExpression {
  return (
    t.isCallExpression(node) &&
    t.isMemberExpression(node.callee) &&
    t.isIdentifier(node.callee.object, { name: state.probes.name }) &&
    t.isIdentifier(node.callee.property, { name })
  );
}

/**
 * Puts the yields of sync generator `fn` back as written: `_cw.resumed(F, yield _cw.yielded(F, e,
 * _s = true), _s = false)` becomes `yield e`, and the `_s = _cw.reentered(F, _s)` statements
 * of its catch and finally blocks go.
 */
function restoreYields(fn: NodePath<t.Function>, state: FileState): void {
  fn.traverse({
    Function(inner) {
      inner.skip();
    },
    CallExpression(call) {
      if (!isProbe(call.node, 'resumed', state)) return;
      const yielded = call.node.arguments[1];
      if (!t.isYieldExpression(yielded) || !isProbe(yielded.argument, 'yielded', state)) return;
      const value = yielded.argument.arguments[1] as t.Expression;
      call.replaceWith(state.mark(t.yieldExpression(value, yielded.delegate)));
    },
    ExpressionStatement(statement) {
      const expression = statement.node.expression;
      if (t.isAssignmentExpression(expression) && isProbe(expression.right, 'reentered', state)) {
        statement.remove();
      }
    },
  });
}
