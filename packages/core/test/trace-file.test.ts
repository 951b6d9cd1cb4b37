import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ARRAY_INDEX_KEY,
  type CausewayError,
  EventKind,
  encodeRecords,
  readTraceFile,
  SiteKind,
  StringIndex,
  TraceFileWriter,
  type TraceMeta,
} from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'causeway-trace-file-'));
const meta: TraceMeta = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  service: 'test',
  pid: 42,
  startedAt: '2026-11-23T00:00:00.000Z',
  node: 'v24.0.0',
  causeway: '0.1.0',
};
const records = encodeRecords([
  { kind: EventKind.TaskBegin, flags: 0, seq: 0, task: 1, site: 0, a: 0, b: 0 },
  { kind: EventKind.FnEnter, flags: 0, seq: 1, task: 1, site: 1, a: 0, b: 0 },
]);

function writeSample(path: string, finish = true): void {
  const writer = TraceFileWriter.create(path, meta);
  writer.stream({ stream: 1, pid: 42, thread: 0, epochMs: 1000 });
  writer.sites({
    stream: 1,
    base: 1,
    table: { v: 1, file: 'src/a.ts', sites: [[SiteKind.Function, 3, 1, 'main', '']] },
  });
  writer.events(1, records);
  if (finish) writer.end({ records: 2, dropped: 0, endedAt: '2026-11-23T00:00:01.000Z' });
  else writer.close();
}

function expectError(path: string, code: string, message: RegExp): void {
  assert.throws(
    () => readTraceFile(path),
    (error: CausewayError) => {
      assert.equal(error.code, code);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(path), `message names the file: ${error.message}`);
      return true;
    },
  );
}

describe('trace file', () => {
  it('reads back what the writer wrote', () => {
    const path = join(dir, 'complete.cwtrace');
    writeSample(path);
    const file = readTraceFile(path);
    assert.deepEqual(file.meta, meta);
    assert.deepEqual(file.streams, [{ stream: 1, pid: 42, thread: 0, epochMs: 1000 }]);
    assert.equal(file.sites[0]?.table.sites[0]?.[3], 'main');
    assert.equal(file.events.length, 1);
    assert.deepEqual(Array.from(file.events[0]?.records ?? []), Array.from(records));
    assert.equal(file.end?.records, 2);
  });

  it('reads an unfinished recording and says it is unfinished', () => {
    const path = join(dir, 'unfinished.cwtrace');
    writeSample(path, false);
    assert.equal(readTraceFile(path).end, null);
  });

  it('names a missing file', () => {
    expectError(join(dir, 'missing.cwtrace'), 'CW_TRACE_UNREADABLE', /no such file/);
  });

  it('refuses a file that is not a trace', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello, this is text\n');
    expectError(path, 'CW_TRACE_NOT_A_TRACE', /not a Causeway trace file/);
  });

  it('refuses a version it does not read', () => {
    const path = join(dir, 'future.cwtrace');
    writeSample(path);
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(99, 8);
    writeFileSync(path, bytes);
    expectError(path, 'CW_TRACE_VERSION', /version 99 is not supported/);
  });

  it('reports where a truncated file was cut, whatever the cut', () => {
    const path = join(dir, 'whole.cwtrace');
    writeSample(path);
    const whole = readFileSync(path);
    // Inside the file header, the META chunk's header, its JSON, the EVENTS records, the END JSON.
    const eventsAt = whole.indexOf(Buffer.from(records));
    for (const cut of [10, 20, 30, eventsAt + 40, whole.length - 20]) {
      const cutPath = join(dir, `cut-${cut}.cwtrace`);
      writeFileSync(cutPath, whole.subarray(0, cut));
      expectError(cutPath, 'CW_TRACE_TRUNCATED', /cut off/);
    }
  });

  it("keeps each stream's string table, and refuses a STRINGS chunk that skips ids", () => {
    const path = join(dir, 'strings.cwtrace');
    const writer = TraceFileWriter.create(path, meta);
    writer.stream({ stream: 1, pid: 42, thread: 0, epochMs: 1000 });
    writer.strings({ stream: 1, first: 1, strings: ['balance', 'id'] });
    writer.strings({ stream: 1, first: 3, strings: ['acct-1'] });
    writer.end({ records: 0, dropped: 0, endedAt: '2026-11-23T00:00:01.000Z' });
    const strings = new StringIndex(readTraceFile(path).strings);
    assert.equal(strings.string(1, 3), 'acct-1');
    assert.equal(strings.keyName(1, 1), '.balance');
    assert.equal(strings.keyName(1, ARRAY_INDEX_KEY + 4), '[4]');
    assert.equal(strings.string(1, 4), null);

    const gap = join(dir, 'strings-gap.cwtrace');
    const bad = TraceFileWriter.create(gap, meta);
    bad.stream({ stream: 1, pid: 42, thread: 0, epochMs: 1000 });
    bad.strings({ stream: 1, first: 1, strings: ['balance'] });
    bad.strings({ stream: 1, first: 5, strings: ['lost'] });
    bad.close();
    expectError(gap, 'CW_TRACE_CORRUPT', /STRINGS chunk of stream 1 starts at id 5, expected 2/);
  });

  it('reads a version 1 file (before STRINGS existed)', () => {
    const path = join(dir, 'v1.cwtrace');
    writeSample(path);
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(1, 8);
    writeFileSync(path, bytes);
    const file = readTraceFile(path);
    assert.deepEqual(file.strings, []);
    assert.equal(file.events.length, 1);
  });

  it('refuses a chunk with a broken payload', () => {
    const path = join(dir, 'corrupt.cwtrace');
    writeSample(path);
    const bytes = readFileSync(path);
    bytes.write('}', 24, 'utf8'); // inside the META JSON
    writeFileSync(path, bytes);
    expectError(path, 'CW_TRACE_CORRUPT', /META chunk is not valid JSON/);
  });
});
