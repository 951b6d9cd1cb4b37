/**
 * The instrumentation pass: one visitor, run by the plugin over the whole program before any other
 * plugin sees it. Functions and awaits are handled on exit, so a function's awaits have asked for
 * its invocation id before the function's own prologue is written.
 */

import type { NodePath, types as t, Visitor } from '@babel/core';
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
