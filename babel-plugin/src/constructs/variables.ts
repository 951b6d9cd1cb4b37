/**
 * Variables more than one function can reach (module-level variables used in functions,
 * variables captured by closures) are shared state as much as properties are: `count += 1` in two
 * concurrent flows loses an update the same way `o.count += 1` does. Each scope that declares such
 * a variable gets a pseudo-object, created where the scope starts (once per module, per call of a
 * function, per entry into a block), and the variable is recorded as its property named after the
 * variable:
 *
 *   x = v        =>  _cw.write(W, _cwVars, x = v)
 *   x += v, ++x  =>  _cw.update(W, _cwVars, x += v)
 *   x++          =>  _cw.postfix(W, _cwVars, x++, 1)
 *   x += await v =>  _cw.write(W, _cwVars, x = _cw.read(R, _cwVars, x) + await v)
 *   x            =>  _cw.read(R, _cwVars, x)          (with `accesses: all`)
 *
 *   var _cwVars = {};   (at the top of the module or function; `const` at the top of a block)
 *
 * The variable itself is read and assigned where it was, by the original operation: hoisting,
 * TDZ errors, `const` assignment errors and sloppy-mode behaviour are unchanged, and the probe only
 * runs once the access has happened.
 *
 * Which variables: declared with `var`, `let`, `const`, as a parameter or a function, assigned
 * somewhere after their declaration (a variable never reassigned cannot race), and referenced from
 * more than one function (the module's top level counts as one). Logical assignments are a read
 * and a conditional write (as for properties); destructuring targets and for-in/of heads are
 * recorded by destructuring.ts. Variables of `for` heads and `catch` parameters belong to the
 * body block's pseudo-object (headBody). Not recorded: initialisers (`let x = 0`), accesses to
 * those in the heads themselves, `switch` bodies, accesses in a function's parameter list to its
 * own variables (its pseudo-object does not exist yet there).
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { SiteKind } from '@causeway/core/event-format';
import type { FileState } from '../file-state.ts';
import { accessContext, probe, replace, suspends } from './accesses.ts';
import { runningFunction } from './awaits.ts';

type Binding = NonNullable<ReturnType<NodePath['scope']['getBinding']>>;

type ScopeOwner = NodePath<t.Program | t.Function | t.BlockStatement | t.StaticBlock>;

interface SharedVariables {
  /** The declaring identifier of each shared variable, and the scope that owns its pseudo-object. */
  owners: WeakMap<t.Node, t.Node>;
  /** The pseudo-object of each scope that has one, created on first use. */
  objects: WeakMap<t.Node, t.Identifier>;
  /**
   * The declaring identifiers of `for` head and `catch` parameter variables: their pseudo-object
   * is the body block's, so only accesses in the body are recorded.
   */
  bodyOnly: WeakSet<t.Node>;
}

const sharedByFile = new WeakMap<FileState, SharedVariables>();

/** The scope whose pseudo-object holds `binding`, or null for scopes that get none. */
function ownerOf(binding: Binding): ScopeOwner | null {
  const path = binding.scope.path;
  if (path.isProgram() || path.isFunction() || path.isStaticBlock()) return path as ScopeOwner;
  if (path.isBlockStatement() && !path.parentPath?.isFunction()) return path;
  return headBody(binding);
}

/**
 * For a variable of a `for` head (`for (let i …)`, `for (const x of …)`) or a catch parameter:
 * the body block, entered once per iteration (per caught exception), as the variable is created
 * once per iteration. Null when there is none, or the body declares a variable of the same name
 * (both would be one property of the block's pseudo-object).
 */
function headBody(binding: Binding): NodePath<t.BlockStatement> | null {
  const path = binding.scope.path;
  if (
    !path.isForStatement() &&
    !path.isForInStatement() &&
    !path.isForOfStatement() &&
    !path.isCatchClause()
  ) {
    return null;
  }
  const body = (path as NodePath<t.ForStatement | t.ForInStatement | t.ForOfStatement | t.CatchClause>).get(
    'body',
  ) as NodePath;
  if (!body.isBlockStatement()) return null;
  // A catch body shares the clause's scope; a loop body has its own.
  if (!path.isCatchClause() && body.scope.hasOwnBinding(binding.identifier.name)) return null;
  return body;
}

/** Is the binding reachable from more than one function (the module's top level counting as one)? */
function isShared(binding: Binding): boolean {
  if (binding.constantViolations.length === 0) return false;
  if (binding.kind === 'module' || binding.kind === 'local' || binding.kind === 'unknown') return false;
  const functions = new Set<t.Node | null>([runningFunction(binding.path)?.node ?? null]);
  for (const path of [...binding.referencePaths, ...binding.constantViolations]) {
    functions.add(runningFunction(path)?.node ?? null);
    if (functions.size > 1) return true;
  }
  return false;
}

/** Finds the shared variables of the program, before anything is rewritten. */
export function findSharedVariables(program: NodePath<t.Program>, state: FileState): void {
  const shared: SharedVariables = { owners: new WeakMap(), objects: new WeakMap(), bodyOnly: new WeakSet() };
  sharedByFile.set(state, shared);
  if (state.options.accesses === 'off') return;
  const visit = (scope: NodePath['scope']) => {
    for (const binding of Object.values(scope.bindings)) {
      const owner = ownerOf(binding);
      if (owner === null || !isShared(binding)) continue;
      shared.owners.set(binding.identifier, owner.node);
      if (owner.node !== binding.scope.path.node) shared.bodyOnly.add(binding.identifier);
    }
  };
  visit(program.scope);
  program.traverse({
    Scopable(path) {
      visit(path.scope);
    },
  });
}

/**
 * True when `path` is in the parameter list of the function whose pseudo-object is `owner`: that
 * object is created in the function's body, after the parameters. (The pseudo-objects of
 * enclosing scopes exist already, so their variables are recorded in parameter defaults.)
 */
function inOwnersParameters(path: NodePath, owner: t.Node): boolean {
  for (
    let child: NodePath = path, parent = path.parentPath;
    parent !== null;
    child = parent, parent = parent.parentPath
  ) {
    if (parent.isFunction() && child.listKey === 'params' && parent.node === owner) return true;
  }
  return false;
}

interface VariableAccess {
  object: t.Identifier;
  context: NonNullable<ReturnType<typeof accessContext>>;
}

/** Is `name` at `path` a shared variable? (The cheap test, before the position is examined.) */
function isSharedName(path: NodePath, name: string, state: FileState): boolean {
  const binding = path.scope.getBinding(name);
  return binding !== undefined && sharedByFile.get(state)?.owners.has(binding.identifier) === true;
}

/** The pseudo-object for the shared variable `name` at `path`, or null when it is not recorded. */
export function variableAccess(path: NodePath, name: string, state: FileState): VariableAccess | null {
  const shared = sharedByFile.get(state);
  const binding = path.scope.getBinding(name);
  if (shared === undefined || binding === undefined) return null;
  const owner = shared.owners.get(binding.identifier);
  if (owner === undefined || inOwnersParameters(path, owner)) return null;
  if (shared.bodyOnly.has(binding.identifier) && path.findParent((p) => p.node === owner) === null)
    return null;
  const context = accessContext(path);
  if (context === null) return null;
  let object = shared.objects.get(owner);
  if (object === undefined) {
    object = path.scope.generateUidIdentifier('cwVars');
    shared.objects.set(owner, object);
  }
  return { object: t.cloneNode(object), context };
}

const LOGICAL_ASSIGNMENT = new Set(['&&=', '||=', '??=']);

export function instrumentVariableAssignment(path: NodePath<t.AssignmentExpression>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node) || state.options.accesses === 'off') return;
  if (!t.isIdentifier(node.left)) return;
  const name = node.left.name;
  const access = variableAccess(path, name, state);
  if (access === null) return;
  if (LOGICAL_ASSIGNMENT.has(node.operator)) {
    replace(path, logicalAssignment(node, name, access, state));
    return;
  }
  const site = state.site(SiteKind.Write, node.left, access.context.functionName, name);
  let probeName = node.operator === '=' ? 'write' : 'update';
  let assignment: t.AssignmentExpression;
  if (node.operator !== '=' && state.options.accesses === 'all' && suspends(path.get('right'))) {
    // As for properties: the read is reported before the await, a plain write after it.
    probeName = 'write';
    const old = probe(
      state,
      'read',
      [
        state.site(SiteKind.Read, node.left, access.context.functionName, name),
        t.cloneNode(access.object),
        t.identifier(name),
      ],
      node.left,
    );
    const operator = node.operator.slice(0, -1) as t.BinaryExpression['operator'];
    assignment = t.assignmentExpression(
      '=',
      t.identifier(name),
      t.binaryExpression(operator, old, node.right),
    );
  } else {
    assignment = t.assignmentExpression(node.operator, t.identifier(name), node.right);
  }
  assignment.left.loc = node.left.loc ?? null;
  replace(path, probe(state, probeName, [site, access.object, state.mark(assignment)], node));
}

/**
 * `x ||= v`: a read, then a write only when the operator assigns (as for properties, accesses.ts).
 *
 *   x ||= v  =>  _cw.read(R, _cwVars, x) || _cw.write(W, _cwVars, x = v)
 *
 * `x = v` names an anonymous function or class `x` as `x ||= v` does.
 */
function logicalAssignment(
  node: t.AssignmentExpression,
  name: string,
  access: VariableAccess,
  state: FileState,
): t.Expression {
  const current = state.mark(t.identifier(name));
  current.loc = node.left.loc ?? null;
  const old =
    state.options.accesses === 'all'
      ? probe(
          state,
          'read',
          [
            state.site(SiteKind.Read, node.left, access.context.functionName, name),
            t.cloneNode(access.object),
            current,
          ],
          node.left,
        )
      : current;
  const store = state.mark(t.assignmentExpression('=', t.identifier(name), node.right));
  store.left.loc = node.left.loc ?? null;
  const site = state.site(SiteKind.Write, node.left, access.context.functionName, name);
  const write = probe(state, 'write', [site, access.object, store], node);
  return state.mark(
    t.logicalExpression(node.operator.slice(0, -1) as t.LogicalExpression['operator'], old, write),
  );
}

export function instrumentVariableUpdate(path: NodePath<t.UpdateExpression>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node) || state.options.accesses === 'off' || !t.isIdentifier(node.argument)) return;
  const name = node.argument.name;
  const access = variableAccess(path, name, state);
  if (access === null) return;
  const site = state.site(SiteKind.Write, node.argument, access.context.functionName, name);
  const update = state.mark(t.updateExpression(node.operator, t.identifier(name), node.prefix));
  if (node.prefix) {
    replace(path, probe(state, 'update', [site, access.object, update], node));
  } else {
    const delta = node.operator === '++' ? t.numericLiteral(1) : t.unaryExpression('-', t.numericLiteral(1));
    replace(path, probe(state, 'postfix', [site, access.object, update, delta], node));
  }
}

/** Is the identifier at `path` read as a value (not a target, a declaration or a type)? */
function isValueRead(path: NodePath<t.Identifier>): boolean {
  if (!path.isReferencedIdentifier()) return false;
  const parent = path.parentPath;
  if (parent === null) return false;
  if (parent.isUpdateExpression() || parent.isExportSpecifier()) return false;
  if (parent.isUnaryExpression({ operator: 'delete' })) return false;
  if ((parent.isForInStatement() || parent.isForOfStatement()) && path.key === 'left') return false;
  if (parent.isAssignmentExpression() && path.key === 'left') return false;
  // Type positions (`typeof x` in a type, qualified names) are not code.
  if (path.findParent((p) => p.isTSType() || p.isTSEntityName() || p.isTSTypeQuery()) !== null) return false;
  return true;
}

export function instrumentVariableRead(path: NodePath<t.Identifier>, state: FileState): void {
  const node = path.node;
  if (state.isGenerated(node) || state.options.accesses !== 'all' || !isSharedName(path, node.name, state))
    return;
  if (!isValueRead(path)) return;
  const access = variableAccess(path, node.name, state);
  if (access === null) return;
  const parent = path.parent;
  // `{ x }` becomes `{ x: _cw.read(...) }`.
  if (t.isObjectProperty(parent) && parent.shorthand && parent.value === node) parent.shorthand = false;
  const site = state.site(SiteKind.Read, node, access.context.functionName, node.name);
  const read = state.mark(t.identifier(node.name));
  read.loc = node.loc ?? null;
  replace(path, probe(state, 'read', [site, access.object, read], node));
}

/**
 * Declares the pseudo-object of `path` (a function, static block or block statement) if one was
 * handed out: `var` at the top of a function or static block, `const` at the top of a block.
 */
export function declareVariablesObject(path: NodePath, state: FileState): void {
  const object = sharedByFile.get(state)?.objects.get(path.node);
  if (object === undefined) return;
  const declaration = state.mark(
    t.variableDeclaration(path.isBlockStatement() ? 'const' : 'var', [
      t.variableDeclarator(t.cloneNode(object), t.objectExpression([])),
    ]),
  );
  if (path.isFunction()) {
    path.ensureBlock();
    (path.get('body') as NodePath<t.BlockStatement>).unshiftContainer('body', declaration);
  } else if (path.isBlockStatement()) {
    path.unshiftContainer('body', declaration);
  } else if (path.isStaticBlock()) {
    path.unshiftContainer('body', declaration);
  }
}

/** The program's pseudo-object, for the file's header, or null when it has none. */
export function programVariablesObject(program: NodePath<t.Program>, state: FileState): t.Identifier | null {
  return sharedByFile.get(state)?.objects.get(program.node) ?? null;
}
