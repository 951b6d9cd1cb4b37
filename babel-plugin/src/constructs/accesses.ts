/**
 * Property reads and writes, for race detection: each access calls a probe with its site, the
 * object (and the key, when it is computed) and the access's own value, which the probe returns.
 *
 *   o.p          =>  _cw.read(S, _o = o, _o.p)                (also o['p'], o[0], o.#p)
 *   o[k]         =>  _cw.readKey(S, _o2 = o, _k = k, _o2[_k])
 *   o.p = v      =>  _cw.write(S, _o = o, _o.p = v)           (writeKey for o[k] = v)
 *   o.p += v     =>  _cw.update(S, _o = o, _o.p += v)         (every arithmetic, bitwise and ** operator;
 *   ++o.p        =>  _cw.update(S, _o = o, ++_o.p)             updateKey for o[k])
 *   o.p++        =>  _cw.postfix(S, _o = o, _o.p++, 1)        (-1 for --; postfixKey for o[k])
 *   delete o.p   =>  _cw.remove(S, _o = o, delete _o.p)       (removeKey for delete o[k])
 *
 * The object and the key are evaluated once, in their places, as probe arguments; the access
 * itself is the original operation on the temporaries, in the original code's place and strictness
 * (getters, setters, proxy traps, key conversion, frozen objects and `this` behave as before; the
 * key is passed to the probe unconverted).
 *
 * Temporaries are variables of the function (or static block, or program) the access runs in.
 * An object temporary is read right after it is assigned (`_o = o, _o.p`), so with a static key
 * nothing can run in between and one shared temporary serves every such access of the scope:
 * an inner access that reassigns it (`a.b.c`, `o.p = x.y`) does so before the outer one assigns
 * it, or after the outer one has read it (`_o.p = v` reads `_o` before evaluating `v`). The key
 * temporary is shared the same way. With a computed key, the key expression runs between the
 * object's assignment and its use, so such an access gets an object temporary of its own.
 *
 * Parameter lists cannot declare variables; code there uses the enclosing scope's temporaries,
 * and the same code can run again (a recursive call) while a computed key is evaluated:
 * computed-key accesses there are left alone. Parameter defaults and class field initialisers
 * run in arrows of their own (initialisers.ts), so this is only a parameter pattern's own
 * computed keys (`function f({ [o[k]]: a })`).
 *
 * A compound assignment whose right-hand side awaits (`o.p += await f()`) reads the old value
 * before the await and writes after it, in another task; it becomes a read probe and a plain write
 * (not an update: an update is a read and a write in one task, and the read was reported already):
 *
 *   o.p += await v  =>  _cw.write(S, _o = o, _o.p = _cw.read(R, _o, _o.p) + await v)
 *
 * which evaluates exactly as the compound assignment does (once the object, then the old value,
 * then `v`, then the operator, then the store; a computed key is converted for the read and again
 * for the store, as V8 does for `o[k] += v`).
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { fieldName, functionName, staticBlockName } from '../function-name.ts';
import { runningFunction } from './awaits.ts';
import { isModuleExports } from './commonjs.ts';

type Wrapper =
  | t.TSAsExpression
  | t.TSSatisfiesExpression
  | t.TSNonNullExpression
  | t.TSTypeAssertion
  | t.TSInstantiationExpression
  | t.ParenthesizedExpression;

/** Type assertions, instantiation expressions (`o.m<T>`) and parentheses: gone (or transparent) at run time. */
function isWrapper(node: t.Node | null | undefined): node is Wrapper {
  return (
    t.isTSAsExpression(node) ||
    t.isTSSatisfiesExpression(node) ||
    t.isTSNonNullExpression(node) ||
    t.isTSTypeAssertion(node) ||
    t.isTSInstantiationExpression(node) ||
    t.isParenthesizedExpression(node)
  );
}

export function unwrap(node: t.Node): t.Node {
  let inner = node;
  while (isWrapper(inner)) inner = inner.expression;
  return inner;
}

/** `path`, or the outermost type assertion or parenthesis around it. */
function outermost(path: NodePath): NodePath {
  let outer = path;
  while (outer.parentPath !== null && isWrapper(outer.parent) && outer.key === 'expression') {
    outer = outer.parentPath;
  }
  return outer;
}

/**
 * False where a member expression is not a plain read: the target of an assignment, `++`/`--`
 * or `delete` (instrumented as writes), of destructuring or of a for-in/of head (writes too:
 * destructuring.ts), and the callee of a call, `new` or tagged template (its object is the
 * call's `this`, so the callee stays as it is; its object is still read, and instrumented).
 */
function isReadPosition(path: NodePath): boolean {
  const outer = outermost(path);
  const parent = outer.parent;
  const key = outer.key;
  if (parent == null) return false;
  switch (parent.type) {
    case 'AssignmentExpression':
    case 'AssignmentPattern':
    case 'ForInStatement':
    case 'ForOfStatement':
      return key !== 'left';
    case 'UpdateExpression':
    case 'ArrayPattern':
    case 'RestElement':
      return false;
    case 'UnaryExpression':
      return parent.operator !== 'delete';
    case 'ObjectProperty':
      return key !== 'value' || !t.isObjectPattern(outer.parentPath?.parent);
    case 'CallExpression':
    case 'OptionalCallExpression':
    case 'NewExpression':
      return key !== 'callee';
    case 'TaggedTemplateExpression':
      return key !== 'tag';
    default:
      return true;
  }
}

export interface AccessContext {
  /** Where the access's temporaries are declared: a function, a static block or the program. */
  scope: NodePath<t.Function | t.StaticBlock | t.Program>;
  /**
   * The temporaries belong to an enclosing scope (the access is in a parameter list or a class
   * field initialiser), so the same code may run again before one run is done with them.
   */
  shared: boolean;
  /** The site table's function name: the function, field initialiser or static block it runs in. */
  functionName: string;
}

/**
 * Where the access at `path` runs, or null when it is not instrumented: in an enum initialiser
 * (TypeScript folds those), in a decorator, or in a `with` body (where the temporaries' names could
 * resolve to the `with` object's properties).
 */
export function accessContext(path: NodePath): AccessContext | null {
  let owner: string | null = null;
  let shared = false;
  // The function the code runs in: not one whose computed key it is part of.
  let running = runningFunction(path);
  let child: NodePath = path;
  for (let parent = path.parentPath; parent !== null; child = parent, parent = parent.parentPath) {
    if (parent.isFunction() && parent.node === running?.node) {
      owner ??= functionName(parent);
      if (child.listKey === 'params') {
        shared = true;
        running = runningFunction(parent);
        continue;
      }
      return { scope: parent, shared, functionName: owner };
    }
    if (parent.isStaticBlock()) {
      return { scope: parent, shared, functionName: owner ?? staticBlockName(parent) };
    }
    if (
      (parent.isClassProperty() || parent.isClassPrivateProperty() || parent.isClassAccessorProperty()) &&
      child.key === 'value'
    ) {
      owner ??= fieldName(parent);
      // A static field's initialiser runs once, while the class is defined: in the enclosing code.
      if (!parent.node.static) shared = true;
      continue;
    }
    if (parent.isTSEnumMember() || parent.isDecorator()) return null;
    if (parent.isWithStatement() && child.key === 'body') return null;
    if (parent.isProgram()) return { scope: parent, shared, functionName: owner ?? '<module>' };
  }
  return null;
}

/** The property name a static key spells (`p`, `#p`, `'p'`, `0`), or null for a computed key. */
export function staticName(member: t.MemberExpression): string | null {
  const key = member.property;
  if (t.isPrivateName(key)) return `#${key.id.name}`;
  if (!member.computed && t.isIdentifier(key)) return key.name;
  if (t.isStringLiteral(key)) return key.value;
  if (t.isNumericLiteral(key)) return String(key.value);
  return null;
}

/**
 * `expression`, kept from being named after the temporary it is assigned to: `_o = function () {}`
 * would name the function `_o`, `_o = (0, function () {})` does not.
 */
export function unnamed(expression: t.Expression): t.Expression {
  const inner = unwrap(expression);
  const anonymous =
    t.isArrowFunctionExpression(inner) ||
    ((t.isFunctionExpression(inner) || t.isClassExpression(inner)) && inner.id == null);
  return anonymous ? t.sequenceExpression([t.numericLiteral(0), expression]) : expression;
}

/** An access's object and key, captured into temporaries. */
interface Capture {
  /** The access as written. */
  member: t.MemberExpression;
  /** A new site of `kind` for the access, named after its static key ('' for a computed one). */
  site(kind: SiteKind): t.Expression;
  object: t.Identifier;
  /** The key's temporary, for a computed key. */
  key: t.Identifier | null;
  /** The probe arguments that capture them: `_o = o` (and `_k = k`). */
  args: t.Expression[];
  /** The original access, on the temporaries (a new node on each call, marked as generated). */
  access(): t.MemberExpression;
}

function capture(member: t.MemberExpression, context: AccessContext, state: FileState): Capture | null {
  const object = member.object as t.Expression;
  const place = (node: t.MemberExpression) => {
    node.loc = member.loc ?? null;
    return state.mark(node);
  };
  const name = staticName(member);
  const site = (kind: SiteKind) => state.site(kind, member.property, context.functionName, name ?? '');
  if (name !== null) {
    const temp = state.temporary(context.scope, 'object');
    return {
      member,
      site,
      object: temp,
      key: null,
      args: [t.assignmentExpression('=', t.cloneNode(temp), unnamed(object))],
      access: () =>
        place(t.memberExpression(t.cloneNode(temp), t.cloneNode(member.property), member.computed)),
    };
  }
  if (context.shared) return null;
  const temp = state.temporary(context.scope, 'object', true);
  const key = state.temporary(context.scope, 'key');
  return {
    member,
    site,
    object: temp,
    key,
    args: [
      t.assignmentExpression('=', t.cloneNode(temp), unnamed(object)),
      t.assignmentExpression('=', t.cloneNode(key), unnamed(member.property as t.Expression)),
    ],
    access: () => place(t.memberExpression(t.cloneNode(temp), t.cloneNode(key), true)),
  };
}

/** `_cw.<name>(...args)`, placed at `at` in the original source (for retained lines and source maps). */
export function probe(state: FileState, name: string, args: t.Expression[], at: t.Node): t.CallExpression {
  const call = state.call(name, args);
  call.loc = at.loc ?? null;
  return call;
}

/**
 * Replaces the access at `path` with its instrumented form, which is not visited again: its parts
 * were visited before (accesses are handled on exit) and the rest is the plugin's own.
 */
export function replace(path: NodePath, node: t.Node): void {
  path.replaceWith(node);
  path.skip();
}

/**
 * The property access `node` (the member expression at `path`, or the target of the assignment,
 * update or delete at `path`), captured; null when it is not a member expression (through type
 * assertions and parentheses), is a `super` access, or is not instrumented.
 */
function captureAccess(path: NodePath, node: t.Node, state: FileState): Capture | null {
  const member = unwrap(node);
  if (!t.isMemberExpression(member) || t.isSuper(member.object)) return null;
  if (isModuleExports(path, unwrap(member.object))) return null;
  const context = accessContext(path);
  return context && capture(member, context, state);
}

/**
 * Does `path` suspend the function it runs in (not a nested function): an await, or a yield of a
 * generator, after which the rest may run in another task? Awaits and yields are handled before
 * the expressions around them, so one is found inside `_cw.resume(...)` or `_cw.resumed(...)`.
 */
export function suspends(path: NodePath): boolean {
  const owner = runningFunction(path)?.node ?? null;
  const sameFunction = (inner: NodePath) => (runningFunction(inner)?.node ?? null) === owner;
  let found = false;
  const visit = (inner: NodePath) => {
    if (sameFunction(inner)) {
      found = true;
      inner.stop();
    }
  };
  path.traverse({ AwaitExpression: visit, YieldExpression: visit });
  return found;
}

export function instrumentRead(path: NodePath<t.MemberExpression>, state: FileState): void {
  const member = path.node;
  if (state.options.accesses !== 'all' || state.isGenerated(member) || !isReadPosition(path)) return;
  const captured = captureAccess(path, member, state);
  if (!captured) return;
  // `c.size` of a Map or Set is a read of its whole contents (collections.ts); the probe decides.
  const name = captured.key
    ? 'readKey'
    : staticName(member) === 'size' && !member.computed
      ? 'readSize'
      : 'read';
  replace(
    path,
    probe(state, name, [captured.site(SiteKind.Read), ...captured.args, captured.access()], member),
  );
}

const LOGICAL_ASSIGNMENT = new Set(['&&=', '||=', '??=']);

export function instrumentAssignment(path: NodePath<t.AssignmentExpression>, state: FileState): void {
  const node = path.node;
  if (state.options.accesses === 'off' || state.isGenerated(node)) return;
  const captured = captureAccess(path, node.left, state);
  if (!captured) return;
  if (LOGICAL_ASSIGNMENT.has(node.operator)) {
    replace(path, logicalAssignment(node, captured, state));
    return;
  }
  const site = captured.site(SiteKind.Write);
  const keyed = captured.key !== null;
  let assignment: t.AssignmentExpression;
  // A plain write, or a compound assignment in one task (an update: a read and a write).
  let name = node.operator === '=' ? 'write' : 'update';
  if (node.operator !== '=' && state.options.accesses === 'all' && suspends(path.get('right'))) {
    // The read is reported before the await; what is left after it is a plain write.
    name = 'write';
    const temps = captured.key ? [captured.object, captured.key] : [captured.object];
    const old = probe(
      state,
      keyed ? 'readKey' : 'read',
      [captured.site(SiteKind.Read), ...temps.map((id) => t.cloneNode(id)), captured.access()],
      captured.member,
    );
    const operator = node.operator.slice(0, -1) as t.BinaryExpression['operator'];
    assignment = t.assignmentExpression(
      '=',
      captured.access(),
      t.binaryExpression(operator, old, node.right),
    );
  } else {
    assignment = t.assignmentExpression(node.operator, captured.access(), node.right);
  }
  replace(
    path,
    probe(state, keyed ? `${name}Key` : name, [site, ...captured.args, state.mark(assignment)], node),
  );
}

/**
 * `o.p ||= v` reads `o.p` and, only when the read decides so, evaluates `v` and stores it: a read,
 * then a conditional plain write, with the same short circuit.
 *
 *   o.p ||= v  =>  _cw.read(R, _o = o, _o.p) || _cw.write(W, _o, _o.p = v)      (&&, ?? alike)
 *
 * `_o` is read for the write before `v` is evaluated (an inner access of `v` may reuse it). With
 * `accesses: writes` the read is the bare `(_o = o, _o.p)`.
 */
function logicalAssignment(node: t.AssignmentExpression, captured: Capture, state: FileState): t.Expression {
  const keyed = captured.key !== null;
  const temps = () =>
    (captured.key ? [captured.object, captured.key] : [captured.object]).map((id) => t.cloneNode(id));
  const old =
    state.options.accesses === 'all'
      ? probe(
          state,
          keyed ? 'readKey' : 'read',
          [captured.site(SiteKind.Read), ...captured.args, captured.access()],
          captured.member,
        )
      : t.sequenceExpression([...captured.args, captured.access()]);
  const store = state.mark(t.assignmentExpression('=', captured.access(), node.right));
  const write = probe(
    state,
    keyed ? 'writeKey' : 'write',
    [captured.site(SiteKind.Write), ...temps(), store],
    node,
  );
  const operator = node.operator.slice(0, -1) as t.LogicalExpression['operator'];
  return state.mark(t.logicalExpression(operator, old, write));
}

export function instrumentUpdate(path: NodePath<t.UpdateExpression>, state: FileState): void {
  const node = path.node;
  if (state.options.accesses === 'off' || state.isGenerated(node)) return;
  const captured = captureAccess(path, node.argument, state);
  if (!captured) return;
  const site = captured.site(SiteKind.Write);
  const update = state.mark(t.updateExpression(node.operator, captured.access(), node.prefix));
  const suffix = captured.key ? 'Key' : '';
  if (node.prefix) {
    replace(path, probe(state, `update${suffix}`, [site, ...captured.args, update], node));
  } else {
    const delta = node.operator === '++' ? t.numericLiteral(1) : t.unaryExpression('-', t.numericLiteral(1));
    replace(path, probe(state, `postfix${suffix}`, [site, ...captured.args, update, delta], node));
  }
}

export function instrumentDelete(path: NodePath<t.UnaryExpression>, state: FileState): void {
  const node = path.node;
  if (node.operator !== 'delete' || state.options.accesses === 'off' || state.isGenerated(node)) return;
  const captured = captureAccess(path, node.argument, state);
  if (!captured) return;
  const site = captured.site(SiteKind.Write);
  const removal = state.mark(t.unaryExpression('delete', captured.access()));
  replace(path, probe(state, captured.key ? 'removeKey' : 'remove', [site, ...captured.args, removal], node));
}

/**
 * Declares the temporaries the accesses of `path` (a function, static block or the program) were
 * given, as one `var` at the top of its body.
 */
export function declareTemporaries(
  path: NodePath<t.Function> | NodePath<t.StaticBlock> | NodePath<t.Program>,
  state: FileState,
): void {
  const ids = state.takeTemporaries(path.node);
  if (ids.length === 0) return;
  const declaration = state.mark(
    t.variableDeclaration(
      'var',
      ids.map((id) => t.variableDeclarator(id)),
    ),
  );
  if (path.isFunction()) {
    path.ensureBlock();
    (path.get('body') as NodePath<t.BlockStatement>).unshiftContainer('body', declaration);
  } else {
    (path as NodePath<t.StaticBlock | t.Program>).unshiftContainer('body', declaration);
  }
}
