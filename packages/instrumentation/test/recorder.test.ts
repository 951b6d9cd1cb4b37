import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CausalTrace } from '@causeway/core';
import {
  AccessFlag,
  decodeRecords,
  EventKind,
  Queue,
  ResumeFlag,
  SiteKind,
  VALUE_TAG_MASK,
  ValueTag,
} from '@causeway/core/event-format';
import { Recorder, ROOT_TASK } from '../src/runtime/recorder.ts';

function recorderWithClock(): Recorder {
  let now = 0;
  return new Recorder(1024, { now: () => (now += 1) });
}

function records(recorder: Recorder): Uint8Array {
  const parts: Uint8Array[] = [];
  recorder.ring.drain((r) => parts.push(r.slice()));
  return Buffer.concat(parts);
}

describe('Recorder', () => {
  it('starts in the root task and gives each await continuation a new task', () => {
    const recorder = recorderWithClock();
    const site = recorder.registerSites({
      v: 1,
      file: 'a.ts',
      sites: [
        [1, 1, 1, 'f', ''],
        [2, 2, 3, 'f', ''],
      ],
    });
    assert.equal(site, 1);
    const inv = recorder.enterAsync(site);
    recorder.suspend(site + 1, inv);
    assert.equal(recorder.currentTask, ROOT_TASK);
    recorder.resume(site + 1, inv);
    assert.equal(recorder.currentTask, ROOT_TASK + 1);
    recorder.exit(site, inv);
    assert.deepEqual(
      decodeRecords(records(recorder)).map(({ kind, seq, task, site, a }) => [kind, seq, task, site, a]),
      [
        [EventKind.TaskBegin, 0, 1, 0, 0],
        [EventKind.FnEnter, 1, 1, 1, inv],
        [EventKind.AwaitSuspend, 2, 1, 2, inv],
        [EventKind.AwaitResume, 3, 2, 2, inv],
        [EventKind.FnExit, 4, 2, 1, inv],
      ],
    );
  });

  it('starts a rejected continuation in caught(), and only when the invocation is suspended', () => {
    const recorder = recorderWithClock();
    const inv = recorder.enterAsync(5);
    recorder.caught(inv); // a synchronous throw caught in the same task: no new task
    assert.equal(recorder.currentTask, ROOT_TASK);
    recorder.suspend(6, inv);
    recorder.caught(inv);
    assert.equal(recorder.currentTask, ROOT_TASK + 1);
    recorder.caught(inv); // a finally after the catch: still the same task
    assert.equal(recorder.currentTask, ROOT_TASK + 1);
    const resume = decodeRecords(records(recorder)).filter((r) => r.kind === EventKind.AwaitResume);
    assert.equal(resume.length, 1);
    assert.equal(resume[0]?.flags, ResumeFlag.Rejected);
    assert.equal(resume[0]?.site, 6);
  });

  it('flags a continuation that starts inside a next() or throw() call with its caller', () => {
    const recorder = recorderWithClock();
    const inv = recorder.enterAsync(5);
    recorder.suspend(6, inv); // the generator yields in the root task
    const caller = recorder.currentTask;
    recorder.beginResumingCall(true);
    recorder.resume(6, inv); // next() resumed it synchronously
    recorder.suspend(6, inv);
    recorder.endResumingCall();
    recorder.resume(6, inv); // an await's continuation: no call on the stack
    recorder.suspend(6, inv);
    recorder.beginResumingCall(false); // called from code outside the current task
    recorder.resume(6, inv);
    recorder.suspend(6, inv);
    recorder.endResumingCall();
    recorder.beginResumingCall(true);
    recorder.caught(inv); // throw() resumed it in a catch
    recorder.endResumingCall();
    const all = decodeRecords(records(recorder));
    const resumes = all.filter((r) => r.kind === EventKind.AwaitResume);
    assert.deepEqual(
      resumes.map((r) => r.flags),
      [ResumeFlag.Called, 0, 0, ResumeFlag.Called | ResumeFlag.Rejected],
    );
    // The record just before the first flagged one is the caller's: the core takes it as a cause.
    const first = all.findIndex((r) => r.kind === EventKind.AwaitResume);
    assert.equal(all[first - 1]?.task, caller);
  });

  it('starts a task of unknown cause when a function is entered from another event-loop callback', () => {
    let asyncId = 0;
    let now = 0;
    const recorder = new Recorder(1024, { now: () => ++now }, () => asyncId);
    recorder.enter(1); // the program's start
    asyncId = 7; // a timer callback
    recorder.enter(2);
    recorder.enter(3); // same callback, same task
    asyncId = 8; // another timer
    recorder.enter(2);
    const inv = recorder.enterAsync(4);
    recorder.suspend(5, inv);
    asyncId = 0; // the continuation runs as a microtask
    recorder.resume(5, inv);
    recorder.enter(3); // called from the continuation: still its task
    const begins = decodeRecords(records(recorder)).filter(
      (r) => r.kind === EventKind.TaskBegin || r.kind === EventKind.AwaitResume,
    );
    assert.deepEqual(
      begins.map(({ kind, task, site }) => [kind, task, site]),
      [
        [EventKind.TaskBegin, 1, 0],
        [EventKind.TaskBegin, 2, 2],
        [EventKind.TaskBegin, 3, 2],
        [EventKind.AwaitResume, 4, 5],
      ],
    );
    assert.equal(recorder.currentTask, 4);
  });

  it('produces records the core orders into two concurrent chains', () => {
    const recorder = recorderWithClock();
    const first = recorder.enterAsync(1);
    recorder.suspend(2, first);
    const second = recorder.enterAsync(1);
    recorder.suspend(2, second);
    recorder.resume(2, first); // task 2
    recorder.suspend(3, first);
    recorder.resume(2, second); // task 3
    recorder.resume(3, first); // task 4
    using trace = CausalTrace.create();
    trace.ingest(1, records(recorder));
    const index = new Map(trace.tasks().map((t) => [t.localId, t.index]));
    const task = (local: number) => index.get(local) as number;
    assert.ok(trace.happensBefore(task(1), task(4)));
    assert.ok(trace.happensBefore(task(2), task(4)));
    assert.ok(trace.concurrent(task(2), task(3)));
    assert.ok(trace.concurrent(task(3), task(4)));
    assert.equal(trace.stats().unmatchedResumes, 0);
  });

  describe('accesses', () => {
    function accessRecorder() {
      const recorder = recorderWithClock();
      const base = recorder.registerSites({
        v: 1,
        file: 'a.ts',
        sites: [
          [SiteKind.Read, 1, 1, 'f', 'balance'],
          [SiteKind.Write, 2, 1, 'f', 'balance'],
          [SiteKind.Read, 3, 1, 'f', ''],
          [SiteKind.Write, 4, 1, 'f', 'password'],
        ],
      });
      return { recorder, read: base, write: base + 1, computed: base + 2, secret: base + 3 };
    }

    function accesses(recorder: Recorder) {
      return decodeRecords(records(recorder))
        .filter((r) => r.kind === EventKind.Read || r.kind === EventKind.Write)
        .map((r) => ({
          kind: r.kind,
          site: r.site,
          object: r.a % 2 ** 32,
          key: Math.floor(r.a / 2 ** 32),
          tag: r.flags & VALUE_TAG_MASK,
          flags: r.flags & ~VALUE_TAG_MASK,
          b: r.b,
        }));
    }

    it('names a location by object id and key id, and keeps the value read or written', () => {
      const { recorder, read, write, computed } = accessRecorder();
      const account = { balance: 100 };
      const other = { balance: 1 };
      recorder.read(read, account, 100);
      recorder.write(write, account, 70, 0);
      recorder.readKey(computed, account, 'balance', 70);
      recorder.read(read, other, 1);
      const [first, second, third, fourth] = accesses(recorder);
      const balance = recorder.strings.keyOfName('balance');
      assert.deepEqual(first, {
        kind: EventKind.Read,
        site: read,
        object: 1,
        key: balance,
        tag: ValueTag.Number,
        flags: 0,
        b: 100,
      });
      assert.deepEqual(second, {
        kind: EventKind.Write,
        site: write,
        object: 1,
        key: balance,
        tag: ValueTag.Number,
        flags: 0,
        b: 70,
      });
      assert.equal(third?.key, balance, 'a computed key names the same location');
      assert.equal(third?.object, 1);
      assert.equal(fourth?.object, 2, 'another object, another id');
      assert.equal(recorder.objectId(account), 1);
    });

    it('tags every kind of value', () => {
      const { recorder, read } = accessRecorder();
      const o = {};
      const values: unknown[] = [undefined, null, false, true, 'acct-1', o, () => 1, 10n, Symbol('s')];
      for (const value of values) recorder.read(read, o, value);
      const got = accesses(recorder).map(({ tag, b }) => [tag, b]);
      assert.deepEqual(got, [
        [ValueTag.Undefined, 0],
        [ValueTag.Null, 0],
        [ValueTag.False, 0],
        [ValueTag.True, 0],
        [ValueTag.String, recorder.strings.valueOf('acct-1')],
        [ValueTag.Object, 1],
        [ValueTag.Object, 2],
        [ValueTag.None, 0],
        [ValueTag.None, 0],
      ]);
    });

    it('never captures the value of a secret-looking key', () => {
      const { recorder, secret, computed } = accessRecorder();
      const user = {};
      recorder.write(secret, user, 'hunter2', 0);
      recorder.readKey(computed, user, 'apiKey', 'abc');
      assert.deepEqual(
        accesses(recorder).map(({ tag, b }) => [tag, b]),
        [
          [ValueTag.None, 0],
          [ValueTag.None, 0],
        ],
      );
      assert.ok(!recorder.strings.take()?.strings.includes('hunter2'));
    });

    it('counts a failure of its own instead of throwing it into the application', () => {
      const { recorder, read } = accessRecorder();
      recorder.ring.writeAccess = () => {
        throw new Error('simulated ring failure');
      };
      const o = { balance: 1 };
      assert.doesNotThrow(() => recorder.read(read, o, 1));
      assert.doesNotThrow(() => recorder.writeKey(read, o, 'balance', 2, 0));
      assert.equal(recorder.failures, 2);
    });

    it('marks updates and deletes, and skips what has no location', () => {
      const { recorder, write, computed } = accessRecorder();
      const o = { balance: 1 };
      recorder.write(write, o, 2, AccessFlag.Update);
      recorder.write(write, o, undefined, AccessFlag.Delete);
      recorder.read(computed, o, 1); // a computed site read through the static probe: no key
      recorder.readKey(computed, 'text', 'length', 4); // a primitive has no identity
      recorder.readKey(computed, o, { toString: () => 'balance' }, 1); // object key: not converted
      assert.deepEqual(
        accesses(recorder).map(({ flags, tag }) => [flags, tag]),
        [
          [AccessFlag.Update, ValueTag.Number],
          [AccessFlag.Delete, ValueTag.None],
        ],
      );
    });
  });
});

describe('Recorder, scheduled callbacks', () => {
  it('begins a callback’s task with its first record, and leaves none for a callback that records nothing', () => {
    let asyncId = 5;
    let now = 0;
    const recorder = new Recorder(1024, { now: () => (now += 1) }, () => asyncId);
    recorder.endStartup();
    const quiet = recorder.schedule(Queue.NextTick, 0, 0);
    const busy = recorder.schedule(Queue.Timeout, 0, 1);
    asyncId = 6;
    recorder.beginCallback(quiet);
    recorder.endCallback();
    assert.equal(recorder.inCurrentTask(), false, 'the callback’s task is closed once it returns');
    asyncId = 7;
    recorder.beginCallback(busy);
    assert.equal(recorder.inCurrentTask(), true);
    recorder.enter(3);
    recorder.endCallback();
    const written = decodeRecords(records(recorder));
    assert.deepEqual(
      written.map((r) => [r.kind, r.task, r.a]),
      [
        [EventKind.TaskBegin, ROOT_TASK, 0],
        [EventKind.Schedule, ROOT_TASK, quiet],
        [EventKind.Schedule, ROOT_TASK, busy],
        [EventKind.CallbackBegin, ROOT_TASK + 1, busy],
        [EventKind.FnEnter, ROOT_TASK + 1, 0],
      ],
    );
    assert.equal(written[2]?.b, 1, 'the timer’s delay');
    assert.equal(written[2]?.flags, Queue.Timeout);
  });

  it('names one callback id in several Schedule records (a stream’s), each in the task that writes it', () => {
    let asyncId = 5;
    const recorder = new Recorder(1024, { now: () => 1 }, () => asyncId);
    recorder.endStartup();
    const id = recorder.callbackId();
    recorder.scheduleAgain(id, Queue.Emitter, 42, 0);
    asyncId = 6;
    recorder.beginCallback(id);
    recorder.scheduleAgain(id, Queue.Emitter, 42, 0);
    recorder.endCallback();
    const written = decodeRecords(records(recorder));
    assert.deepEqual(
      written.map((r) => [r.kind, r.flags, r.task, r.a]),
      [
        [EventKind.TaskBegin, 0, ROOT_TASK, 0],
        [EventKind.Schedule, Queue.Emitter, ROOT_TASK, id + 42 * 2 ** 32],
        [EventKind.CallbackBegin, 0, ROOT_TASK + 1, id],
        [EventKind.Schedule, Queue.Emitter, ROOT_TASK + 1, id + 42 * 2 ** 32],
      ],
    );
  });

  it('keeps code run in another async resource’s scope in the task that entered it', () => {
    let asyncId = 5;
    const recorder = new Recorder(1024, { now: () => 1 }, () => asyncId);
    recorder.endStartup();
    const outer = recorder.enterScope(8);
    asyncId = 8;
    assert.equal(recorder.inCurrentTask(), true, 'inside the scope');
    recorder.enter(3);
    asyncId = 5;
    recorder.leaveScope(8, outer);
    assert.equal(recorder.inCurrentTask(), true, 'after it');
    recorder.enter(4);
    assert.deepEqual(
      decodeRecords(records(recorder)).map((r) => [r.kind, r.task]),
      [
        [EventKind.TaskBegin, ROOT_TASK],
        [EventKind.FnEnter, ROOT_TASK],
        [EventKind.FnEnter, ROOT_TASK],
      ],
    );
    // A callback that began and ended inside the scope closed the task: leaving does not reopen it.
    const tick = recorder.schedule(Queue.NextTick, 0, 0);
    const again = recorder.enterScope(9);
    asyncId = 10;
    recorder.beginCallback(tick);
    recorder.endCallback();
    asyncId = 5;
    recorder.leaveScope(9, again);
    assert.equal(recorder.inCurrentTask(), false);
  });

  it('returns to the interrupted task after a callback while the program is starting', () => {
    let asyncId = 0;
    const recorder = new Recorder(1024, { now: () => 1 }, () => asyncId);
    const tick = recorder.schedule(Queue.NextTick, 0, 0);
    asyncId = 9;
    recorder.beginCallback(tick);
    recorder.enter(3);
    recorder.endCallback();
    asyncId = 0;
    assert.equal(recorder.currentTask, ROOT_TASK);
    assert.equal(recorder.inCurrentTask(), true);
  });
});
