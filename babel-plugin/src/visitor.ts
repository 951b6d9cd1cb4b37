/**
 * The instrumentation pass: one visitor, run by the plugin over the whole program before any other
 * plugin sees it. Functions and awaits are handled on exit, so a function's awaits have asked for
 * its invocation id before the function's own prologue is written. Property accesses are handled on
 * exit too, innermost first, and a function (or static block) declares the temporaries its accesses
 * asked for on its own exit; the program declares its own after the pass (index.ts).
 */

import type { Visitor } from '@babel/core';
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
import { instrumentDestructuring, instrumentLoopHead } from './constructs/destructuring.ts';
import { instrumentForAwait } from './constructs/for-await.ts';
import { instrumentFunction } from './constructs/functions.ts';
import {
  declareVariablesObject,
  instrumentVariableAssignment,
  instrumentVariableRead,
  instrumentVariableUpdate,
} from './constructs/variables.ts';
import { instrumentYield } from './constructs/yields.ts';
import type { FileState } from './file-state.ts';

export const instrumentationVisitor: Visitor<FileState> = {
  Function: {
    enter(path) {
      // Left as written, accesses included, so Node still finds the re-export (commonjs.ts).
      if (isReexportGetter(path)) path.skip();
    },
    exit(path, state) {
      instrumentFunction(path, state);
      declareTemporaries(path, state);
      declareVariablesObject(path, state);
    },
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
      instrumentVariableRead(path, state);
    },
  },
  MemberExpression: {
    exit(path, state) {
      instrumentRead(path, state);
    },
  },
  AssignmentExpression: {
    exit(path, state) {
      instrumentAssignment(path, state);
      // `[a, b] = c` iterates `c`, as `for (x of c)` does.
      if (
        path.isAssignmentExpression() &&
        path.node.left.type === 'ArrayPattern' &&
        path.node.operator === '='
      ) {
        instrumentIteration(path.get('right'), state);
      }
      if (path.isAssignmentExpression()) instrumentDestructuring(path, state);
      if (path.isAssignmentExpression()) instrumentVariableAssignment(path, state);
    },
  },
  VariableDeclarator: {
    exit(path, state) {
      // `const [a, b] = c` iterates `c`.
      const init = path.get('init');
      if (path.node.id.type === 'ArrayPattern' && init.isExpression()) instrumentIteration(init, state);
    },
  },
  UpdateExpression: {
    exit(path, state) {
      instrumentUpdate(path, state);
      if (path.isUpdateExpression()) instrumentVariableUpdate(path, state);
    },
  },
  UnaryExpression: {
    exit(path, state) {
      instrumentDelete(path, state);
    },
  },
  CallExpression: {
    exit(path, state) {
      instrumentCollectionCall(path, state);
    },
  },
  ForOfStatement: {
    exit(path, state) {
      instrumentLoopHead(path, state);
      if (path.node.await) instrumentForAwait(path, state);
      else instrumentIteration(path.get('right'), state);
    },
  },
  ForInStatement: {
    exit(path, state) {
      instrumentLoopHead(path, state);
    },
  },
  SpreadElement: {
    exit(path, state) {
      // Spreading into an array or arguments iterates; spreading into an object literal does not.
      if (!path.parentPath.isObjectExpression()) {
        instrumentIteration(path.get('argument'), state);
      }
    },
  },
  YieldExpression: {
    exit(path, state) {
      instrumentYield(path, state);
    },
  },
  AwaitExpression: {
    exit(path, state) {
      instrumentAwait(path, state);
    },
  },
  CatchClause(path, state) {
    instrumentCatch(path, state);
  },
  TryStatement(path, state) {
    instrumentFinally(path, state);
  },
};
