/**
 * Code that runs outside any function body: class fields' initialisers and parameters' default
 * values. Neither can declare a variable, so their accesses would have to use temporaries of the
 * enclosing code, which the same code can reuse before it is done with them (a nested `new` or a
 * recursive call in a computed key). Each one is moved, as a whole, into an arrow function called
 * in its place, which has temporaries of its own:
 *
 *   class C { f = init }          =>  class C { f = (() => { _cw.enter(S); try { return init } ... })() }
 *   function g(x = init) { ... }  =>  function g(x = (() => init)()) { ... }
 *
 * A field initialiser is a function of its own for the recording (site `C.f`, kind Function):
 * the arrow is instrumented as any function is (functions.ts), so it records enter, exit and
 * throw. A parameter default runs in the function's call: its arrow records nothing itself.
 *
 * An arrow keeps what the code sees: `this`, `super.p` and `new.target` are the enclosing ones
 * (an arrow has none of its own), `arguments` cannot appear in an initialiser and is the
 * function's own in a default, earlier parameters (and TDZ errors of later ones) are seen as
 * before, and neither place can `await` or `yield`. Initialisers that run no code of their own
 * (literals, functions, classes, array and object literals of those) are left as they are, which
 * also keeps the names an anonymous function or class takes from its field or parameter.
 *
 * The rewrite happens on the way in, before the initialiser's own code is visited, so its
 * accesses see the arrow as the function they run in.
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import type { FileState } from '../file-state.ts';
import { fieldName, functionName, nameWrapper } from '../function-name.ts';
import { unwrap } from './accesses.ts';

type Field = t.ClassProperty | t.ClassPrivateProperty | t.ClassAccessorProperty;

/**
 * Does evaluating `node` run no code of the program's: a literal, a function or class being
 * defined, or an array or object literal made of those (`[]`, `{ retries: 3 }`)?
 */
function runsNoCode(node: t.Node | null): boolean {
  if (node === null) return true;
  const inner = unwrap(node);
  if (t.isTemplateLiteral(inner)) return false;
  if (t.isArrayExpression(inner))
    return inner.elements.every((element) => !t.isSpreadElement(element) && runsNoCode(element));
  if (t.isObjectExpression(inner)) {
    return inner.properties.every(
      (property) =>
        (t.isObjectMethod(property) && !property.computed) ||
        (t.isObjectProperty(property) && !property.computed && runsNoCode(property.value)),
    );
  }
  return (
    t.isLiteral(inner) ||
    t.isFunctionExpression(inner) ||
    t.isArrowFunctionExpression(inner) ||
    t.isClassExpression(inner)
  );
}

/** `(() => expression)()`, its arrow named `name` in site tables. */
function called(
  expression: t.Expression,
  name: string,
  at: t.Node,
): { call: t.CallExpression; arrow: t.ArrowFunctionExpression } {
  const arrow = t.arrowFunctionExpression([], expression);
  arrow.loc = at.loc ?? null;
  nameWrapper(arrow, name);
  const call = t.callExpression(arrow, []);
  call.loc = expression.loc ?? null;
  return { call, arrow };
}

export function wrapFieldInitialiser(path: NodePath<Field>, state: FileState): void {
  const node = path.node;
  const value = node.value;
  if (value == null || state.isGenerated(node) || runsNoCode(value)) return;
  // The arrow is left unmarked: the Function visitor instruments it on its way out.
  node.value = called(value, fieldName(path), value).call;
  state.mark(node);
}

/** Is `path` (an assignment pattern) part of a function's parameter list? Returns that function. */
function parameterOf(path: NodePath): NodePath<t.Function> | null {
  let child: NodePath = path;
  for (let parent = path.parentPath; parent !== null; child = parent, parent = parent.parentPath) {
    if (parent.isFunction()) return child.listKey === 'params' ? parent : null;
    if (
      !parent.isAssignmentPattern() &&
      !parent.isObjectPattern() &&
      !parent.isArrayPattern() &&
      !parent.isRestElement() &&
      !parent.isObjectProperty() &&
      !parent.isTSParameterProperty()
    ) {
      return null;
    }
  }
  return null;
}

export function wrapParameterDefault(path: NodePath<t.AssignmentPattern>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node) || runsNoCode(node.right)) return;
  const fn = parameterOf(path);
  if (fn === null) return;
  const { call, arrow } = called(node.right, functionName(fn), node.right);
  // Marked: the Function visitor declares its temporaries, and records no call of it.
  state.mark(arrow);
  node.right = call;
  state.mark(node);
}
