/**
 * `for await`: each step awaits the iterator's `next()` (and a `break`, `return` or exception
 * awaits its `return()`), so each step is a suspension as an `await` is (awaits.ts). The loop's
 * awaits are not in the code, so the probes go where control passes just before and after them:
 *
 *   for await (x of e) body
 *   =>
 *   for await (x of _cw.suspend(A, inv, e)) {
 *     _cw.resume(A, inv, void 0);
 *     try { body } finally { _cw.suspend(A, inv, void 0) }
 *   }
 *   _cw.resume(A, inv, void 0);
 *
 * The first step is suspended once the iterable is evaluated, the next ones when the body ends (in
 * any way); the body starts the continuation's task, and so does the code after the loop. A step
 * that rejects skips the resume: the catch or finally that runs starts the task (catch.ts).
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';
import { enclosingInvocation, runningFunction } from './awaits.ts';

export function instrumentForAwait(path: NodePath<t.ForOfStatement>, state: FileState): void {
  const node = path.node;
  if (!node.await || state.isGenerated(node)) return;
  const invocation = enclosingInvocation(path, state);
  if (invocation === null) return;
  state.mark(node);
  const fn = runningFunction(path);
  const site = state.site(SiteKind.Await, node, fn === null ? '<module>' : functionName(fn));
  const probe = (name: string, value: t.Expression) =>
    state.call(name, [t.cloneNode(site), t.cloneNode(invocation), value]);
  const nothing = () => t.unaryExpression('void', t.numericLiteral(0));

  node.right = probe('suspend', node.right);
  const body = t.isBlockStatement(node.body) ? node.body : t.blockStatement([node.body]);
  const guarded = state.mark(
    t.tryStatement(
      body,
      null,
      state.mark(t.blockStatement([t.expressionStatement(probe('suspend', nothing()))])),
    ),
  );
  node.body = t.blockStatement([t.expressionStatement(probe('resume', nothing())), guarded]);

  // After the loop: after its label, if it has one (a labelled `continue` needs the label on the loop).
  let statement: NodePath = path;
  while (statement.parentPath?.isLabeledStatement()) statement = statement.parentPath;
  const after = state.mark(t.expressionStatement(probe('resume', nothing())));
  statement.insertAfter(after);
}
