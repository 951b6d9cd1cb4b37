/**
 * Functions of every kind: `enter` on the way in, `threw` when an exception leaves, `exit` on
 * every way out. Async functions also get an invocation id, which their awaits refer to.
 *
 *   function f(a) { body }
 *   =>
 *   function f(a) { _cw.enter(S); try { body } catch (e) { _cw.threw(S); throw e } finally { _cw.exit(S) } }
 *
 * The body moves into a block as a whole, so hoisting, `this`, `arguments`, `super` and
 * `new.target` are untouched: no function is added or removed.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';

export function instrumentFunction(path: NodePath<t.Function>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node)) return;
  state.mark(node);

  const site = state.site(SiteKind.Function, node, functionName(path));
  const body = t.isBlockStatement(node.body) ? node.body : t.blockStatement([t.returnStatement(node.body)]);
  const invocation = node.async ? state.invocationOf(path) : null;
  const trailing = invocation === null ? [] : [t.cloneNode(invocation)];

  const enter = invocation
    ? t.variableDeclaration('const', [
        t.variableDeclarator(t.cloneNode(invocation), state.call('enterAsync', [t.cloneNode(site)])),
      ])
    : t.expressionStatement(state.call('enter', [t.cloneNode(site)]));

  const error = path.scope.generateUidIdentifier('cwError');
  const onThrow: t.Statement[] = [];
  if (invocation) {
    // The exception may come from a rejected await that no catch inside handled: this catch is
    // then the first code of the continuation, and must start its task.
    onThrow.push(t.expressionStatement(state.call('caught', [t.cloneNode(invocation)])));
  }
  onThrow.push(
    t.expressionStatement(state.call('threw', [t.cloneNode(site), ...trailing.map((id) => t.cloneNode(id))])),
    t.throwStatement(t.cloneNode(error)),
  );
  const handler = state.mark(t.catchClause(error, t.blockStatement(onThrow)));
  const finalizer = state.mark(
    t.blockStatement([t.expressionStatement(state.call('exit', [t.cloneNode(site), ...trailing]))]),
  );
  const guarded = state.mark(t.tryStatement(t.blockStatement(body.body), handler, finalizer));

  // Direct assignment, not replaceWith: the statements moved into the try block were already
  // visited, and must not be visited (and instrumented) again.
  node.body = t.blockStatement([enter, guarded], body.directives);
}
