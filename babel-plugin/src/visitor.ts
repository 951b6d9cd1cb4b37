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
import { instrumentAwait, runningFunction } from './constructs/awaits.ts';
import { instrumentCatch, instrumentFinally } from './constructs/catch.ts';
import { instrumentCollectionCall, instrumentIteration } from './constructs/collections.ts';
import { isReexportGetter } from './constructs/commonjs.ts';
import { instrumentFunction } from './constructs/functions.ts';
import {
  declareVariablesObject,
  instrumentVariableAssignment,
  instrumentVariableRead,
  instrumentVariableUpdate,
} from './constructs/variables.ts';
import type { FileState } from './file-state.ts';

/**
 * Generators are left alone for now: their body runs in slices between `next()` calls, so one
 * enter/exit pair around it would misstate what runs when. (Tracked for the Babel plugin issue.)
 */
function isGenerator(path: NodePath<t.Function>): boolean {
  return path.node.generator === true;
}

/**
 * Does the code at `path` run in a generator's body (or parameters)? Then its awaits, catches and
 * property accesses are left alone too: without the generator's suspensions recorded, they would
 * be attributed to the wrong tasks. Class bodies do not stop the search: a static block or field
 * initialiser runs while the class is defined, an instance field initialiser in a constructor
 * call, and both are left alone (as a method of that class, a function of its own, is not).
 */
function inGenerator(path: NodePath): boolean {
  const fn = runningFunction(path);
  return fn !== null && isGenerator(fn);
}

export const instrumentationVisitor: Visitor<FileState> = {
  Function: {
    enter(path) {
      // Left as written, accesses included, so Node still finds the re-export (commonjs.ts).
      if (isReexportGetter(path)) path.skip();
    },
    exit(path, state) {
      if (!isGenerator(path)) instrumentFunction(path, state);
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
      if (!inGenerator(path)) instrumentVariableRead(path, state);
    },
  },
  MemberExpression: {
    exit(path, state) {
      if (!inGenerator(path)) instrumentRead(path, state);
    },
  },
  AssignmentExpression: {
    exit(path, state) {
      if (inGenerator(path)) return;
      instrumentAssignment(path, state);
      if (path.isAssignmentExpression()) instrumentVariableAssignment(path, state);
    },
  },
  UpdateExpression: {
    exit(path, state) {
      if (inGenerator(path)) return;
      instrumentUpdate(path, state);
      if (path.isUpdateExpression()) instrumentVariableUpdate(path, state);
    },
  },
  UnaryExpression: {
    exit(path, state) {
      if (!inGenerator(path)) instrumentDelete(path, state);
    },
  },
  CallExpression: {
    exit(path, state) {
      if (!inGenerator(path)) instrumentCollectionCall(path, state);
    },
  },
  ForOfStatement: {
    exit(path, state) {
      if (!path.node.await && !inGenerator(path)) instrumentIteration(path.get('right'), state);
    },
  },
  SpreadElement: {
    exit(path, state) {
      // Spreading into an array or arguments iterates; spreading into an object literal does not.
      if (!path.parentPath.isObjectExpression() && !inGenerator(path)) {
        instrumentIteration(path.get('argument'), state);
      }
    },
  },
  AwaitExpression: {
    exit(path, state) {
      if (!inGenerator(path)) instrumentAwait(path, state);
    },
  },
  CatchClause(path, state) {
    if (!inGenerator(path)) instrumentCatch(path, state);
  },
  TryStatement(path, state) {
    if (!inGenerator(path)) instrumentFinally(path, state);
  },
};
