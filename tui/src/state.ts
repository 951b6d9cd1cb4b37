/**
 * The TUI's state and the one reducer that changes it, key by key. Pure: what it needs to know
 * about the loaded trace comes in a ReduceContext, so every key can be tested without a terminal.
 */

import type { KeyPress } from './keys.ts';

/** The rows the timeline shows: every event of the trace, or only those of findings. */
export interface RowSet {
  readonly length: number;
  /** The event index shown at `row`. */
  eventAt(row: number): number;
  /** The row of `event`, or of the last event before it when it is not shown; 0 when none. */
  rowAtOrBefore(event: number): number;
  /** The first row from `from` on in `direction` (wrapping around) that matches; -1 when none. */
  find(query: string, from: number, direction: 1 | -1): number;
}

export interface ReduceContext {
  rows(findingsOnly: boolean): RowSet;
  /** How many timeline rows fit on the screen now. */
  pageSize: number;
  traceCount: number;
}

export type Overlay = 'none' | 'details' | 'help';

export interface UiState {
  traceIndex: number;
  /** The selected row of the timeline, and the first row on screen. */
  cursor: number;
  top: number;
  overlay: Overlay;
  /** The side pane shows the state of tracked objects as of the selected event. */
  timeTravel: boolean;
  /** The timeline shows only the events of findings. */
  findingsOnly: boolean;
  /** The search being typed (editing) or the last one run (for n / N). */
  search: { editing: boolean; query: string };
  /** A one-line note for the status bar (a search without match), cleared by the next key. */
  message: string | null;
  /** Bumped by `r`: the app reloads the trace list and the selected trace when it changes. */
  refreshes: number;
  quit: boolean;
}

export const initialState: UiState = {
  traceIndex: 0,
  cursor: 0,
  top: 0,
  overlay: 'none',
  timeTravel: false,
  findingsOnly: false,
  search: { editing: false, query: '' },
  message: null,
  refreshes: 0,
  quit: false,
};

export function reduceKeys(state: UiState, keys: readonly KeyPress[], context: ReduceContext): UiState {
  let next = state;
  for (const key of keys) {
    next = reduce(next, key, context);
    if (next.quit) break;
  }
  return next;
}

export function reduce(state: UiState, key: KeyPress, context: ReduceContext): UiState {
  if (state.search.editing) return editSearch(state, key, context);
  const base = state.message === null ? state : { ...state, message: null };
  if (base.overlay === 'help') {
    return 'char' in key && key.char === 'q' ? { ...base, quit: true } : { ...base, overlay: 'none' };
  }
  const rows = context.rows(base.findingsOnly);
  const page = Math.max(1, context.pageSize);
  if ('name' in key) {
    switch (key.name) {
      case 'down':
        return moveTo(base, base.cursor + 1, rows.length, page);
      case 'up':
        return moveTo(base, base.cursor - 1, rows.length, page);
      case 'pageDown':
        return moveTo(base, base.cursor + page, rows.length, page);
      case 'pageUp':
        return moveTo(base, base.cursor - page, rows.length, page);
      case 'home':
        return moveTo(base, 0, rows.length, page);
      case 'end':
        return moveTo(base, rows.length - 1, rows.length, page);
      case 'left':
        return selectTrace(base, base.traceIndex - 1, context);
      case 'right':
        return selectTrace(base, base.traceIndex + 1, context);
      case 'enter':
        return { ...base, overlay: base.overlay === 'details' ? 'none' : 'details' };
      case 'escape':
        return { ...base, overlay: 'none' };
      default:
        return base;
    }
  }
  switch (key.char) {
    case 'j':
      return moveTo(base, base.cursor + 1, rows.length, page);
    case 'k':
      return moveTo(base, base.cursor - 1, rows.length, page);
    case 'g':
      return moveTo(base, 0, rows.length, page);
    case 'G':
      return moveTo(base, rows.length - 1, rows.length, page);
    case 'h':
      return selectTrace(base, base.traceIndex - 1, context);
    case 'l':
      return selectTrace(base, base.traceIndex + 1, context);
    case 't':
      return { ...base, timeTravel: !base.timeTravel };
    case 'a':
      return toggleFindingsOnly(base, context);
    case 'r':
      return { ...base, refreshes: base.refreshes + 1 };
    case 'q':
      return { ...base, quit: true };
    case '?':
      return { ...base, overlay: 'help' };
    case '/':
      return { ...base, search: { editing: true, query: '' } };
    case 'n':
      return runSearch(base, 1, context);
    case 'N':
      return runSearch(base, -1, context);
    default:
      return base;
  }
}

/**
 * New events arrived in a live trace (`before` rows, now `after`): a selection on the last row
 * (or an empty timeline) follows the tail to the new last row; any other selection stays put.
 */
export function followTail(state: UiState, before: number, after: number, pageSize: number): UiState {
  if (state.findingsOnly || after <= before) return state;
  if (before > 0 && state.cursor !== before - 1) return state;
  return moveTo(state, after - 1, after, Math.max(1, pageSize));
}

/** Moves the cursor to `row` (clamped) and scrolls just enough to keep it on screen. */
function moveTo(state: UiState, row: number, count: number, page: number): UiState {
  const cursor = count === 0 ? 0 : Math.min(Math.max(row, 0), count - 1);
  return { ...state, cursor, top: scrolled(state.top, cursor, count, page) };
}

/** The first row on screen that keeps `cursor` visible, moving as little as possible. */
export function scrolled(top: number, cursor: number, count: number, page: number): number {
  let next = top;
  if (cursor < next) next = cursor;
  if (cursor >= next + page) next = cursor - page + 1;
  return Math.max(0, Math.min(next, Math.max(0, count - page)));
}

function selectTrace(state: UiState, index: number, context: ReduceContext): UiState {
  const traceIndex = Math.min(Math.max(index, 0), Math.max(0, context.traceCount - 1));
  if (traceIndex === state.traceIndex) return state;
  return { ...state, traceIndex, cursor: 0, top: 0, overlay: 'none' };
}

/** Keeps the same event selected (or the nearest one before it) across the switch. */
function toggleFindingsOnly(state: UiState, context: ReduceContext): UiState {
  const findingsOnly = !state.findingsOnly;
  const from = context.rows(state.findingsOnly);
  const to = context.rows(findingsOnly);
  const cursor = from.length === 0 || to.length === 0 ? 0 : to.rowAtOrBefore(from.eventAt(state.cursor));
  const moved = moveTo({ ...state, findingsOnly, top: 0 }, cursor, to.length, Math.max(1, context.pageSize));
  return to.length === 0 && findingsOnly ? { ...moved, message: 'no findings in this trace' } : moved;
}

function editSearch(state: UiState, key: KeyPress, context: ReduceContext): UiState {
  const { query } = state.search;
  if ('char' in key) return { ...state, search: { editing: true, query: query + key.char } };
  switch (key.name) {
    case 'enter':
      return query === ''
        ? { ...state, search: { editing: false, query } }
        : runSearch({ ...state, search: { editing: false, query } }, 1, context);
    case 'escape':
      return { ...state, search: { editing: false, query: '' } };
    case 'backspace':
      return query === ''
        ? { ...state, search: { editing: false, query } }
        : { ...state, search: { editing: true, query: query.slice(0, -1) } };
    default:
      return state;
  }
}

/** Jumps to the next (or previous) row that matches the last search, wrapping around. */
function runSearch(state: UiState, direction: 1 | -1, context: ReduceContext): UiState {
  const { query } = state.search;
  if (query === '') return { ...state, message: 'no search yet: press / to search' };
  const rows = context.rows(state.findingsOnly);
  const found = rows.length === 0 ? -1 : rows.find(query, state.cursor + direction, direction);
  if (found < 0) return { ...state, message: `no event matches '${query}'` };
  return moveTo(state, found, rows.length, Math.max(1, context.pageSize));
}
