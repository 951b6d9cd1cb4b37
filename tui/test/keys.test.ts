import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { charsOf, type InkKey, keysFromInk } from '../src/keys.ts';

const NONE: InkKey = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageUp: false,
  pageDown: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  backspace: false,
  delete: false,
  tab: false,
  ctrl: false,
  meta: false,
};

describe('keysFromInk', () => {
  it('splits a burst of typed keys into single keys', () => {
    assert.deepEqual(keysFromInk('jjk', NONE), [{ char: 'j' }, { char: 'j' }, { char: 'k' }]);
    assert.deepEqual(keysFromInk('/ab\r', NONE), [
      { char: '/' },
      { char: 'a' },
      { char: 'b' },
      { name: 'enter' },
    ]);
  });

  it('names arrows, Enter, Escape and Backspace (DEL included)', () => {
    assert.deepEqual(keysFromInk('', { ...NONE, downArrow: true }), [{ name: 'down' }]);
    assert.deepEqual(keysFromInk('', { ...NONE, leftArrow: true }), [{ name: 'left' }]);
    assert.deepEqual(keysFromInk('\r', { ...NONE, return: true }), [{ name: 'enter' }]);
    assert.deepEqual(keysFromInk('', { ...NONE, escape: true }), [{ name: 'escape' }]);
    assert.deepEqual(keysFromInk('', { ...NONE, delete: true }), [{ name: 'backspace' }]);
    assert.deepEqual(keysFromInk('', { ...NONE, pageDown: true }), [{ name: 'pageDown' }]);
  });

  it('reads Escape typed quickly before a key (Alt+key to the terminal) as both', () => {
    assert.deepEqual(keysFromInk('t', { ...NONE, meta: true }), [{ name: 'escape' }, { char: 't' }]);
  });

  it('turns Ctrl+C into quit and ignores other control keys', () => {
    assert.deepEqual(keysFromInk('c', { ...NONE, ctrl: true }), [{ char: 'q' }]);
    assert.deepEqual(keysFromInk('x', { ...NONE, ctrl: true }), []);
  });

  it('drops other control characters from typed text', () => {
    assert.deepEqual(charsOf('a\u0001b\u007f'), [{ char: 'a' }, { char: 'b' }, { name: 'backspace' }]);
  });
});
