/**
 * `yield` and `yield*`: where a generator's body gives control back to the code that resumed it.
 *
 * A sync generator's body runs in slices, each inside a call of next(), return() or throw() made
 * by some code, in that code's task. Each slice is recorded as a call of the generator function:
 * `enter` when it starts (the first next(), or a resumption after a yield), `exit` when it
 * yields or finishes. A local flag says the generator is suspended, so that a catch or finally a
 * yield can reach (where return() and throw() resume it) starts a slice first (catch.ts):
 *
 *   yield e   =>  _cw.resumed(F, yield _cw.yielded(F, e, _s = true), _s = false)
 *
 * `F` is the function's own site; `yielded` and `resumed` return their second argument, so the
 * value yielded and the value sent by next(v) are unchanged, and so is the generator protocol
 * (`yield*` delegates as before: the outer slice ends before the delegation, the inner
 * generator's slices are its own, and the outer one starts again when the delegation is done).
 *
 * An async generator is an async function whose yields also suspend it: each yield (and each
 * `yield*`) is recorded as an await is (awaits.ts), and the code after it runs in a new task that
 * continues the one that yielded.
 *
 *   yield e   =>  _cw.resume(A, inv, yield _cw.suspend(A, inv, e))
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { functionName } from '../function-name.ts';
import { replace } from './accesses.ts';
import { runningFunction } from './awaits.ts';
import { instrumentIteration } from './collections.ts';

export function instrumentYield(path: NodePath<t.YieldExpression>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node)) return;
  const fn = runningFunction(path);
  if (fn === null || !fn.node.generator || state.isGenerated(fn.node)) return;
  // `yield* c` iterates `c`, as `for (x of c)` does (collections.ts); for await's left alone.
  if (node.delegate && node.argument && !fn.node.async) {
    instrumentIteration(path.get('argument') as NodePath<t.Expression>, state);
  }
  const argument = node.argument ?? t.unaryExpression('void', t.numericLiteral(0));
  if (fn.node.async) {
    const invocation = state.invocationOf(fn);
    const site = state.site(SiteKind.Await, node, functionName(fn));
    const suspended = state.call('suspend', [t.cloneNode(site), t.cloneNode(invocation), argument]);
    const yielded = state.mark(t.yieldExpression(suspended, node.delegate));
    replace(path, state.call('resume', [site, t.cloneNode(invocation), yielded]));
    return;
  }
  const site = state.functionSite(fn, functionName(fn));
  const flag = state.suspendedFlag(fn);
  const setFlag = (value: boolean) =>
    state.mark(t.assignmentExpression('=', t.cloneNode(flag), t.booleanLiteral(value)));
  const out = state.call('yielded', [t.cloneNode(site), argument, setFlag(true)]);
  const yielded = state.mark(t.yieldExpression(out, node.delegate));
  replace(path, state.call('resumed', [site, yielded, setFlag(false)]));
}
