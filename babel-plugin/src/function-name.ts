/** The name a reader would give a function, for site tables. */

import type { NodePath } from '@babel/core';
import { types as t } from '@babel/core';
import { ANONYMOUS } from '@causeway/core/event-format';

function keyName(key: t.Node, computed: boolean): string {
  if (t.isPrivateName(key)) return `#${key.id.name}`;
  if (!computed && t.isIdentifier(key)) return key.name;
  if (t.isStringLiteral(key) || t.isNumericLiteral(key)) return String(key.value);
  return '[computed]';
}

function className(path: NodePath): string | null {
  const cls = path.findParent((p) => p.isClass());
  if (cls === null) return null;
  const node = cls.node as t.Class;
  if (node.id) return node.id.name;
  const parent = cls.parentPath?.node;
  if (parent && t.isVariableDeclarator(parent) && t.isIdentifier(parent.id)) return parent.id.name;
  return null;
}

/** Arrows the plugin wrapped code in (initialisers.ts), and the names they stand for. */
const wrapperNames = new WeakMap<t.Node, string>();

/** Names the plugin's own wrapper `arrow` `name` in site tables (a field's, or its function's). */
export function nameWrapper(arrow: t.ArrowFunctionExpression, name: string): void {
  wrapperNames.set(arrow, name);
}

/** `withdraw`, `Account.withdraw`, `get Account.balance`, or `<anonymous>`. */
export function functionName(path: NodePath<t.Function>): string {
  const node = path.node;
  const wrapped = wrapperNames.get(node);
  if (wrapped !== undefined) return wrapped;
  if ((t.isFunctionDeclaration(node) || t.isFunctionExpression(node)) && node.id) return node.id.name;
  if (t.isObjectMethod(node) || t.isClassMethod(node) || t.isClassPrivateMethod(node)) {
    const key = keyName(node.key, node.computed === true);
    const owner = t.isObjectMethod(node) ? null : className(path);
    const qualified = owner === null ? key : `${owner}.${key}`;
    return node.kind === 'get' || node.kind === 'set' ? `${node.kind} ${qualified}` : qualified;
  }
  const parent = path.parent;
  if (t.isVariableDeclarator(parent) && t.isIdentifier(parent.id)) return parent.id.name;
  if (t.isObjectProperty(parent) && parent.value === node) return keyName(parent.key, parent.computed);
  const field = path.parentPath;
  if (
    (field?.isClassProperty() || field?.isClassPrivateProperty() || field?.isClassAccessorProperty()) &&
    field.node.value === node
  ) {
    return fieldName(field);
  }
  if (t.isAssignmentExpression(parent) && parent.right === node) {
    if (t.isIdentifier(parent.left)) return parent.left.name;
    if (t.isMemberExpression(parent.left)) return keyName(parent.left.property, parent.left.computed);
  }
  return ANONYMOUS;
}

/** `Account.balance` for the initialiser of a class field (`#balance` for a private one). */
export function fieldName(
  path: NodePath<t.ClassProperty | t.ClassPrivateProperty | t.ClassAccessorProperty>,
): string {
  const node = path.node;
  const key = keyName(node.key, !t.isClassPrivateProperty(node) && node.computed);
  const owner = className(path);
  return owner === null ? key : `${owner}.${key}`;
}

/** `Account.<static>` for a class static block. */
export function staticBlockName(path: NodePath<t.StaticBlock>): string {
  const owner = className(path);
  return owner === null ? '<static>' : `${owner}.<static>`;
}
