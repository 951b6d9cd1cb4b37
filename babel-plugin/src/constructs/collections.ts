/**
 * State changed or read through built-in collections' methods: a shared cache `Map` checked and
 * then filled across an await is as much a race as a property read and written across one.
 * Whether `c.get(k)` is a Map's is only known at run time, so every call of a method with one of
 * these names gets a probe that checks the receiver (`instanceof Map`, `Array.isArray`) and
 * records nothing for anything else. The call itself is the original one, on a temporary:
 *
 *   c.get(k)          =>  _cw.mapGet(S, _o = c, _o.get(_k1 = k), _k1)
 *   c.has(k)          =>  _cw.has(S, _o = c, _o.has(_k1 = k), _k1)
 *   c.set(k, v)       =>  _cw.mapSet(S, _o = c, _o.set(_k1 = k, _v1 = v), _k1, _v1)
 *   c.add(k)          =>  _cw.setAdd(S, _o = c, _o.add(_k1 = k), _k1)
 *   c.delete(k)       =>  _cw.entryDelete(S, _o = c, _o.delete(_k1 = k), _k1)
 *   c.clear()         =>  _cw.clear(S, _o = c, _o.clear())
 *   c.forEach(f)      =>  _cw.iterate(S, _o = c, _o.forEach(f))        (also keys, values, entries)
 *   a.push(x)         =>  _cw.arrayPush(S, _o = a, _o.push(x))          (unshift; the result is the length)
 *   a.pop()           =>  _cw.arrayResize(S, _o = a, _o.pop())          (shift, splice)
 *   a.sort()          =>  _cw.arrayReorder(S, _o = a, _o.sort())        (reverse, fill)
 *   for (x of c)      =>  for (x of _cw.iterate(S, _o = c, _o))         (also [...c], f(...c))
 *   c.size            =>  _cw.readSize(S, _o = c, _o.size)              (accesses.ts)
 *
 * The receiver is evaluated once, and the method looked up on it, as before: `_o.get` is read
 * right after `_o` is assigned, so the function's shared object temporary serves (as for
 * property accesses). The key and value are captured where the call evaluates them, into
 * temporaries of this call alone (the arguments after them may run other accesses), and passed to
 * the probe after the call. Calls with a spread argument, optional calls (`c?.get(k)`,
 * `c.get?.(k)`) and computed method names are left alone; so are keyed calls in a parameter
 * pattern's computed key (no temporaries of their own: accesses.ts).
 *
 * The location model (docs/event-format.md, "Collections") is the runtime's: the plugin only
 * says which method was called.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { accessContext, probe, replace, unnamed, unwrap } from './accesses.ts';
import { isModuleExports } from './commonjs.ts';

interface Method {
  /** The probe called after the method. */
  probe: string;
  /** Does the method change the collection (instrumented with `accesses: writes`)? */
  writes: boolean;
  /** Arguments passed on to the probe: 1 the key, 2 the key and the value. */
  captured: 0 | 1 | 2;
}

const METHODS: ReadonlyMap<string, Method> = new Map([
  ['get', { probe: 'mapGet', writes: false, captured: 1 }],
  ['has', { probe: 'has', writes: false, captured: 1 }],
  ['set', { probe: 'mapSet', writes: true, captured: 2 }],
  ['add', { probe: 'setAdd', writes: true, captured: 1 }],
  ['delete', { probe: 'entryDelete', writes: true, captured: 1 }],
  ['clear', { probe: 'clear', writes: true, captured: 0 }],
  ['forEach', { probe: 'iterate', writes: false, captured: 0 }],
  ['keys', { probe: 'iterate', writes: false, captured: 0 }],
  ['values', { probe: 'iterate', writes: false, captured: 0 }],
  ['entries', { probe: 'iterate', writes: false, captured: 0 }],
  ['push', { probe: 'arrayPush', writes: true, captured: 0 }],
  ['pop', { probe: 'arrayResize', writes: true, captured: 0 }],
  ['shift', { probe: 'arrayResize', writes: true, captured: 0 }],
  ['unshift', { probe: 'arrayPush', writes: true, captured: 0 }],
  ['splice', { probe: 'arrayResize', writes: true, captured: 0 }],
  ['sort', { probe: 'arrayReorder', writes: true, captured: 0 }],
  ['reverse', { probe: 'arrayReorder', writes: true, captured: 0 }],
  ['fill', { probe: 'arrayReorder', writes: true, captured: 0 }],
] as const);

function isLevel(state: FileState, method: Method): boolean {
  return state.options.accesses === 'all' || (state.options.accesses === 'writes' && method.writes);
}

/** The method name a callee spells statically (`c.get`, `c['get']`), or null. */
function methodName(callee: t.MemberExpression): string | null {
  if (!callee.computed && t.isIdentifier(callee.property)) return callee.property.name;
  if (callee.computed && t.isStringLiteral(callee.property)) return callee.property.value;
  return null;
}

export function instrumentCollectionCall(path: NodePath<t.CallExpression>, state: FileState): void {
  const call = path.node;
  if (state.isGenerated(call) || state.options.accesses === 'off') return;
  const callee = unwrap(call.callee);
  if (!t.isMemberExpression(callee) || t.isSuper(callee.object)) return;
  const name = methodName(callee);
  const method = name === null ? undefined : METHODS.get(name);
  if (method === undefined || !isLevel(state, method)) return;
  if (call.arguments.some((arg) => !t.isExpression(arg))) return; // spread, or `...` placeholders
  if (isModuleExports(path, unwrap(callee.object))) return;
  const context = accessContext(path);
  if (context === null || (context.shared && method.captured > 0)) return;

  const object = state.temporary(context.scope, 'object');
  const captures: t.Identifier[] = [];
  const args = (call.arguments as t.Expression[]).map((arg, index) => {
    if (index >= method.captured) return arg;
    const temp = state.temporary(context.scope, 'object', true);
    captures.push(temp);
    return t.assignmentExpression('=', t.cloneNode(temp), arg);
  });
  // A missing key or value is `undefined`, as the method sees it.
  while (captures.length < method.captured) captures.push(t.identifier('undefined'));
  const lookup = state.mark(
    t.memberExpression(t.cloneNode(object), t.cloneNode(callee.property), callee.computed),
  );
  lookup.loc = callee.loc ?? null;
  const original = state.mark(t.callExpression(lookup, args));
  original.loc = call.loc ?? null;
  const site = state.site(
    method.writes ? SiteKind.Write : SiteKind.Read,
    callee.property,
    context.functionName,
  );
  replace(
    path,
    probe(
      state,
      method.probe,
      [
        site,
        t.assignmentExpression('=', t.cloneNode(object), unnamed(callee.object as t.Expression)),
        original,
        ...captures.map((id) => t.cloneNode(id)),
      ],
      call,
    ),
  );
}

/** `for (x of c)`, `[...c]`, `f(...c)`: the iteration reads the whole collection. */
export function instrumentIteration(path: NodePath<t.Expression>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node) || state.options.accesses !== 'all') return;
  const context = accessContext(path);
  if (context === null) return;
  const object = state.temporary(context.scope, 'object');
  const site = state.site(SiteKind.Read, node, context.functionName);
  replace(
    path,
    probe(
      state,
      'iterate',
      [site, t.assignmentExpression('=', t.cloneNode(object), unnamed(node)), t.cloneNode(object)],
      node,
    ),
  );
}
