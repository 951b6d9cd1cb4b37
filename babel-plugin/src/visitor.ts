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
import { instrumentFunction } from './constructs/functions.ts';
import type { FileState } from './file-state.ts';

/**
 * Generators are left alone for now: their body runs in slices between `next()` calls, so one
 * enter/exit pair around it would misstate what runs when. (Tracked for the Babel plugin issue.)
 */
function isGenerator(path: NodePath<t.Function>): boolean {
  return path.node.generator === true;
}

export const instrumentationVisitor: Visitor<FileState> = {
  Function: {
    exit(path, state) {
      if (!isGenerator(path)) instrumentFunction(path, state);
      declareTemporaries(path, state);
    },
  },
  StaticBlock: {
    exit(path, state) {
      declareTemporaries(path, state);
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
    },
  },
  UpdateExpression: {
    exit(path, state) {
      instrumentUpdate(path, state);
    },
  },
  UnaryExpression: {
    exit(path, state) {
      instrumentDelete(path, state);
    },
  },
  AwaitExpression: {
    exit(path, state) {
      const fn = runningFunction(path);
      if (fn === null || !isGenerator(fn)) instrumentAwait(path, state);
    },
  },
  CatchClause(path, state) {
    const fn = runningFunction(path);
    if (fn === null || !isGenerator(fn)) instrumentCatch(path, state);
  },
  TryStatement(path, state) {
    const fn = runningFunction(path);
    if (fn === null || !isGenerator(fn)) instrumentFinally(path, state);
  },
};
