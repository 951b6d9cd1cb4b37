import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
});
