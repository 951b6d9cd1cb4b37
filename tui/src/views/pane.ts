/** A titled block of lines with a fixed size; lines are cut at its right edge, never wrapped. */

import { Box, Text } from 'ink';
import { h } from '../h.ts';

export interface PaneProps {
  title: string;
  width: number;
  height: number;
  lines: readonly string[];
}

export function Pane({ title, width, height, lines }: PaneProps) {
  const shown = lines.slice(0, Math.max(0, height - 1));
  return h(
    Box,
    { flexDirection: 'column', width, height, flexShrink: 0 },
    h(Text, { bold: true, inverse: true, wrap: 'truncate-end' }, pad(` ${title}`, width)),
    ...shown.map((line, i) => h(Text, { key: i, wrap: 'truncate-end' }, line === '' ? ' ' : line)),
  );
}

/** Pads to `width` so an inverse title fills its line. */
export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}
