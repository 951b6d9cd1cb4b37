// The documents in docs/ are contracts: these tests hold them to the code that implements them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CoreErrorCode } from '@causeway/core';
import {
  AccessFlag,
  EdgeKind,
  EVENT_FORMAT_VERSION,
  EventKind,
  ExchangeFlag,
  Queue,
  RECORD_SIZE,
  RecordOffset,
  ResumeFlag,
  SiteKind,
  ValueTag,
} from '@causeway/core/event-format';
import { ChunkType, TRACE_FILE_VERSION } from '@causeway/core/trace-file';
import { InstrumentErrorCode } from '../babel-plugin/src/errors.ts';
import { CliErrorCode } from '../packages/cli/src/errors.ts';
import { InstrumentationErrorCode } from '../packages/instrumentation/src/errors.ts';
import { ServerErrorCode } from '../packages/server/src/errors.ts';

function read(path: string): string {
  return readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
}

/** The body rows of the markdown table whose header's first cell is `first`, as trimmed cells. */
function table(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|') && cells(line)[0] === first);
  assert.notEqual(start, -1, `a table headed "${first}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(cells(line));
  }
  return rows;
}

function cells(line: string): string[] {
  return line
    .slice(1, line.lastIndexOf('|'))
    .split('|')
    .map((cell) => cell.trim());
}

const unquote = (cell: string) => cell.replace(/`/g, '');

/** `Name = value,` pairs of a Rust enum or consts, from source text. */
function rustEnum(source: string, name: string): Record<string, number> {
  const body = source.slice(source.indexOf(`pub enum ${name} {`));
  const entries = [...body.slice(0, body.indexOf('}')).matchAll(/^\s*(\w+) = (\d+),/gm)];
  return Object.fromEntries(entries.map((m) => [m[1], Number(m[2])]));
}

describe('docs/event-format.md', () => {
  const doc = read('docs/event-format.md');
  const rust = read('crates/causeway-core/src/record.rs');

  it('states the version and record size the code uses', () => {
    assert.match(doc, new RegExp(`^# Event format, version ${EVENT_FORMAT_VERSION}$`, 'm'));
    assert.match(doc, new RegExp(`^${RECORD_SIZE} bytes, little-endian`, 'm'));
    assert.match(rust, new RegExp(`pub const FORMAT_VERSION: u32 = ${EVENT_FORMAT_VERSION};`));
    assert.match(rust, new RegExp(`pub const RECORD_SIZE: usize = ${RECORD_SIZE};`));
  });

  it('gives the field offsets of RecordOffset', () => {
    const documented = Object.fromEntries(
      table(doc, 'Field')
        .filter(([field]) => field?.startsWith('`'))
        .map(([field, offset]) => [unquote(field as string), Number(offset)]),
    );
    assert.deepEqual(documented, RecordOffset);
  });

  it('lists the kinds of EventKind and of the Rust core', () => {
    const documented = Object.fromEntries(
      table(doc, 'Kind').map(([kind, value]) => [unquote(kind as string), Number(value)]),
    );
    assert.deepEqual(documented, EventKind);
    assert.deepEqual(rustEnum(rust, 'Kind'), EventKind);
  });

  it('lists the resume flags', () => {
    const rows = table(doc.slice(doc.indexOf('### Flags')), 'Kind');
    assert.deepEqual(
      Object.fromEntries(rows.map(([, bit, name]) => [unquote(name as string), Number(bit)])),
      ResumeFlag,
    );
    assert.match(rust, new RegExp(`pub const FLAG_REJECTED: u8 = ${ResumeFlag.Rejected};`));
    assert.match(rust, new RegExp(`pub const FLAG_CALLED: u8 = ${ResumeFlag.Called};`));
  });

  it('lists the access flags and value tags of the TS and Rust owners', () => {
    const flags = table(doc, 'Access kind');
    assert.deepEqual(
      Object.fromEntries(flags.map(([, bit, name]) => [unquote(name as string), Number(bit)])),
      AccessFlag,
    );
    assert.match(rust, new RegExp(`pub const FLAG_DELETE: u8 = ${AccessFlag.Delete};`));
    assert.match(rust, new RegExp(`pub const FLAG_UPDATE: u8 = ${AccessFlag.Update};`));
    const tags = Object.fromEntries(
      table(doc, 'Value tag').map(([tag, value]) => [unquote(tag as string), Number(value)]),
    );
    assert.deepEqual(tags, ValueTag);
    assert.deepEqual(rustEnum(rust, 'ValueTag'), ValueTag);
  });

  it('lists the exchange flags of the TS and Rust owners', () => {
    const rows = table(doc, 'Exchange kind');
    assert.deepEqual(
      Object.fromEntries(rows.map(([, bit, name]) => [unquote(name as string), Number(bit)])),
      ExchangeFlag,
    );
    assert.match(rust, new RegExp(`pub const FLAG_FAILED: u8 = ${ExchangeFlag.Failed};`));
    assert.match(rust, new RegExp(`pub const FLAG_TIMEOUT: u8 = ${ExchangeFlag.Timeout};`));
    assert.match(rust, new RegExp(`pub const FLAG_MALFORMED: u8 = ${ExchangeFlag.Malformed};`));
  });

  it('lists the scheduling queues and the edge kinds of the TS and Rust owners', () => {
    const queues = Object.fromEntries(
      table(doc, 'Queue').map(([queue, value]) => [unquote(queue as string), Number(value)]),
    );
    assert.deepEqual(queues, Queue);
    assert.deepEqual(rustEnum(rust, 'Queue'), Queue);
    const edges = Object.fromEntries(
      table(doc, 'Edge kind').map(([kind, value]) => [unquote(kind as string), Number(value)]),
    );
    assert.deepEqual(edges, EdgeKind);
    assert.deepEqual(rustEnum(read('crates/causeway-core/src/graph.rs'), 'EdgeKind'), EdgeKind);
  });

  it('lists the site kinds', () => {
    const documented = Object.fromEntries(
      table(doc, 'Site kind').map(([kind, value]) => [unquote(kind as string), Number(value)]),
    );
    assert.deepEqual(documented, SiteKind);
  });
});

describe('docs/trace-file.md', () => {
  const doc = read('docs/trace-file.md');

  it('lists the chunk types of ChunkType, and the file version', () => {
    const documented = Object.fromEntries(
      table(doc, 'Type').map(([type, name]) => [unquote(name as string), Number(type)]),
    );
    const expected = Object.fromEntries(
      Object.entries(ChunkType).map(([name, value]) => [name.toUpperCase(), value]),
    );
    assert.deepEqual(documented, expected);
    assert.match(doc, new RegExp(`^# Trace file, version ${TRACE_FILE_VERSION}$`, 'm'));
  });
});

describe('docs/errors.md', () => {
  it('lists exactly the codes the packages define', () => {
    const doc = read('docs/errors.md');
    const documented = [...doc.matchAll(/^\| `(CW_[A-Z_]+)`/gm)].map((m) => m[1]).sort();
    const defined = [
      CoreErrorCode,
      InstrumentErrorCode,
      InstrumentationErrorCode,
      CliErrorCode,
      ServerErrorCode,
    ]
      .flatMap((codes) => Object.values(codes))
      .sort();
    assert.deepEqual(documented, defined);
  });
});
