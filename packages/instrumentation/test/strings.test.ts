import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARRAY_INDEX_KEY } from '@causeway/core/event-format';
import {
  isSecretKey,
  MAX_KEYS,
  MAX_STRING_VALUE_LENGTH,
  MAX_STRING_VALUES,
  StringTable,
} from '../src/runtime/strings.ts';

describe('StringTable', () => {
  it('gives one id to a key however the source spells it', () => {
    const table = new StringTable();
    const balance = table.keyOfName('balance');
    assert.equal(balance, 1);
    assert.equal(table.keyOf('balance'), balance);
    assert.equal(table.keyOf(1.5), table.keyOf('1.5'));
    assert.equal(table.keyOf(true), table.keyOf('true'));
    assert.equal(table.keyOf(null), table.keyOf('null'));
    assert.equal(table.keyOf(undefined), table.keyOf('undefined'));
    assert.equal(table.keyOf(10n), table.keyOf('10'));
  });

  it('names array indices by number, without a table entry', () => {
    const table = new StringTable();
    assert.equal(table.keyOf(3), ARRAY_INDEX_KEY + 3);
    assert.equal(table.keyOf('3'), ARRAY_INDEX_KEY + 3);
    assert.equal(table.keyOfName('0'), ARRAY_INDEX_KEY);
    assert.equal(table.keyOf(-0), ARRAY_INDEX_KEY, '-0 is the key "0"');
    assert.equal(table.size, 0);
    // Not canonical indices: interned as strings.
    assert.notEqual(table.keyOf('03'), ARRAY_INDEX_KEY + 3);
    assert.notEqual(table.keyOf(2 ** 31), ARRAY_INDEX_KEY + 2 ** 31);
    assert.equal(table.keyOf(-1), table.keyOf('-1'));
    // A captured string value '7' does not make the key '7' anything but index 7.
    const withValue = new StringTable();
    assert.notEqual(withValue.valueOf('7'), 0);
    assert.equal(withValue.keyOf('7'), ARRAY_INDEX_KEY + 7);
    assert.equal(withValue.keyOf('7'), withValue.keyOf(7));
  });

  it('keeps distinct symbols apart, even with one description', () => {
    const table = new StringTable();
    const a = table.keyOf(Symbol('tag'));
    const b = table.keyOf(Symbol('tag'));
    const shared = Symbol('shared');
    assert.notEqual(a, b);
    assert.equal(table.keyOf(shared), table.keyOf(shared));
    assert.deepEqual(table.take()?.strings, ['Symbol(tag)', 'Symbol(tag)', 'Symbol(shared)']);
  });

  it('never converts an object key (its toString could run user code)', () => {
    const table = new StringTable();
    let calls = 0;
    const key = {
      toString() {
        calls++;
        return 'k';
      },
    };
    assert.equal(table.keyOf(key), 0);
    assert.equal(calls, 0);
  });

  it('hands out new entries once, in id order', () => {
    const table = new StringTable();
    table.keyOfName('a');
    table.valueOf('hello');
    assert.deepEqual(table.take(), { first: 1, strings: ['a', 'hello'] });
    assert.equal(table.take(), null);
    table.keyOfName('a');
    table.keyOfName('b');
    assert.deepEqual(table.take(), { first: 3, strings: ['b'] });
  });

  it('stops interning past its budgets, and keeps what it has', () => {
    const table = new StringTable();
    for (let i = 0; i < MAX_KEYS; i++) assert.notEqual(table.keyOfName(`k${i}`), 0);
    assert.equal(table.keyOfName('one-too-many'), 0);
    assert.equal(table.keyOfName('k7'), 8);
    for (let i = 0; i < MAX_STRING_VALUES; i++) assert.notEqual(table.valueOf(`v${i}`), 0);
    assert.equal(table.valueOf('one-too-many'), 0);
    assert.equal(new StringTable().valueOf('x'.repeat(MAX_STRING_VALUE_LENGTH + 1)), 0);
  });

  it('numbers captures among interned strings, without interning or keeping them once taken', () => {
    const table = new StringTable();
    const key = table.keyOfName('id');
    const first = table.capture('{"a":1}', 100);
    const again = table.capture('{"a":1}', 100);
    assert.deepEqual([key, first, again], [1, 2, 3]);
    assert.equal(table.capture('x'.repeat(101), 100), 0, 'longer than its bound');
    assert.equal(table.valueOf('v'), 4);
    assert.deepEqual(table.take(), { first: 1, strings: ['id', '{"a":1}', '{"a":1}', 'v'] });
    assert.equal(table.capture('{"b":2}', 100), 5);
    assert.deepEqual(table.take(), { first: 5, strings: ['{"b":2}'] });
    assert.equal(table.take(), null);
    assert.equal(table.size, 5);
  });

  it('marks secret-looking keys, as whole words', () => {
    for (const name of [
      'password',
      'userPassword',
      'accessToken',
      'x-auth-token',
      'card_number',
      'Authorization',
      'apiKey',
      'cookie',
      'pin',
    ]) {
      assert.ok(isSecretKey(name), name);
    }
    for (const name of ['author', 'cardinality', 'balance', 'tokenizer', 'spinner', 'passenger']) {
      assert.ok(!isSecretKey(name), name);
    }
    const table = new StringTable();
    assert.ok(table.isSecret(table.keyOfName('password')));
    assert.ok(!table.isSecret(table.keyOfName('balance')));
    // A string first seen as a value is still a secret key later.
    table.valueOf('sessionId');
    assert.ok(table.isSecret(table.keyOf('sessionId')));
  });
});
