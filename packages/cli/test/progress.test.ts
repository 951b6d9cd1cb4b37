import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventKind, encodeRecords, type RecordFields } from '@causeway/core/event-format';
import { TraceFileWriter } from '@causeway/core/trace-file';
import { type Io, Progress } from '../src/io.ts';
import { FileTraceSource } from '../src/trace-source.ts';
import { tempDir, writeTrace } from './fixtures.ts';

function fakeIo(errIsTTY: boolean): Io & { errText: () => string } {
  let err = '';
  return {
    out() {},
    err(text) {
      err += text;
    },
    errIsTTY,
    errText: () => err,
  };
}

describe('progress', () => {
  it('redraws one line on a terminal and clears it when done', () => {
    const io = fakeIo(true);
    const progress = new Progress(io);
    progress.update('reading 1/2');
    progress.update('reading 2/2');
    progress.done();
    assert.equal(io.errText(), '\r\x1b[2Kreading 1/2\r\x1b[2Kreading 2/2\r\x1b[2K');
  });

  it('is silent when stderr is not a terminal', () => {
    const io = fakeIo(false);
    const progress = new Progress(io);
    progress.update('reading 1/2');
    progress.done();
    assert.equal(io.errText(), '');
  });

  it('shows listing traces on a terminal only', async () => {
    const dir = tempDir();
    writeTrace(join(dir, 'a.cwtrace'));
    writeTrace(join(dir, 'b.cwtrace'), { traceId: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' });
    const tty = fakeIo(true);
    assert.equal((await new FileTraceSource(dir).list(tty)).length, 2);
    assert.match(tty.errText(), /reading traces 1\/2: a\.cwtrace.*reading traces 2\/2: b\.cwtrace/s);
    const piped = fakeIo(false);
    await new FileTraceSource(dir).list(piped);
    assert.equal(piped.errText(), '');
  });

  it('shows loading a trace over 4 MiB on a terminal only', () => {
    const path = join(tempDir(), 'big.cwtrace');
    const writer = TraceFileWriter.create(path, {
      traceId: 'cccccccccccccccccccccccccccccccc',
      service: 'big',
      pid: 1,
      startedAt: '2026-11-23T10:00:00.000Z',
      node: '24.0.0',
      causeway: '0.1.0',
    });
    writer.stream({ stream: 1, pid: 1, thread: 0, epochMs: 0 });
    // 140,000 records of 32 bytes: 4.3 MiB, one task entering and leaving a function.
    const records: RecordFields[] = [
      { kind: EventKind.TaskBegin, flags: 0, seq: 0, task: 1, site: 0, a: 0, b: 0 },
    ];
    for (let seq = 1; seq < 140_000; seq++) {
      records.push({
        kind: seq % 2 ? EventKind.FnEnter : EventKind.FnExit,
        flags: 0,
        seq,
        task: 1,
        site: 0,
        a: 0,
        b: 0,
      });
    }
    writer.events(1, encodeRecords(records));
    writer.end({ records: records.length, dropped: 0, endedAt: '2026-11-23T10:00:01.000Z' });
    const source = new FileTraceSource(tempDir());
    const tty = fakeIo(true);
    source.load({ path }, tty).loaded.trace.dispose();
    const shown = tty.errText();
    assert.ok(shown.startsWith('\r\x1b[2Kloading '), shown);
    assert.ok(shown.endsWith('big.cwtrace (4.3 MiB)...\r\x1b[2K'), shown);
    const piped = fakeIo(false);
    source.load({ path }, piped).loaded.trace.dispose();
    assert.equal(piped.errText(), '');
    const small = fakeIo(true);
    source.load({ path: writeTrace(join(tempDir(), 'small.cwtrace')) }, small).loaded.trace.dispose();
    assert.equal(small.errText(), '', 'no progress for a small trace');
  });
});
