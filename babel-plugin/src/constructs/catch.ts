/**
 * Catch clauses and finally blocks inside async code: after a rejected await, one of them is the
 * first code of the continuation, so it starts with `_cw.caught(inv)`, which begins the
 * continuation's task if (and only if) the invocation is suspended.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import type { FileState } from '../file-state.ts';
import { enclosingInvocation } from './awaits.ts';

function prependCaught(block: t.BlockStatement, path: NodePath, state: FileState): void {
  if (state.isGenerated(block)) return;
  const invocation = enclosingInvocation(path, state);
  if (invocation === null) return;
  state.mark(block);
  block.body.unshift(t.expressionStatement(state.call('caught', [t.cloneNode(invocation)])));
}

export function instrumentCatch(path: NodePath<t.CatchClause>, state: FileState): void {
  if (state.isGenerated(path.node)) return;
  prependCaught(path.node.body, path, state);
}

export function instrumentFinally(path: NodePath<t.TryStatement>, state: FileState): void {
  const finalizer = path.node.finalizer;
  if (finalizer && !state.isGenerated(path.node)) prependCaught(finalizer, path, state);
}
