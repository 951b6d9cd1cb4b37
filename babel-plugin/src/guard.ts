/**
 * Every construct's rewrite runs inside `guarded`: if it throws (a node shape the plugin did not
 * expect, a bug), the construct is left as it was written, with a warning naming its
 * `file:line:col`, and the rest of the file is still instrumented. The output is never broken:
 *
 * - The sites the rewrite added are taken back out of the table (none of the output names them).
 * - A rewrite replaces its node as its last step (`replace`) or assigns the node's own fields;
 *   the node's fields are restored from a shallow copy, so a half-done rewrite of the node
 *   itself is undone. What it did to inner nodes first (captured destructuring targets) is valid
 *   code on its own.
 * - Constructs inside a function refer to what its rewrite declares (the invocation id of an
 *   async function) or record slices of it (a sync generator's yields). When the function's own
 *   rewrite fails, `declareFallback` declares a fresh invocation for the awaits, and puts a sync
 *   generator's yields back as written; the function itself records no enter, exit or throw.
 * - Declaring temporaries and pseudo-objects is not guarded: if that fails, the file fails
 *   (CW_INSTRUMENT_FAILED) and runs, or is copied, uninstrumented.
 */

import type { NodePath, types as t } from '@babel/core';
import type { FileState } from './file-state.ts';

/** The constructs a warning can name (also the values of the `failConstructs` test option). */
export type Construct =
  | 'function'
  | 'class field'
  | 'parameter default'
  | 'await'
  | 'yield'
  | 'for await'
  | 'catch'
  | 'finally'
  | 'property read'
  | 'property write'
  | 'destructuring'
  | 'loop head'
  | 'variable access'
  | 'collection call'
  | 'iteration';

/**
 * Runs `rewrite` for the construct at `path`; on an exception, restores the node's fields, marks
 * it as the plugin's own (so nothing rewrites it again), records a warning, and returns false.
 */
export function guarded(
  path: NodePath,
  state: FileState,
  construct: Construct,
  rewrite: () => void,
): boolean {
  const node = path.node;
  if (node == null) return true;
  const saved: Record<string, unknown> = { ...node };
  // A test's injected failure happens where a real one could: inside the rewrite, at its first
  // probe call, after it may have changed the node (FileState.call throws).
  const injected = state.options.failConstructs.includes(construct);
  const sites = state.siteCount;
  try {
    state.failing = injected;
    rewrite();
    // A rewrite that only moved the node's own parts (a field's initialiser) fails at its end.
    if (
      injected &&
      Object.entries(saved).some(
        ([key, value]) => (node as unknown as Record<string, unknown>)[key] !== value,
      )
    ) {
      throw new Error('failure injected by the failConstructs option');
    }
    return true;
  } catch (error) {
    const fields = node as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (!(key in saved)) delete fields[key];
    Object.assign(fields, saved);
    state.rollbackSites(sites);
    state.mark(node as t.Node);
    state.warn(node as t.Node, construct, error);
    return false;
  } finally {
    state.failing = false;
  }
}
