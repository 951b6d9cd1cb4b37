import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { charsOf, type KeyPress } from '../src/keys.ts';
import {
  followTail,
  initialState,
  type ReduceContext,
  type RowSet,
  reduceKeys,
  scrolled,
  type UiState,
} from '../src/state.ts';

/** A trace of `count` events whose event i is named `event-i`; findings on the events in `findings`. */
function context(count: number, findings: number[] = [], pageSize = 10, traceCount = 3): ReduceContext {
  const names = Array.from({ length: count }, (_, i) => `event-${i}`);
  const rowSet = (events: number[]): RowSet => ({
    length: events.length,
    eventAt: (row) => events[row] as number,
    rowAtOrBefore: (event) => Math.max(0, events.filter((e) => e <= event).length - 1),
    find: (query, from, direction) => {
      for (let step = 0; step < events.length; step++) {
        const row = (((from + step * direction) % events.length) + events.length) % events.length;
        if (names[events[row] as number]?.includes(query)) return row;
      }
      return -1;
    },
  });
  const all = rowSet(names.map((_, i) => i));
  const only = rowSet(findings);
  return { rows: (findingsOnly) => (findingsOnly ? only : all), pageSize, traceCount };
}

const press = (state: UiState, keys: string | KeyPress[], ctx: ReduceContext) =>
  reduceKeys(state, typeof keys === 'string' ? charsOf(keys) : keys, ctx);

describe('the reducer', () => {
  it('moves the selection with j/k and the arrows, within the trace', () => {
    const ctx = context(100);
    let state = press(initialState, 'jjj', ctx);
    assert.equal(state.cursor, 3);
    state = press(state, [{ name: 'up' }], ctx);
    assert.equal(state.cursor, 2);
    state = press(state, 'kkkkk', ctx);
    assert.equal(state.cursor, 0);
    state = press(state, [{ name: 'down' }, { name: 'down' }], ctx);
    assert.equal(state.cursor, 2);
  });

  it('jumps to the top and bottom with g/G and pages, scrolling to keep the selection on screen', () => {
    const ctx = context(100, [], 10);
    let state = press(initialState, 'G', ctx);
    assert.deepEqual([state.cursor, state.top], [99, 90]);
    state = press(state, [{ name: 'pageUp' }], ctx);
    assert.deepEqual([state.cursor, state.top], [89, 89]);
    state = press(state, 'g', ctx);
    assert.deepEqual([state.cursor, state.top], [0, 0]);
    state = press(state, [{ name: 'pageDown' }, { name: 'pageDown' }], ctx);
    assert.deepEqual([state.cursor, state.top], [20, 11]);
    state = press(state, 'j'.repeat(200), ctx);
    assert.deepEqual([state.cursor, state.top], [99, 90]);
  });

  it('scrolls as little as possible', () => {
    assert.equal(scrolled(0, 5, 100, 10), 0);
    assert.equal(scrolled(0, 10, 100, 10), 1);
    assert.equal(scrolled(50, 40, 100, 10), 40);
    assert.equal(scrolled(95, 99, 100, 10), 90);
    assert.equal(scrolled(0, 0, 3, 10), 0);
  });

  it('switches traces with h/l and ←→, clamped, starting each trace at its first event', () => {
    const ctx = context(100, [], 10, 3);
    let state = press(initialState, 'jjjl', ctx);
    assert.deepEqual([state.traceIndex, state.cursor, state.top], [1, 0, 0]);
    state = press(state, [{ name: 'right' }, { name: 'right' }, { name: 'right' }], ctx);
    assert.equal(state.traceIndex, 2);
    state = press(state, 'hhhh', ctx);
    assert.equal(state.traceIndex, 0);
  });

  it('opens and closes details with Enter, and closes them with Escape', () => {
    const ctx = context(10);
    let state = press(initialState, [{ name: 'enter' }], ctx);
    assert.equal(state.overlay, 'details');
    state = press(state, 'j', ctx);
    assert.deepEqual([state.overlay, state.cursor], ['details', 1]);
    state = press(state, [{ name: 'enter' }], ctx);
    assert.equal(state.overlay, 'none');
    state = press(state, [{ name: 'enter' }, { name: 'escape' }], ctx);
    assert.equal(state.overlay, 'none');
  });

  it('toggles time travel with t', () => {
    const ctx = context(10);
    assert.equal(press(initialState, 't', ctx).timeTravel, true);
    assert.equal(press(initialState, 'tt', ctx).timeTravel, false);
  });

  it('filters to findings with a, keeping the nearest event selected both ways', () => {
    const ctx = context(100, [10, 40, 70]);
    let state = press(initialState, 'j'.repeat(45), ctx);
    state = press(state, 'a', ctx);
    assert.equal(state.findingsOnly, true);
    assert.equal(state.cursor, 1); // event 40, the last finding event at or before 45
    state = press(state, 'j', ctx);
    assert.equal(ctx.rows(true).eventAt(state.cursor), 70);
    state = press(state, 'a', ctx);
    assert.deepEqual([state.findingsOnly, state.cursor], [false, 70]);
    assert.ok(state.cursor >= state.top && state.cursor < state.top + 10);
  });

  it('says so when a trace has no findings to filter to', () => {
    const state = press(initialState, 'a', context(10, []));
    assert.equal(state.findingsOnly, true);
    assert.equal(state.message, 'no findings in this trace');
    assert.equal(press(state, 'j', context(10, [])).message, null);
  });

  it('searches with /, Enter, n and N, wrapping around', () => {
    const ctx = context(100);
    let state = press(initialState, '/event-4', ctx);
    assert.deepEqual(state.search, { editing: true, query: 'event-4' });
    assert.equal(state.cursor, 0, 'keys typed into the search do not move');
    state = press(state, [{ name: 'enter' }], ctx);
    assert.equal(state.search.editing, false);
    assert.equal(state.cursor, 4);
    state = press(state, 'n', ctx);
    assert.equal(state.cursor, 40);
    state = press(state, 'N', ctx);
    assert.equal(state.cursor, 4);
    state = press(state, 'N', ctx);
    assert.equal(state.cursor, 49, 'wraps to the last match');
  });

  it('edits the search with Backspace, cancels it with Escape, and reports no match', () => {
    const ctx = context(20);
    let state = press(initialState, '/event-9x', ctx);
    state = press(state, [{ name: 'backspace' }], ctx);
    assert.equal(state.search.query, 'event-9');
    state = press(state, [{ name: 'escape' }], ctx);
    assert.deepEqual(state.search, { editing: false, query: '' });
    state = press(state, '/nothing\r', ctx);
    assert.equal(state.message, "no event matches 'nothing'");
    assert.equal(state.cursor, 0);
    assert.equal(press(initialState, 'n', ctx).message, 'no search yet: press / to search');
  });

  it('shows help with ? and closes it with any key; q quits and ignores the keys after it', () => {
    const ctx = context(20);
    let state = press(initialState, '?', ctx);
    assert.equal(state.overlay, 'help');
    state = press(state, 'j', ctx);
    assert.deepEqual([state.overlay, state.cursor], ['none', 0]);
    state = press(initialState, 'jqjj', ctx);
    assert.deepEqual([state.quit, state.cursor], [true, 1]);
    assert.equal(press(press(initialState, '?', ctx), 'q', ctx).quit, true);
  });

  it('asks for a refresh with r', () => {
    assert.equal(press(initialState, 'rr', context(5)).refreshes, 2);
  });

  it('stays at row 0 on an empty trace', () => {
    const ctx = context(0);
    const state = press(initialState, 'jjGk', ctx);
    assert.deepEqual([state.cursor, state.top], [0, 0]);
    assert.equal(press(initialState, '/x\r', ctx).message, "no event matches 'x'");
  });

  it('follows the tail of a live trace only when the selection is on the last event', () => {
    // 10 events, 5 rows a page, the last selected: 20 arrive, the selection and the page follow.
    const atEnd = { ...initialState, cursor: 9, top: 5 };
    const followed = followTail(atEnd, 10, 30, 5);
    assert.deepEqual([followed.cursor, followed.top], [29, 25]);
    // Anywhere else the selection and the scroll stay.
    const inMiddle = { ...initialState, cursor: 3, top: 0 };
    assert.equal(followTail(inMiddle, 10, 30, 5), inMiddle);
    // An empty timeline follows its first events; nothing new, or findings only, changes nothing.
    assert.equal(followTail(initialState, 0, 4, 5).cursor, 3);
    assert.equal(followTail(atEnd, 10, 10, 5), atEnd);
    const findingsOnly = { ...atEnd, findingsOnly: true };
    assert.equal(followTail(findingsOnly, 10, 30, 5), findingsOnly);
  });
});
