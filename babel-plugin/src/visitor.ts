/**
 * The instrumentation pass: one visitor, run by the plugin over the whole program before any other
 * plugin sees it. Functions and awaits are handled on exit, so a function's awaits have asked for
 * its invocation id before the function's own prologue is written. Property accesses are handled on
 * exit too, innermost first, and a function (or static block) declares the temporaries its accesses
 * asked for on its own exit; the program declares its own after the pass (index.ts).
 */

import type { NodePath, types as t, Visitor } from '@babel/core';
import {
  declareTemporaries,
  instrumentAssignment,
  instrumentDelete,
  instrumentRead,
  instrumentUpdate,
} from './constructs/accesses.ts';
import { instrumentAwait } from './constructs/awaits.ts';
import { instrumentCatch, instrumentFinally } from './constructs/catch.ts';
import { instrumentCollectionCall, instrumentIteration } from './constructs/collections.ts';
import { isReexportGetter } from './constructs/commonjs.ts';
import {
  instrumentCatchPatternReads,
  instrumentDestructuring,
  instrumentHeadPatternReads,
  instrumentLoopHead,
  instrumentParameterPatternReads,
  instrumentPatternReads,
} from './constructs/destructuring.ts';
import { instrumentForAwait } from './constructs/for-await.ts';
import { declareFallback, instrumentFunction } from './constructs/functions.ts';
import { wrapFieldInitialiser, wrapParameterDefault } from './constructs/initialisers.ts';
import {
  declareVariablesObject,
  instrumentVariableAssignment,
  instrumentVariableRead,
  instrumentVariableUpdate,
} from './constructs/variables.ts';
import { instrumentYield } from './constructs/yields.ts';
import type { FileState } from './file-state.ts';
import { guarded } from './guard.ts';

export const instrumentationVisitor: Visitor<FileState> = {
  Function: {
    enter(path) {
      // Left as written, accesses included, so Node still finds the re-export (commonjs.ts).
      if (isReexportGetter(path)) path.skip();
    },
    exit(path, state) {
      if (!guarded(path, state, 'function', () => instrumentFunction(path, state))) {
        declareFallback(path, state);
      }
      guarded(path, state, 'destructuring', () => instrumentParameterPatternReads(path, state));
      declareTemporaries(path, state);
      declareVariablesObject(path, state);
    },
  },
  'ClassProperty|ClassPrivateProperty|ClassAccessorProperty'(path, state) {
    const field = path as NodePath<t.ClassProperty | t.ClassPrivateProperty | t.ClassAccessorProperty>;
    guarded(field, state, 'class field', () => wrapFieldInitialiser(field, state));
  },
  AssignmentPattern(path, state) {
    guarded(path, state, 'parameter default', () => wrapParameterDefault(path, state));
  },
  StaticBlock: {
    exit(path, state) {
      declareTemporaries(path, state);
      declareVariablesObject(path, state);
    },
  },
  BlockStatement: {
    exit(path, state) {
      declareVariablesObject(path, state);
    },
  },
  Identifier: {
    exit(path, state) {
      guarded(path, state, 'variable access', () => instrumentVariableRead(path, state));
    },
  },
  MemberExpression: {
    exit(path, state) {
      guarded(path, state, 'property read', () => instrumentRead(path, state));
    },
  },
  AssignmentExpression: {
    exit(path, state) {
      guarded(path, state, 'property write', () => instrumentAssignment(path, state));
      // `[a, b] = c` iterates `c`, as `for (x of c)` does.
      if (
        path.isAssignmentExpression() &&
        path.node.left.type === 'ArrayPattern' &&
        path.node.operator === '='
      ) {
        const right = path.get('right');
        guarded(right, state, 'iteration', () => instrumentIteration(right, state));
      }
      if (path.isAssignmentExpression() && path.node.operator === '=') {
        const { left } = path.node;
        const right = path.get('right');
        if (left.type === 'ObjectPattern')
          guarded(path, state, 'destructuring', () => instrumentPatternReads(left, right, state));
      }
      if (path.isAssignmentExpression())
        guarded(path, state, 'destructuring', () => instrumentDestructuring(path, state));
      if (path.isAssignmentExpression())
        guarded(path, state, 'variable access', () => instrumentVariableAssignment(path, state));
    },
  },
  VariableDeclarator: {
    exit(path, state) {
      // `const [a, b] = c` iterates `c`.
      const init = path.get('init');
      if (path.node.id.type === 'ArrayPattern' && init.isExpression())
        guarded(init, state, 'iteration', () => instrumentIteration(init, state));
      // `const { a, b } = obj` reads obj.a and obj.b.
      const { id } = path.node;
      if (id.type === 'ObjectPattern' && init.isExpression())
        guarded(path, state, 'destructuring', () => instrumentPatternReads(id, init, state));
    },
  },
  UpdateExpression: {
    exit(path, state) {
      guarded(path, state, 'property write', () => instrumentUpdate(path, state));
      if (path.isUpdateExpression())
        guarded(path, state, 'variable access', () => instrumentVariableUpdate(path, state));
    },
  },
  UnaryExpression: {
    exit(path, state) {
      guarded(path, state, 'property write', () => instrumentDelete(path, state));
    },
  },
  CallExpression: {
    exit(path, state) {
      guarded(path, state, 'collection call', () => instrumentCollectionCall(path, state));
    },
  },
  ForOfStatement: {
    exit(path, state) {
      guarded(path, state, 'loop head', () => instrumentLoopHead(path, state));
      guarded(path, state, 'destructuring', () => instrumentHeadPatternReads(path, state));
      if (path.node.await) {
        guarded(path, state, 'for await', () => instrumentForAwait(path, state));
      } else {
        const right = path.get('right');
        guarded(right, state, 'iteration', () => instrumentIteration(right, state));
      }
    },
  },
  ForInStatement: {
    exit(path, state) {
      guarded(path, state, 'loop head', () => instrumentLoopHead(path, state));
      guarded(path, state, 'destructuring', () => instrumentHeadPatternReads(path, state));
    },
  },
  SpreadElement: {
    exit(path, state) {
      // Spreading into an array or arguments iterates; spreading into an object literal does not.
      if (!path.parentPath.isObjectExpression()) {
        const argument = path.get('argument');
        guarded(argument, state, 'iteration', () => instrumentIteration(argument, state));
      }
    },
  },
  YieldExpression: {
    exit(path, state) {
      guarded(path, state, 'yield', () => instrumentYield(path, state));
    },
  },
  AwaitExpression: {
    exit(path, state) {
      guarded(path, state, 'await', () => instrumentAwait(path, state));
    },
  },
  CatchClause(path, state) {
    // The pattern's declaration first: the catch's own probe goes before it (catch.ts).
    guarded(path, state, 'destructuring', () => instrumentCatchPatternReads(path, state));
    guarded(path, state, 'catch', () => instrumentCatch(path, state));
  },
  TryStatement(path, state) {
    guarded(path, state, 'finally', () => instrumentFinally(path, state));
  },
};
