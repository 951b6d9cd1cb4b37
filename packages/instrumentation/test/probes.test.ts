// The probes module is the runtime's side of the plugin's output: every probe the plugin can emit
// must exist here (the plugin's own tests run against fake probes).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instrumentSource } from '@causeway/babel-plugin/transform';
import * as probes from '../src/probes.ts';

/** Uses every construct the plugin instruments. */
const EVERY_CONSTRUCT = `
let shared = 0;
const bump = () => { shared += 1; shared++; shared = shared * 2; return shared; };
export async function all(o: any, k: string, m: Map<string, number>, s: Set<number>, a: number[]) {
  try { await null; } catch { } finally { }
  o.p = o.q; o[k] = o[k]; o.p += 1; o[k] += 1; o.p++; o[k]++; delete o.p; delete o[k];
  o.p += await 1;
  m.get(k); m.has(k); m.set(k, 1); m.delete(k); m.clear(); m.size; m.forEach(() => {});
  s.add(1); for (const x of s) bump(); [...s];
  a.push(1); a.pop(); a.sort();
  return bump();
}
function* gen(o: any) { try { o.r = yield o.p; yield* [1]; } finally { o.done = true; } }
async function* agen() { try { yield 1; yield* gen({}); } finally { } }
await all({}, 'k', new Map(), new Set(), []);
for (const x of gen({})) break;
for await (const x of agen()) break;
export function patterns(o: any, k: string, src: any) {
  [o.p, o[k]] = [1, 2];
  ({ a: o.q } = src);
  const { a, [k]: b } = src;
  return [a, b];
}
patterns({}, 'k', { a: 1, k: 2 });
`;

/** Every probe the plugin can emit (the runtime's probes module may export more). */
const PROBES = [
  'arrayPush',
  'arrayReorder',
  'arrayResize',
  'assigned',
  'assignedKey',
  'caught',
  'clear',
  'enter',
  'enterAsync',
  'entryDelete',
  'exit',
  'has',
  'invocation',
  'iterate',
  'mapGet',
  'mapSet',
  'patternRead',
  'patternReadKey',
  'postfix',
  'postfixKey',
  'read',
  'readKey',
  'readSize',
  'reentered',
  'registerSites',
  'remove',
  'removeKey',
  'resume',
  'resumed',
  'setAdd',
  'suspend',
  'threw',
  'update',
  'updateKey',
  'write',
  'writeKey',
  'yielded',
];

describe('probes', () => {
  it('export every probe the plugin emits', () => {
    const output = instrumentSource(EVERY_CONSTRUCT, {
      filename: '/app/every.ts',
      format: 'module',
      root: '/app',
    });
    const emitted = new Set([...output.matchAll(/\b_cw\.(\w+)\(/g)].map((match) => match[1] ?? ''));
    assert.deepEqual([...emitted].sort(), [...PROBES].sort());
    const exported = probes as unknown as Record<string, unknown>;
    const missing = [...emitted].filter((name) => typeof exported[name] !== 'function');
    assert.deepEqual(missing, []);
  });
});
