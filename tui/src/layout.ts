/**
 * How the screen is divided, from its size and what is open. Pure, so the timeline's page size
 * (which the reducer scrolls by) and the panes' heights are tested without a terminal.
 *
 *   header: the traces pane, one line (←→ picks a trace)
 *   timeline (left)        | causal relationships, or time travel (right, top)
 *                          | details of the selected event (right, bottom)
 *   findings (bottom; half the body with `a`)
 *   status line: keys, the search being typed, or a message
 */

export interface Layout {
  columns: number;
  rows: number;
  /** Width of the timeline, and of the side panes beside it (a one-column gap between). */
  timelineWidth: number;
  sideWidth: number;
  /** Lines of the middle band (timeline and side panes), each pane's title included. */
  middleHeight: number;
  /** Event rows the timeline shows: its page size. */
  timelineRows: number;
  /** Lines of the side's top pane (causal or time travel) and bottom pane (details), titles included. */
  sideTopHeight: number;
  sideBottomHeight: number;
  /** Lines of the findings pane, its title included. */
  findingsHeight: number;
}

/** The smallest screen the layout is designed for; smaller ones still render, cramped. */
export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;

export function layout(columns: number, rows: number, findingsOnly: boolean): Layout {
  const width = Math.max(columns, 20);
  const height = Math.max(rows, 10);
  const body = height - 2; // header and status line
  const findingsHeight = findingsOnly
    ? Math.max(4, Math.floor(body / 2))
    : Math.max(3, Math.min(8, Math.floor(body / 5)));
  const middleHeight = Math.max(3, body - findingsHeight);
  const timelineWidth = Math.max(20, Math.floor(width * 0.55));
  const sideWidth = Math.max(10, width - timelineWidth - 1);
  const sideTopHeight = Math.max(2, Math.floor(middleHeight * 0.45));
  return {
    columns: width,
    rows: height,
    timelineWidth,
    sideWidth,
    middleHeight,
    timelineRows: middleHeight - 1,
    sideTopHeight,
    sideBottomHeight: middleHeight - sideTopHeight,
    findingsHeight,
  };
}
