/**
 * Keys as the reducer sees them. Ink's useInput hands over what the terminal sent: one named key
 * (an arrow, Enter) or a string, and keys typed quickly arrive as one string ("jjj"). Both become
 * a list of single keys here, so the reducer handles one key at a time.
 */

/** A printable character, or one of the named keys. */
export type KeyPress =
  | { char: string }
  | {
      name:
        | 'up'
        | 'down'
        | 'left'
        | 'right'
        | 'pageUp'
        | 'pageDown'
        | 'home'
        | 'end'
        | 'enter'
        | 'escape'
        | 'backspace'
        | 'tab';
    };

/** The subset of Ink's `Key` this module reads. */
export interface InkKey {
  upArrow: boolean;
  downArrow: boolean;
  leftArrow: boolean;
  rightArrow: boolean;
  pageUp: boolean;
  pageDown: boolean;
  home: boolean;
  end: boolean;
  return: boolean;
  escape: boolean;
  backspace: boolean;
  delete: boolean;
  tab: boolean;
  ctrl: boolean;
  meta: boolean;
}

const NAMED: readonly [keyof InkKey, Extract<KeyPress, { name: string }>['name']][] = [
  ['upArrow', 'up'],
  ['downArrow', 'down'],
  ['leftArrow', 'left'],
  ['rightArrow', 'right'],
  ['pageUp', 'pageUp'],
  ['pageDown', 'pageDown'],
  ['home', 'home'],
  ['end', 'end'],
  ['return', 'enter'],
  ['escape', 'escape'],
  ['backspace', 'backspace'],
  // Most terminals send DEL (0x7f) for the Backspace key, which Ink reports as `delete`.
  ['delete', 'backspace'],
  ['tab', 'tab'],
];

export function keysFromInk(input: string, key: InkKey): KeyPress[] {
  for (const [flag, name] of NAMED) {
    if (key[flag]) return [{ name }];
  }
  if (key.ctrl) return input === 'c' ? [{ char: 'q' }] : [];
  // Escape then a key, typed quickly, reaches Ink as one Alt+key sequence: keep both.
  if (key.meta) return [{ name: 'escape' }, ...charsOf(input.startsWith('\u001b') ? input.slice(1) : input)];
  return charsOf(input);
}

/** Splits typed text into keys; Enter and Escape inside a burst ("/foo\r") stay keys. */
export function charsOf(text: string): KeyPress[] {
  const keys: KeyPress[] = [];
  for (const char of text) {
    if (char === '\r' || char === '\n') keys.push({ name: 'enter' });
    else if (char === '\u001b') keys.push({ name: 'escape' });
    else if (char === '\u007f' || char === '\b') keys.push({ name: 'backspace' });
    else if (char >= ' ') keys.push({ char });
  }
  return keys;
}
