/**
 * The whole screen for one state: a pure component (props in, frame out), so it renders the same
 * under ink-testing-library as in a terminal. The app around it owns input and loading.
 */

import { Box, Text } from 'ink';
import { h } from '../h.ts';
import type { Layout } from '../layout.ts';
import {
  causalLines,
  detailsLines,
  failureLines,
  findingLines,
  HELP_LINES,
  timeTravelLines,
} from '../lines.ts';
import type { TraceEntry } from '../source.ts';
import type { UiState } from '../state.ts';
import { plural } from '../trace-model.ts';
import type { TraceView } from '../trace-view.ts';
import { Header } from './header.ts';
import { Pane } from './pane.ts';
import { StatusLine } from './status.ts';
import { Timeline } from './timeline.ts';

export interface ScreenProps {
  layout: Layout;
  entries: readonly TraceEntry[];
  state: UiState;
  /** The selected trace, once loaded; null while loading or when it could not be read. */
  model: TraceView | null;
  /** Why the selected trace is not shown (loading, or the error reading it). */
  problem: string | null;
  /** A note about the source for the status line (live updates lost); null when none. */
  notice?: string | null;
}

export function Screen({ layout, entries, state, model, problem, notice = null }: ScreenProps) {
  const { columns } = layout;
  const summary = model === null ? '' : model.headline();
  const header = h(Header, {
    entries,
    selected: state.traceIndex,
    width: columns,
    summary,
    live: model?.live ?? false,
  });
  const status = h(StatusLine, { state, width: columns, note: problem ?? model?.status ?? notice });
  const bodyHeight = layout.rows - 2;
  let body: ReturnType<typeof h>;
  if (state.overlay === 'help') {
    body = h(Pane, { title: 'Help', width: columns, height: bodyHeight, lines: HELP_LINES });
  } else if (model === null) {
    body = h(Pane, { title: 'Timeline', width: columns, height: bodyHeight, lines: [problem ?? ''] });
  } else {
    body = mainBody(layout, state, model, bodyHeight);
  }
  return h(Box, { flexDirection: 'column', width: columns, height: layout.rows }, header, body, status);
}

function mainBody(layout: Layout, state: UiState, model: TraceView, bodyHeight: number) {
  const rows = model.rows(state.findingsOnly);
  const event = rows.length === 0 ? null : rows.eventAt(Math.min(state.cursor, rows.length - 1));
  if (state.overlay === 'details' && event !== null) {
    const details = model.details(event, true);
    const lines = details === null ? [`loading event ${event}…`] : detailsLines(details, true);
    const causes = model.analysis.done ? causalLines(model.causal(event)) : [analysing(model)];
    lines.push('', 'Causal relationships', ...causes.map((line) => `  ${line}`));
    lines.push('', 'Enter or Esc: back to the timeline');
    return h(Pane, { title: `Details of event ${event}`, width: layout.columns, height: bodyHeight, lines });
  }
  const timeline = h(Timeline, { model, state, width: layout.timelineWidth, rows: layout.timelineRows });
  const sideTop = state.timeTravel
    ? h(Pane, {
        title: 'Time travel (t)',
        width: layout.sideWidth,
        height: layout.sideTopHeight,
        lines: event === null ? [] : timeTravelLines(model.stateAt(event, layout.sideTopHeight), event),
      })
    : h(Pane, {
        title: 'Causes',
        width: layout.sideWidth,
        height: layout.sideTopHeight,
        lines:
          event === null ? [] : model.analysis.done ? causalLines(model.causal(event)) : [analysing(model)],
      });
  const details = h(Pane, {
    title: 'Details (Enter)',
    width: layout.sideWidth,
    height: layout.sideBottomHeight,
    lines: event === null ? [] : detailLinesOf(model, event),
  });
  const extra = model.failures.length + model.anomalies.length;
  const extraTitle =
    extra === 0
      ? ''
      : ` · ${plural(model.failures.length, 'failure')} · ${model.anomalies.length} anomal${model.anomalies.length === 1 ? 'y' : 'ies'}`;
  const findings = h(Pane, {
    title: `Findings (${model.findings.length})${extraTitle}${state.findingsOnly ? ' · a: every event' : ' · a: findings only'}`,
    width: layout.columns,
    height: layout.findingsHeight,
    lines:
      model.analysis.done && model.analysis.error === null
        ? [
            ...findingLines(
              model.findings,
              event === null ? [] : model.findingsOf(event),
              layout.columns,
              state.findingsOnly,
              layout.findingsHeight,
            ),
            ...failureLines(model.failures, model.anomalies, layout.columns, state.findingsOnly),
          ]
        : [analysing(model)],
  });
  return h(
    Box,
    { flexDirection: 'column', width: layout.columns, height: bodyHeight },
    h(
      Box,
      { flexDirection: 'row', height: layout.middleHeight },
      timeline,
      h(Box, { width: 1, flexShrink: 0 }, h(Text, {}, ' ')),
      h(Box, { flexDirection: 'column', width: layout.sideWidth }, sideTop, details),
    ),
    findings,
  );
}

function detailLinesOf(model: TraceView, event: number): string[] {
  const details = model.details(event);
  return details === null ? [`loading event ${event}…`] : detailsLines(details, false);
}

/** What the panes that need the core say until it has answered. */
function analysing(model: TraceView): string {
  if (model.analysis.error !== null) return `the core could not analyse this trace: ${model.analysis.error}`;
  return `analysing the causality… ${Math.floor(model.analysis.fraction * 100)}%`;
}
