/** The traces pane: one line with the selected trace and its neighbours (←→ moves). */

import { Box, Text } from 'ink';
import { h } from '../h.ts';
import type { TraceEntry } from '../source.ts';

export interface HeaderProps {
  entries: readonly TraceEntry[];
  selected: number;
  width: number;
  /** Counts of the loaded trace: `45 events · 10 tasks · 1 finding`. */
  summary: string;
  /** The trace is still being recorded and followed. */
  live?: boolean;
}

export function Header({ entries, selected, width, summary, live = false }: HeaderProps) {
  const entry = entries[selected];
  const label = ` Causeway · trace ${entries.length === 0 ? 0 : selected + 1}/${entries.length} `;
  const others = entries
    .map((e, i) => ({ e, i }))
    .filter(({ i }) => i !== selected && Math.abs(i - selected) <= 2)
    .map(({ e, i }) => (i < selected ? `‹ ${e.name}` : `${e.name} ›`));
  return h(
    Box,
    { width, height: 1, flexShrink: 0 },
    h(
      Text,
      { wrap: 'truncate-end' },
      h(Text, { bold: true, color: 'cyan' }, label),
      h(Text, { bold: true, inverse: true }, ` ${entry?.name ?? 'no traces'} `),
      live ? h(Text, { bold: true, color: 'green' }, ' ● live') : null,
      h(Text, {}, ` ${summary}`),
      h(Text, { dimColor: true }, `  ${entry?.detail ?? ''}  ${others.join('  ')}`),
    ),
  );
}
