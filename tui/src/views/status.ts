/** The bottom line: the search being typed, a message, or the keys. */

import { Box, Text } from 'ink';
import { h } from '../h.ts';
import type { UiState } from '../state.ts';

const KEYS = '↑↓ event ←→ trace Enter details t time travel a findings / search ? help q quit';

export function StatusLine({ state, width, note }: { state: UiState; width: number; note: string | null }) {
  let text: string;
  let color: string | undefined;
  if (state.search.editing) text = `/${state.search.query}█  (Enter search, Esc cancel)`;
  else if (state.message !== null) {
    text = state.message;
    color = 'yellow';
  } else if (note !== null) {
    text = note;
    color = 'yellow';
  } else text = KEYS;
  return h(Box, { width, height: 1, flexShrink: 0 }, h(Text, { wrap: 'truncate-end', color }, text));
}
