/**
 * Property writes through destructuring targets and for-in/of heads.
 *
 * A member target in a pattern (`[o.p, ...o[k]] = v`, `({ a: o.x = 1 } = v)`) is assigned by the
 * pattern itself, at its place in the destructuring: its object (and key) are evaluated there,
 * between the iterator steps or the property reads of the source. So the target stays where it
 * is, with its object and key captured into temporaries of their own as they are evaluated, and
 * the writes are recorded once the whole assignment is done, in the order the targets were
 * assigned (the assigned values are not read back: that could run a getter, so they are not
 * captured):
 *
 *   [o.p, o[k]] = v  =>  _cw.assignedKey(W2, _cw.assigned(W1, [(_o1 = o).p, (_o2 = o)[_k2 = k]] = v, _o1), _o2, _k2)
 *
 * Both probes return their second argument, so the assignment's value is unchanged. A for-in/of head
 * that is a member or a pattern holding one is assigned after each step, before the body; it
 * becomes an assignment at the top of the body, from a temporary the loop assigns instead, which
 * evaluates the same things in the same order:
 *
 *   for (o.p of xs) body  =>  for (_i of xs) { _cw.write(W, _o = o, _o.p = _i); body }
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { accessContext, probe, replace, staticName, unnamed, unwrap } from './accesses.ts';
import { isModuleExports } from './commonjs.ts';
import { variableAccess } from './variables.ts';

interface Target {
  site: t.Expression;
  object: t.Identifier;
  key: t.Identifier | null;
}

/**
 * Rewrites the member targets of `pattern` in place to capture their object and key, in
 * evaluation order, and finds its shared variables (variables.ts); returns the targets to record
 * in order, or null when there are none or one cannot be captured (then nothing is changed).
 */
function captureTargets(pattern: t.Node, path: NodePath, state: FileState): Target[] | null {
  const context = accessContext(path);
  if (context === null || context.shared) return null;
  const found: (t.MemberExpression | t.Identifier)[] = [];
  let refused = false;
  const walk = (node: t.Node | null | undefined): void => {
    if (node == null) return;
    const inner = unwrap(node);
    if (t.isMemberExpression(inner)) {
      if (t.isSuper(inner.object) || isModuleExports(path, unwrap(inner.object))) refused = true;
      else found.push(inner);
    } else if (t.isIdentifier(inner)) {
      found.push(inner);
    } else if (t.isArrayPattern(inner)) {
      for (const element of inner.elements) walk(element);
    } else if (t.isObjectPattern(inner)) {
      for (const property of inner.properties)
        walk(t.isRestElement(property) ? property.argument : property.value);
    } else if (t.isAssignmentPattern(inner)) {
      walk(inner.left);
    } else if (t.isRestElement(inner)) {
      walk(inner.argument);
    }
  };
  walk(pattern);
  if (refused) return null;
  const targets: Target[] = [];
  const members: [t.MemberExpression, Target][] = [];
  for (const target of found) {
    if (t.isIdentifier(target)) {
      const access = variableAccess(path, target.name, state);
      if (access === null) continue;
      const site = state.site(SiteKind.Write, target, access.context.functionName, target.name);
      targets.push({ site, object: access.object, key: null });
      continue;
    }
    const object = state.temporary(context.scope, 'object', true);
    const name = staticName(target);
    const site = state.site(SiteKind.Write, target.property, context.functionName, name ?? '');
    const key = name === null ? state.temporary(context.scope, 'object', true) : null;
    const captured = { site, object, key };
    targets.push(captured);
    members.push([target, captured]);
  }
  if (targets.length === 0) return null;
  for (const [member, { object, key }] of members) {
    member.object = state.mark(
      t.assignmentExpression('=', t.cloneNode(object), unnamed(member.object as t.Expression)),
    );
    if (key !== null) {
      member.property = state.mark(
        t.assignmentExpression('=', t.cloneNode(key), unnamed(member.property as t.Expression)),
      );
      member.computed = true;
    }
  }
  return targets;
}

/** `assignment` (a destructuring assignment's value) with its targets' writes recorded after it. */
function recorded(assignment: t.Expression, targets: Target[], at: t.Node, state: FileState): t.Expression {
  let result = assignment;
  for (const target of targets) {
    // The result first: the temporaries are read once the assignment has assigned them.
    const args = target.key
      ? [target.site, result, t.cloneNode(target.object), t.cloneNode(target.key)]
      : [target.site, result, t.cloneNode(target.object)];
    result = probe(state, target.key ? 'assignedKey' : 'assigned', args, at);
  }
  return result;
}

export function instrumentDestructuring(path: NodePath<t.AssignmentExpression>, state: FileState): void {
  const node = path.node;
  if (state.options.accesses === 'off' || state.isGenerated(node) || node.operator !== '=') return;
  if (!t.isArrayPattern(node.left) && !t.isObjectPattern(node.left)) return;
  const targets = captureTargets(node.left, path, state);
  if (targets === null) return;
  replace(path, recorded(state.mark(node), targets, node, state));
}

export function instrumentLoopHead(
  path: NodePath<t.ForOfStatement | t.ForInStatement>,
  state: FileState,
): void {
  const node = path.node;
  if (state.options.accesses === 'off' || state.isGenerated(node)) return;
  const left = unwrap(node.left);
  if (t.isVariableDeclaration(left)) return;
  const context = accessContext(path);
  if (context === null || context.shared) return;
  let head: t.Expression;
  const item = state.temporary(context.scope, 'object', true);
  if (t.isIdentifier(left)) {
    const access = variableAccess(path, left.name, state);
    if (access === null) return;
    const site = state.site(SiteKind.Write, left, access.context.functionName, left.name);
    const store = state.mark(t.assignmentExpression('=', t.identifier(left.name), t.cloneNode(item)));
    store.left.loc = left.loc ?? null;
    head = probe(state, 'write', [site, access.object, store], left);
  } else if (t.isMemberExpression(left)) {
    if (t.isSuper(left.object) || isModuleExports(path, unwrap(left.object))) return;
    const name = staticName(left);
    const object = state.temporary(context.scope, 'object', true);
    const site = state.site(SiteKind.Write, left.property, context.functionName, name ?? '');
    const captureObject = t.assignmentExpression(
      '=',
      t.cloneNode(object),
      unnamed(left.object as t.Expression),
    );
    if (name !== null) {
      const target = state.mark(t.memberExpression(t.cloneNode(object), left.property, left.computed));
      const store = state.mark(t.assignmentExpression('=', target, t.cloneNode(item)));
      head = probe(state, 'write', [site, captureObject, store], left);
    } else {
      const key = state.temporary(context.scope, 'object', true);
      const captureKey = t.assignmentExpression(
        '=',
        t.cloneNode(key),
        unnamed(left.property as t.Expression),
      );
      const target = state.mark(t.memberExpression(t.cloneNode(object), t.cloneNode(key), true));
      const store = state.mark(t.assignmentExpression('=', target, t.cloneNode(item)));
      head = probe(state, 'writeKey', [site, captureObject, captureKey, store], left);
    }
  } else if (t.isArrayPattern(left) || t.isObjectPattern(left)) {
    const targets = captureTargets(left, path, state);
    if (targets === null) return;
    const assignment = state.mark(t.assignmentExpression('=', node.left as typeof left, t.cloneNode(item)));
    head = recorded(assignment, targets, left, state);
  } else {
    return;
  }
  node.left = t.cloneNode(item);
  node.body = t.blockStatement([t.expressionStatement(head), node.body]);
}

/**
 * The reads an object pattern makes of its source: `const { a, b: c = 1, [k]: d } = obj` reads
 * `obj.a`, `obj.b` and `obj[k]`, in that order, each right before assigning its target. Each
 * property's key becomes a computed key whose probe records the read and returns the key, so the
 * read is recorded where it happens, in the same order (the value is not captured: the probe runs
 * just before the get, which only the pattern performs, once):
 *
 *   const { a, [k]: d } = obj  =>  const { [_cw.patternRead(R, _o, "a")]: a, [_cw.patternReadKey(R2, _o, k)]: d } = (_o = obj)
 *
 * A computed key is passed unconverted, and converted by the pattern as before (once); a rest
 * element still leaves out the same keys. Only the pattern's own properties are recorded: a
 * nested pattern reads an object no temporary holds (`{ b: { c } }` records `obj.b`, not `.c`).
 * For-in/of heads, catch parameters and a strict function's last parameter are moved into their
 * bodies first (below).
 */
export function instrumentPatternReads(
  pattern: t.ObjectPattern,
  source: NodePath<t.Expression>,
  state: FileState,
): void {
  const object = rewritePatternKeys(pattern, source, state);
  if (object === null) return;
  source.replaceWith(t.assignmentExpression('=', object, unnamed(source.node)));
  source.skip();
}

/**
 * A for-in/of head or a catch parameter that is an object pattern has no source expression: the
 * pattern moves into the body, as a declaration of the same kind from a variable the head (or
 * the catch) assigns instead, so its reads can be recorded there:
 *
 *   for (const { a } of xs) body  =>  for (const _i of xs) { const { [..]: a } = (_o = _i); body }
 *   catch ({ message }) { body }   =>  catch (_e) { let { [..]: message } = (_o = _e); body }
 *
 * The loop's body stays a block of its own (it may declare a name the head declares); the catch
 * body's statements follow the declaration in one block, as a catch parameter and its body share
 * a scope. The pattern is evaluated at the same point (after the step, before the body; when the
 * exception is caught), once per iteration, with the same defaults and errors. A catch pattern
 * whose defaults or computed keys name something its body declares stays where it is
 * (readsBodyNames); a loop's body stays a block of its own, so its declarations are not seen.
 */
export function instrumentHeadPatternReads(
  path: NodePath<t.ForOfStatement | t.ForInStatement>,
  state: FileState,
): void {
  const node = path.node;
  const left = node.left;
  if (state.isGenerated(node) || !t.isVariableDeclaration(left) || left.declarations.length !== 1) return;
  if (left.kind !== 'var' && left.kind !== 'let' && left.kind !== 'const') return;
  const pattern = left.declarations[0]?.id;
  if (!t.isObjectPattern(pattern)) return;
  const object = rewritePatternKeys(pattern, path, state);
  if (object === null) return;
  const item = path.scope.generateUidIdentifier('cwItem');
  const declaration = t.variableDeclaration(left.kind, [
    t.variableDeclarator(pattern, t.assignmentExpression('=', object, t.cloneNode(item))),
  ]);
  node.left = t.variableDeclaration(left.kind, [t.variableDeclarator(item)]);
  node.body = t.blockStatement([declaration, node.body]);
}

export function instrumentCatchPatternReads(path: NodePath<t.CatchClause>, state: FileState): void {
  const node = path.node;
  const pattern = node.param;
  if (state.isGenerated(node) || !t.isObjectPattern(pattern)) return;
  // Its defaults and computed keys see the enclosing scope, not the catch body's declarations.
  if (readsBodyNames(path.get('param') as NodePath, node.body)) return;
  const object = rewritePatternKeys(pattern, path, state);
  if (object === null) return;
  const error = path.scope.generateUidIdentifier('cwCaught');
  const declaration = t.variableDeclaration('let', [
    t.variableDeclarator(pattern, t.assignmentExpression('=', object, t.cloneNode(error))),
  ]);
  node.param = error;
  node.body.body.unshift(declaration);
}

/**
 * Rewrites the keys of `pattern` to record its reads of an object held in a new temporary, and
 * returns that temporary (the caller assigns the source to it); null when nothing is recorded.
 */
function rewritePatternKeys(pattern: t.ObjectPattern, at: NodePath, state: FileState): t.Identifier | null {
  if (state.options.accesses !== 'all' || state.isGenerated(pattern)) return null;
  const properties = pattern.properties.filter((p): p is t.ObjectProperty => t.isObjectProperty(p));
  if (properties.length === 0) return null;
  const context = accessContext(at);
  if (context === null || context.shared) return null;
  const object = state.temporary(context.scope, 'object', true);
  const keys: [t.ObjectProperty, t.Expression][] = [];
  for (const property of properties) {
    const key = property.key;
    let name: string | null = null;
    if (!property.computed && t.isIdentifier(key)) name = key.name;
    else if (t.isStringLiteral(key)) name = key.value;
    else if (t.isNumericLiteral(key)) name = String(key.value);
    else if (!property.computed || !t.isExpression(key)) return null; // a bigint key: left alone
    const site = state.site(SiteKind.Read, key, context.functionName, name ?? '');
    const probeKey =
      name === null
        ? probe(state, 'patternReadKey', [site, t.cloneNode(object), key as t.Expression], key)
        : probe(state, 'patternRead', [site, t.cloneNode(object), t.stringLiteral(name)], key);
    keys.push([property, probeKey]);
  }
  for (const [property, probeKey] of keys) {
    property.key = probeKey;
    property.computed = true;
    property.shorthand = false;
  }
  state.mark(pattern);
  return t.cloneNode(object);
}

/** Names declared with `var` or as functions directly in `body` (not in nested functions). */
function bodyVarNames(body: t.Node): Set<string> {
  const names = new Set<string>();
  t.traverseFast(body, (node) => {
    if (node !== body && t.isFunction(node)) {
      if (t.isFunctionDeclaration(node) && node.id) names.add(node.id.name);
      return t.traverseFast.skip;
    }
    if (t.isVariableDeclaration(node) && node.kind === 'var') {
      for (const name of Object.keys(t.getBindingIdentifiers(node))) names.add(name);
    }
  });
  return names;
}

/**
 * Every name `body` declares, in any block of it but not inside its nested functions: variables
 * of any kind, functions, classes, TypeScript enums and namespaces. More than the names its top
 * level can see (a nested block's own `let` counts too), which only leaves more patterns alone.
 */
function bodyDeclaredNames(body: t.Node): Set<string> {
  const names = new Set<string>();
  t.traverseFast(body, (node) => {
    if (node !== body && t.isFunction(node)) {
      if (t.isFunctionDeclaration(node) && node.id) names.add(node.id.name);
      return t.traverseFast.skip;
    }
    if (t.isVariableDeclaration(node) || t.isClassDeclaration(node) || t.isTSEnumDeclaration(node)) {
      for (const name of Object.keys(t.getBindingIdentifiers(node))) names.add(name);
    } else if (t.isTSModuleDeclaration(node) && t.isIdentifier(node.id)) {
      names.add(node.id.name);
    }
  });
  return names;
}

/**
 * Does the pattern at `pattern` refer, in a default or a computed key (also inside a function
 * there), to a name `body` declares? Where it stands, such a name is the enclosing scope's (or the
 * parameter list's); moved into the body, it would become the body's own: another function, a
 * `var` still undefined, a `let` in its TDZ. Such a pattern must stay where it is.
 */
function readsBodyNames(pattern: NodePath, body: t.Node): boolean {
  const declared = bodyDeclaredNames(body);
  if (declared.size === 0) return false;
  let found = false;
  pattern.traverse({
    ReferencedIdentifier(inner) {
      const node = inner.node;
      if ((t.isIdentifier(node) || t.isJSXIdentifier(node)) && declared.has(node.name)) {
        found = true;
        inner.stop();
      }
    },
  });
  return found;
}

/**
 * A function's last parameter that is an object pattern (`function f(a, { b, c } = d)`) reads its
 * argument's properties: where nothing can tell the difference, the pattern moves into the body,
 * first after the function's enter (so its reads belong to the task the function runs in), from a
 * parameter that takes its place:
 *
 *   function f(a, { b, c } = d) { body }  =>  function f(a, _p = d) { let { [..]: b, [..]: c } = (_o = _p); body }
 *
 * Only where that changes nothing: in strict code (sloppy code's `arguments` would start to alias
 * the simple parameters), for the last parameter (a later default could see the pattern's names,
 * or hit their TDZ), not in a generator (its parameters are bound at the call, its body runs at
 * the first next()), when no earlier parameter names one of the pattern's names (a closure there
 * would not see them), when the body declares none of them with `var` or as a function, and when
 * no default or computed key of the pattern names anything the body declares (readsBodyNames).
 * `f.length` is unchanged (a pattern and a plain parameter count the same). Elsewhere the
 * pattern's reads are not recorded.
 */
export function instrumentParameterPatternReads(path: NodePath<t.Function>, state: FileState): void {
  const node = path.node;
  const last = node.params[node.params.length - 1];
  if (last === undefined || node.generator || !path.isInStrictMode()) return;
  const pattern = t.isAssignmentPattern(last) ? last.left : last;
  if (!t.isObjectPattern(pattern)) return;
  const bound = new Set(Object.keys(t.getBindingIdentifiers(pattern)));
  const declared = t.isBlockStatement(node.body) ? bodyVarNames(node.body) : new Set<string>();
  if ([...bound].some((name) => declared.has(name))) return;
  // An earlier parameter's closure (`g = () => a`) would no longer see the pattern's names.
  let seenEarlier = false;
  for (const earlier of node.params.slice(0, -1)) {
    t.traverseFast(earlier, (inner) => {
      if (t.isIdentifier(inner) && bound.has(inner.name)) seenEarlier = true;
    });
  }
  if (seenEarlier) return;
  // Its defaults and computed keys see the parameter list's scope, not the body's declarations.
  const patternPath = path.get(`params.${node.params.length - 1}`) as NodePath;
  if (
    t.isBlockStatement(node.body) &&
    readsBodyNames(
      t.isAssignmentPattern(last) ? (patternPath.get('left') as NodePath) : patternPath,
      node.body,
    )
  )
    return;
  const object = rewritePatternKeys(pattern, path.get('body') as NodePath, state);
  if (object === null) return;
  const parameter = path.scope.generateUidIdentifier('cwParam');
  const declaration = state.mark(
    t.variableDeclaration('let', [
      t.variableDeclarator(pattern, t.assignmentExpression('=', object, t.cloneNode(parameter))),
    ]),
  );
  path.ensureBlock();
  // First in the function's own try block (functions.ts), after its enter: a function entered
  // from another event-loop callback starts its task there, and the reads belong to it; an
  // exception of the pattern is then the function's throw. Without one (its rewrite failed), first.
  const body = node.body as t.BlockStatement;
  const wrapper = body.body.find((s): s is t.TryStatement => t.isTryStatement(s) && state.isGenerated(s));
  (wrapper ? wrapper.block : body).body.unshift(declaration);
  // Last, once the declaration is in place: nothing can fail between the two.
  if (t.isAssignmentPattern(last)) last.left = parameter;
  else node.params[node.params.length - 1] = parameter;
}
