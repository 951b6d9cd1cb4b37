/** The event timeline: only the rows on screen are built, so its cost does not grow with the trace. */

import { Box, Text } from 'ink';
import { h } from '../h.ts';
import { scrolled, type UiState } from '../state.ts';
import type { TraceView } from '../trace-view.ts';
import { pad } from './pane.ts';

export interface TimelineProps {
  model: TraceView;
  state: UiState;
  width: number;
  /** Event rows, the title not included. */
  rows: number;
}

export function Timeline({ model, state, width, rows }: TimelineProps) {
  const set = model.rows(state.findingsOnly);
  const title = state.findingsOnly
    ? ` Findings only · ${set.length} of ${model.eventCount} events`
    : ` Timeline · ${model.eventCount} events`;
  const position = set.length === 0 ? '' : `${Math.min(state.cursor, set.length - 1) + 1}/${set.length} `;
  const lines = [];
  // The page size can change under the state (a resize, `a` resizing the panes): keep the
  // selected row on screen whatever the stored top says.
  const cursor = Math.min(state.cursor, Math.max(0, set.length - 1));
  const top = scrolled(state.top, cursor, set.length, rows);
  const end = Math.min(set.length, top + rows);
  for (let row = top; row < end; row++) {
    const event = set.eventAt(row);
    const mark = model.findingsOf(event).length > 0 ? '!' : ' ';
    const selected = row === cursor;
    lines.push(
      h(
        Text,
        { key: row, wrap: 'truncate-end', inverse: selected, color: mark === '!' ? 'red' : undefined },
        pad(`${selected ? '▶' : ' '}${mark}${model.eventLine(event)}`, width),
      ),
    );
  }
  if (set.length === 0) {
    lines.push(
      h(
        Text,
        { key: 'empty', wrap: 'truncate-end' },
        state.findingsOnly ? 'no findings in this trace (a: show every event)' : 'this trace has no events',
      ),
    );
  }
  const gap = Math.max(1, width - title.length - position.length);
  return h(
    Box,
    { flexDirection: 'column', width, height: rows + 1, flexShrink: 0 },
    h(Text, { bold: true, inverse: true, wrap: 'truncate-end' }, `${title}${' '.repeat(gap)}${position}`),
    ...lines,
  );
}
