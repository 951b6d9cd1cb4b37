/**
 * Catch clauses and finally blocks around awaits: after a rejected await, one of them is the
 * first code of the continuation, so it starts with `_cw.caught(inv)`, which begins the
 * continuation's task if (and only if) the invocation is suspended.
 *
 * Only handlers that an await can reach get the call: a catch whose try block awaits, a finally
 * whose try block or catch clause awaits. Elsewhere it could never start a task (and at module
 * level, without top-level await, there is no invocation to name).
 *
 * In generators a yield is such a point too (yields.ts): return() and throw() resume a generator
 * suspended at a yield in the first catch or finally around it. An async generator's catch or
 * finally gets `_cw.caught(inv)`, a sync generator's `_s = _cw.reentered(F, _s)`, which starts
 * the resumption's slice when (and only when) the generator was suspended.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';
import { enclosingInvocation, runningFunction } from './awaits.ts';
import { reenter } from './functions.ts';

/** Does `path` contain an await, yield or `for await` that runs in the same function as `path` itself? */
function awaitsDirectly(path: NodePath<t.Node | null>): boolean {
  if (!path.node) return false;
  const owner = runningFunction(path as NodePath)?.node ?? null;
  let found = false;
  const visit = (inner: NodePath) => {
    if ((runningFunction(inner)?.node ?? null) === owner) {
      found = true;
      inner.stop();
    }
  };
  (path as NodePath).traverse({
    AwaitExpression: visit,
    YieldExpression: visit,
    ForOfStatement(inner) {
      if (inner.node.await) visit(inner);
    },
  });
  return found;
}

function prependCaught(block: t.BlockStatement, path: NodePath, state: FileState): void {
  if (state.isGenerated(block)) return;
  const fn = runningFunction(path);
  if (fn?.node.generator && !fn.node.async) {
    state.mark(block);
    const site = state.functionSite(fn, functionName(fn));
    block.body.unshift(reenter(state, site, state.suspendedFlag(fn)));
    return;
  }
  const invocation = enclosingInvocation(path, state);
  if (invocation === null) return;
  state.mark(block);
  block.body.unshift(t.expressionStatement(state.call('caught', [t.cloneNode(invocation)])));
}

export function instrumentCatch(path: NodePath<t.CatchClause>, state: FileState): void {
  if (state.isGenerated(path.node)) return;
  const tryStatement = path.parentPath as NodePath<t.TryStatement>;
  if (awaitsDirectly(tryStatement.get('block'))) prependCaught(path.node.body, path, state);
}

export function instrumentFinally(path: NodePath<t.TryStatement>, state: FileState): void {
  const finalizer = path.node.finalizer;
  if (!finalizer || state.isGenerated(path.node)) return;
  if (awaitsDirectly(path.get('block')) || awaitsDirectly(path.get('handler'))) {
    prependCaught(finalizer, path, state);
  }
}
