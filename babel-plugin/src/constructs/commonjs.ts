/**
 * CommonJS exports stay as Node's CommonJS export detection (cjs-module-lexer) reads them. An ES
 * module importing a CommonJS file gets the named exports the lexer finds in its source text:
 * `exports.a = ...`, `module.exports = { a }`, and re-export getters
 * `Object.defineProperty(exports, 'a', { enumerable: true, get: function () { return m.a; } })`.
 * Rewritten into probe calls, they would no longer be found, and `import { a }` would fail. So
 * accesses to the free `exports`, `module` and `module.exports`, and those getters, are left
 * alone. (Recording writes to a module's exports while it loads finds no race anyway.)
 */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';

/** The free identifier `name` (not a variable of the program) at `path`. */
function isFree(path: NodePath, node: t.Node, name: string): boolean {
  return t.isIdentifier(node, { name }) && !path.scope.hasBinding(name, { noGlobals: true });
}

/** Is `node` (at `path`) the module's `exports`, `module` or `module.exports`? */
export function isModuleExports(path: NodePath, node: t.Node): boolean {
  if (isFree(path, node, 'exports') || isFree(path, node, 'module')) return true;
  return (
    t.isMemberExpression(node) &&
    !node.computed &&
    t.isIdentifier(node.property, { name: 'exports' }) &&
    isFree(path, node.object, 'module')
  );
}

/** Is the function at `path` the getter of an `Object.defineProperty(exports, name, { get })`? */
export function isReexportGetter(path: NodePath<t.Function>): boolean {
  const property = path.isObjectMethod() ? path : path.parentPath;
  if (property === null) return false;
  const node = property.node;
  const isGetKey = (key: t.Node) =>
    t.isIdentifier(key, { name: 'get' }) || t.isStringLiteral(key, { value: 'get' });
  if (t.isObjectMethod(node)) {
    if (node.computed || !isGetKey(node.key)) return false;
  } else if (t.isObjectProperty(node)) {
    if (node.computed || !isGetKey(node.key) || path.key !== 'value') return false;
  } else {
    return false;
  }
  const call = property.parentPath?.parentPath;
  if (call === null || call === undefined || !call.isCallExpression()) return false;
  const { callee, arguments: args } = call.node;
  return (
    t.isMemberExpression(callee) &&
    t.isIdentifier(callee.object, { name: 'Object' }) &&
    t.isIdentifier(callee.property, { name: 'defineProperty' }) &&
    args[2] === property.parent &&
    args[0] !== undefined &&
    isModuleExports(call, args[0])
  );
}
