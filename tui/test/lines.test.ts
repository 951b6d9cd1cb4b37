import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FindingReport, LocationState, TraceEvent } from '@causeway/core';
import { DB_SITE_FILE } from '@causeway/core/event-format';
import { layout, MIN_COLUMNS } from '../src/layout.ts';
import { causalLines, describeClock, findingLines, HELP_LINES, timeTravelLines, wrap } from '../src/lines.ts';
import { accessTarget, describeEvent } from '../src/trace-model.ts';

describe('layout', () => {
  it('divides 80x24 into a timeline of 17 rows, side panes and 4 lines of findings', () => {
    const screen = layout(80, 24, false);
    assert.deepEqual(
      [screen.timelineWidth, screen.sideWidth, screen.timelineRows, screen.findingsHeight],
      [44, 35, 17, 4],
    );
    assert.equal(screen.timelineWidth + 1 + screen.sideWidth, 80);
    assert.equal(2 + screen.middleHeight + screen.findingsHeight, 24);
    assert.equal(screen.sideTopHeight + screen.sideBottomHeight, screen.middleHeight);
  });

  it('gives findings half the body with `a`, and grows with the screen', () => {
    const small = layout(80, 24, true);
    assert.equal(small.findingsHeight, 11);
    assert.equal(small.timelineRows, 10);
    const large = layout(200, 60, false);
    assert.equal(large.findingsHeight, 8);
    assert.equal(large.timelineRows, 49);
    assert.equal(large.timelineWidth + 1 + large.sideWidth, 200);
  });

  it('still lays out a screen smaller than designed for', () => {
    const tiny = layout(30, 8, false);
    assert.ok(tiny.timelineRows >= 2);
    assert.ok(tiny.sideWidth >= 10);
  });
});

describe('pane lines', () => {
  it('has help that fits the smallest screen, in width and in height', () => {
    for (const line of HELP_LINES)
      assert.ok(line.length < MIN_COLUMNS, `too long for ${MIN_COLUMNS} columns: ${line}`);
    assert.ok(HELP_LINES.length <= layout(MIN_COLUMNS, 24, false).rows - 2);
  });

  it('wraps at spaces and cuts words longer than the width', () => {
    assert.deepEqual(wrap('one two three four', 10), ['one two', 'three four']);
    assert.deepEqual(wrap('abcdefghijklmnopqrstuvwxyz', 10), ['abcdefghij', 'klmnopqrst', 'uvwxyz']);
    assert.deepEqual(wrap('  ', 10), []);
  });

  it('shows a short clock in full and a long one by its non-zero chains', () => {
    assert.equal(describeClock([1, 0, 2]), '[1, 0, 2]');
    const long = Array.from({ length: 100 }, (_, i) => (i === 3 || i === 70 ? i : 0));
    assert.equal(describeClock(long), 'c3=3 c70=70 (2 of 100 chains non-zero)');
    const busy = Array.from({ length: 20 }, () => 1);
    assert.match(describeClock(busy, 2), /^c0=1 c1=1 \+18 more \(20 of 20 chains non-zero\)$/);
  });

  it('says what caused a task and what it caused, counting the links it leaves out', () => {
    const summary = (task: number) => ({
      task,
      chain: `0.${task}`,
      beganMs: 1.5,
      began: `await a.ts:${task}:1 in f`,
    });
    const links = Array.from({ length: 16 }, (_, i) => ({ kind: 'await', other: summary(i + 1) }));
    const lines = causalLines({
      task: summary(0),
      causedBy: [],
      causedByTotal: 0,
      caused: links,
      causedTotal: 20,
      concurrent: [3, 4],
      more: true,
      concurrentNote: null,
    });
    assert.deepEqual(lines.slice(0, 4), [
      'task #0 (chain 0.0) · +1.50 ms',
      '  began: await a.ts:0:1 in f',
      'caused by: nothing recorded',
      'caused (20):',
    ]);
    assert.equal(lines[4], '  → await   #1 (chain 0.1) await a.ts:1:1 in f');
    assert.deepEqual(lines.slice(-2), ['  … 4 more', 'concurrent with: #3 #4 …']);
    assert.equal(causalLines(null)[0], 'this event belongs to no task the core knows');
  });

  it('lists time travel state latest first, deleted and uncaptured values said so', () => {
    const at = (
      objectId: number,
      value: string | null,
      deleted: boolean,
      writtenAt: number,
    ): LocationState => ({
      stream: 1,
      objectId,
      keyId: 1,
      property: '.balance',
      value,
      deleted,
      writtenAt,
      task: 2,
    });
    assert.deepEqual(
      timeTravelLines(
        { locations: [at(1, '70', false, 9), at(2, null, true, 5), at(3, null, false, 4)], written: 5 },
        9,
      ),
      [
        'as of event 9: 5 locations written',
        'obj#1.balance = 70  · event 9, task #2',
        'obj#2.balance = (deleted)  · event 5, task #2',
        'obj#3.balance = (not captured)  · event 4, task #2',
      ],
    );
    assert.deepEqual(timeTravelLines({ locations: [], written: 0 }, 0), [
      'as of event 0: 0 locations written',
      'nothing written yet',
    ]);
  });

  it('puts the findings of the selected event first, marked, and the fix only in full', () => {
    const finding = (n: number): FindingReport => ({
      class: 'write-write',
      title: 'Write-write race',
      evidence: 'concurrent',
      confidence: 'medium',
      severity: 'medium',
      location: { stream: 1, objectId: n, property: '.x', name: `object #${n} .x` },
      occurrences: 1,
      related: 0,
      accesses: [],
      story: `story ${n}`,
      recommendation: `fix ${n}`,
      lost: null,
    });
    const lines = findingLines([finding(1), finding(2)], [2], 80, false);
    assert.match(
      lines[0] ?? '',
      /^▶ 2\. Write-write race on object #2 \.x · medium severity · the two tasks were concurrent/,
    );
    assert.equal(lines[1], '   story 2');
    assert.match(lines[2] ?? '', /^1\. Write-write race on object #1 \.x/);
    assert.ok(!lines.some((line) => line.includes('fix:')));
    assert.ok(findingLines([finding(1)], [], 80, true).includes('   fix: fix 1'));
    assert.match(findingLines([], [], 80, false)[0] ?? '', /^none/);
  });
});

describe('event text', () => {
  const event = (file: string, name: string, property: string): TraceEvent => ({
    index: 4,
    stream: 1,
    seq: 4,
    kind: 8,
    kindName: 'write',
    flags: 0,
    task: 2,
    site: { id: 3, kind: 4, kindName: 'write', file, line: 1, column: 1, functionName: 'f', name },
    timeMs: null,
    invocation: null,
    access: { kind: 'write', objectId: 7, keyId: 1, property, valueTag: 1, value: '70' },
    exchange: null,
  });

  it('names an object property, or a database row as the findings do', () => {
    assert.equal(accessTarget(event('src/a.ts', 'balance', '.balance')), 'obj#7.balance');
    assert.equal(describeEvent(event('src/a.ts', 'balance', '.balance')), 'obj#7.balance ← 70');
    assert.equal(accessTarget(event(DB_SITE_FILE, 'accounts', '.42')), 'row accounts["42"]');
    assert.equal(accessTarget(event(DB_SITE_FILE, 'accounts', '[3]')), 'row accounts[3]');
  });
});
