/**
 * `await`: the suspension is recorded in the task that reaches it, and the continuation starts a
 * new task linked to it through the invocation id.
 *
 *   await e   =>   _cw.resume(S, inv, await _cw.suspend(S, inv, e))
 *
 * Both probes return their last argument unchanged, so the value, the evaluation order and the
 * number of microtask ticks stay those of the original. A rejection skips `resume`; the
 * continuation is then started by `caught` at the first catch or finally that runs (catch.ts).
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';

/**
 * The function whose body `path` runs in, or null at module level. A computed method key
 * (`{ async [await k]() {} }`) runs in the enclosing code, not in the method it names.
 */
export function runningFunction(path: NodePath): NodePath<t.Function> | null {
  let fn = path.getFunctionParent();
  while (fn !== null && 'computed' in fn.node && fn.node.computed) {
    const key = fn.get('key') as NodePath;
    if (key.node !== path.node && !path.isDescendant(key)) break;
    fn = fn.getFunctionParent();
  }
  return fn;
}

/** The identifier of the invocation an await or catch at `path` belongs to, or null. */
export function enclosingInvocation(path: NodePath, state: FileState): t.Identifier | null {
  const fn = runningFunction(path);
  if (fn === null) return state.topLevelInvocation();
  return fn.node.async ? state.invocationOf(fn) : null;
}

export function instrumentAwait(path: NodePath<t.AwaitExpression>, state: FileState): void {
  if (state.isGenerated(path.node)) return;
  const invocation = enclosingInvocation(path, state);
  if (invocation === null) return;
  const fn = runningFunction(path);
  const site = state.site(SiteKind.Await, path.node, fn === null ? '<module>' : functionName(fn));
  const suspended = state.call('suspend', [t.cloneNode(site), t.cloneNode(invocation), path.node.argument]);
  const awaited = state.mark(t.awaitExpression(suspended));
  path.replaceWith(state.call('resume', [site, t.cloneNode(invocation), awaited]));
}
