import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRecords,
  EventKind,
  RECORD_SIZE,
  RecordOffset,
  VALUE_TAG_MASK,
  ValueTag,
} from '@causeway/core/event-format';
import { PUBLISH_EVERY, RecordRing } from '../src/runtime/ring.ts';

function drainAll(ring: RecordRing): ReturnType<typeof decodeRecords> {
  const parts: Uint8Array[] = [];
  ring.drain((records) => parts.push(records.slice()));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return decodeRecords(bytes);
}

describe('RecordRing', () => {
  it('writes records in the layout of event-format.md', () => {
    const ring = new RecordRing(8);
    ring.write(EventKind.FnEnter, 0, 7, 3, 42, 2 ** 40 + 5);
    ring.writeTimed(EventKind.AwaitResume, 1, 8, 4, 43, 9, 12.5);
    assert.deepEqual(drainAll(ring), [
      { kind: EventKind.FnEnter, flags: 0, seq: 7, task: 3, site: 42, a: 2 ** 40 + 5, b: 0 },
      { kind: EventKind.AwaitResume, flags: 1, seq: 8, task: 4, site: 43, a: 9, b: 12.5 },
    ]);
  });

  it('writes access records with a two-word location and an f64 or integer value', () => {
    const ring = new RecordRing(8);
    ring.writeAccess(EventKind.Read, ValueTag.Number, 1, 2, 3, 7, 0x8000_0004, 0, 99.5);
    ring.writeAccess(EventKind.Write, ValueTag.Object, 2, 2, 3, 7, 5, 12, 0);
    const parts: Uint8Array[] = [];
    ring.drain((records) => parts.push(records.slice()));
    const bytes = parts[0] as Uint8Array;
    const view = new DataView(bytes.buffer);
    assert.equal(view.getUint32(RecordOffset.a, true), 7, 'object id, low word');
    assert.equal(view.getUint32(RecordOffset.a + 4, true), 0x8000_0004, 'key id, high word');
    assert.equal(view.getFloat64(RecordOffset.b, true), 99.5);
    const [, write] = decodeRecords(bytes);
    assert.equal((write?.flags ?? 0) & VALUE_TAG_MASK, ValueTag.Object);
    assert.equal(write?.a, 7 + 5 * 2 ** 32);
    assert.equal(write?.b, 12);
  });

  it('publishes head to another thread every PUBLISH_EVERY records and at every task start', () => {
    const ring = new RecordRing(1024);
    // What a consumer on another thread sees: the shared header's head slot.
    const head = () => Atomics.load(new Int32Array(ring.buffer, 0, 4), 0);
    for (let i = 0; i < PUBLISH_EVERY - 1; i++) ring.write(EventKind.FnEnter, 0, i, 1, 1, 0);
    assert.equal(head(), 0, 'not yet: the batch is not full');
    ring.write(EventKind.FnEnter, 0, PUBLISH_EVERY - 1, 1, 1, 0);
    assert.equal(head(), PUBLISH_EVERY);
    ring.write(EventKind.FnEnter, 0, PUBLISH_EVERY, 1, 1, 0);
    ring.writeTimed(EventKind.AwaitResume, 0, PUBLISH_EVERY + 1, 2, 1, 1, 1.5);
    assert.equal(head(), PUBLISH_EVERY + 2, 'a task start publishes what came before it');
    ring.write(EventKind.FnEnter, 0, PUBLISH_EVERY + 2, 2, 1, 0);
    ring.publish();
    assert.equal(head(), PUBLISH_EVERY + 3);
    assert.equal(drainAll(ring).length, PUBLISH_EVERY + 3);
  });

  it('records a NaN site (a circular import before registration) as site 0', () => {
    const ring = new RecordRing(2);
    ring.write(EventKind.FnEnter, 0, 0, 1, Number.NaN, 0);
    assert.equal(drainAll(ring)[0]?.site, 0);
  });

  it('drops and counts records when full, and accepts new ones once drained', () => {
    const ring = new RecordRing(4);
    for (let seq = 0; seq < 6; seq++) ring.write(EventKind.FnEnter, 0, seq, 1, 1, 0);
    assert.equal(ring.dropped, 2);
    assert.deepEqual(
      drainAll(ring).map((r) => r.seq),
      [0, 1, 2, 3],
    );
    ring.write(EventKind.FnExit, 0, 6, 1, 1, 0);
    assert.deepEqual(
      drainAll(ring).map((r) => r.seq),
      [6],
    );
  });

  it('hands out wrapped-around records in order, in two views', () => {
    const ring = new RecordRing(4);
    for (let seq = 0; seq < 3; seq++) ring.write(EventKind.FnEnter, 0, seq, 1, 1, 0);
    drainAll(ring);
    const views: number[] = [];
    for (let seq = 3; seq < 7; seq++) ring.write(EventKind.FnEnter, 0, seq, 1, 1, 0);
    const seqs: number[] = [];
    ring.drain((records) => {
      views.push(records.byteLength / RECORD_SIZE);
      for (const r of decodeRecords(records.slice())) seqs.push(r.seq);
    });
    assert.deepEqual(views, [1, 3]);
    assert.deepEqual(seqs, [3, 4, 5, 6]);
    assert.equal(ring.dropped, 0);
  });

  it('keeps order and capacity when its counters wrap past 2^31', () => {
    const ring = new RecordRing(4, 2 ** 31 - 3);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) ring.write(EventKind.FnEnter, 0, round * 10 + i, 1, 1, 0);
      assert.deepEqual(
        drainAll(ring).map((r) => r.seq),
        [0, 1, 2, 3].map((i) => round * 10 + i),
      );
    }
    assert.equal(ring.dropped, 3);
  });

  it('refuses a capacity that is not a power of two', () => {
    assert.throws(() => new RecordRing(1000), /power of two/);
  });
});
