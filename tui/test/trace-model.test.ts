import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CausewayError, EventKind } from '@causeway/core';
import { SOURCE_LINES, syntheticRecords } from '../bench/synthetic.ts';
import { detailsLines } from '../src/lines.ts';
import { FileTraceSource, openTraceFile } from '../src/source.ts';
import { project } from './fixture.ts';

const OPTIONS = { events: 60, racyEvery: 2 };

describe('TraceModel', () => {
  it('shows the events before the analysis, and the causality after it', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      assert.equal(model.events.length, p.records);
      assert.equal(model.analysis.done, false);
      assert.equal(model.causal(0), null);
      assert.equal(model.rows(true).length, 0);
      assert.match(model.eventLine(0), /^ 0 {3}#\? task-begin/);

      const seen: number[] = [];
      await model.analyze((fraction) => seen.push(fraction));
      assert.deepEqual([model.analysis.done, model.analysis.error], [true, null]);
      assert.equal(seen.at(-1), 1);
      assert.match(model.eventLine(0), /^ 0 {3}#0 task-begin/);
    } finally {
      model.dispose();
    }
  });

  it('finds the lost update of each racy request and marks its events', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      const records = syntheticRecords(OPTIONS);
      const requests = records.filter((r) => r.kind === EventKind.TaskBegin).length;
      assert.equal(model.findings.length, Math.floor(requests / 2));
      assert.ok(model.findings.every((f) => f.class === 'lost-update' && f.location.property === '.balance'));
      // Three accesses per finding: a read and two writes of .balance, each marked with its finding.
      assert.equal(model.findingEvents.length, model.findings.length * 3);
      for (const index of model.findingEvents) {
        const event = model.events.at(index);
        assert.equal(event.access?.property, '.balance');
        assert.equal(model.findingsOf(index).length, 1);
      }
      const rows = model.rows(true);
      assert.equal(rows.length, model.findingEvents.length);
      assert.equal(rows.eventAt(0), model.findingEvents[0]);
      assert.equal(rows.rowAtOrBefore(0), 0);
      assert.equal(rows.rowAtOrBefore(model.findingEvents[1] as number), 1);
      assert.equal(rows.rowAtOrBefore(p.records - 1), rows.length - 1);
    } finally {
      model.dispose();
    }
  });

  it('tells what caused an event’s task, what it caused, and what ran concurrently', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      // The last write of the first finding: the second call's continuation after its await.
      const last = model.findingEvents[2] as number;
      const causal = model.causal(last);
      assert.ok(causal);
      assert.equal(causal.task.task, model.events.taskAt(last));
      assert.match(causal.task.began, /^await src\/bank\.ts:3:3 in withdraw$/);
      assert.deepEqual(
        causal.causedBy.map((link) => link.kind),
        ['await'],
      );
      // Its await was reached by the task of its read, which is the first finding event.
      assert.equal(causal.causedBy[0]?.other.task, model.events.taskAt(model.findingEvents[0] as number));
      assert.deepEqual(causal.caused, []);
      // The other withdrawal's write ran concurrently with it.
      assert.ok(causal.concurrent.includes(model.events.taskAt(model.findingEvents[1] as number)));
      assert.ok(causal.concurrent.length <= 8);
    } finally {
      model.dispose();
    }
  });

  it('gives details: the site, its source line read from disk, the value, the task and its clock', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      const write = model.findingEvents[1] as number;
      const details = model.details(write, true);
      assert.equal(details.location, 'src/bank.ts:4:3');
      assert.equal(details.sourceLine, SOURCE_LINES[3]);
      assert.equal(details.event.access?.value, '70');
      assert.equal(details.task?.task, model.events.taskAt(write));
      assert.equal(details.clock?.length, model.stats?.chains);
      assert.ok(details.clock?.some((component) => component > 0));
      assert.deepEqual(
        model.details(write).clock,
        details.clock,
        'a short clock comes with the compact details',
      );
      assert.deepEqual(details.findings, [1]);
      // The write runs in an await continuation of withdraw: the frame it resumed.
      assert.deepEqual(details.stack?.length, 1);
      assert.match(details.stack?.[0] ?? '', /^withdraw src\/bank\.ts:\d+:\d+$/);
      assert.match(detailsLines(details, false).join('\n'), /stack: withdraw src\/bank\.ts/);
      assert.equal(model.details(0).location, null);
    } finally {
      model.dispose();
    }
  });

  it('searches by function, file, property and value, wrapping, within the rows shown', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      const all = model.rows(false);
      assert.equal(all.find('withdraw', 0, 1), 1); // fn-enter: the function's name
      assert.equal(all.find('BANK.TS', 0, 1), 1); // the file, any case
      const status = all.find('status', 0, 1);
      assert.equal(model.events.at(status).access?.property, '.status');
      const open = all.find('"open"', 0, 1);
      assert.equal(model.events.at(open).access?.value, '"open"');
      assert.equal(model.events.at(all.find('70', 0, 1)).access?.value, '70');
      assert.equal(all.find('task-begin', 1, 1), -1, 'kinds are not searched');
      assert.equal(all.find('withdraw', 0, -1), all.find('withdraw', p.records - 1, -1));
      const only = model.rows(true);
      assert.equal(only.find('50', 0, 1), 2);
    } finally {
      model.dispose();
    }
  });

  it('travels in time: the latest writes as of an event', async () => {
    using p = project(OPTIONS);
    const model = openTraceFile(p.trace);
    try {
      await model.analyze();
      const write = model.findingEvents[1] as number;
      const { locations, written } = model.stateAt(write, 3);
      assert.equal(locations[0]?.writtenAt, write);
      assert.equal(locations[0]?.value, '70');
      assert.ok(written >= 2);
      assert.ok(locations.length <= 3);
      assert.equal(model.stateAt(0, 3).written, 0);
    } finally {
      model.dispose();
    }
  });
});

describe('FileTraceSource', () => {
  it('lists the trace files of a folder, newest first, and opens them', async () => {
    using p = project(OPTIONS, 'older.cwtrace');
    const newer = join(p.traces, 'newer.cwtrace');
    writeFileSync(newer, '');
    writeFileSync(join(p.traces, 'notes.txt'), 'not a trace');
    utimesSync(p.trace, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const source = new FileTraceSource({ directory: p.traces });
    const entries = await source.list();
    assert.deepEqual(
      entries.map((e) => [e.name, e.detail.split(' · ')[0]]),
      [
        ['newer.cwtrace', 'unreadable'],
        ['older.cwtrace', 'synthetic-bank'],
      ],
    );
    const model = await source.open(entries[1] as (typeof entries)[number]);
    model.dispose();
    await assert.rejects(source.open(entries[0] as (typeof entries)[number]), CausewayError);
  });

  it('lists only the file it was given, and nothing for a missing folder', async () => {
    using p = project(OPTIONS);
    assert.deepEqual(
      (await new FileTraceSource({ file: p.trace }).list()).map((e) => e.id),
      [p.trace],
    );
    assert.deepEqual(await new FileTraceSource({ directory: join(p.root, 'nowhere') }).list(), []);
  });

  it('refuses a file that is not a trace with a CausewayError naming it', () => {
    using p = project(OPTIONS);
    const bad = join(p.root, 'bad.cwtrace');
    writeFileSync(bad, 'hello');
    assert.throws(
      () => openTraceFile(bad),
      (error: unknown) => {
        assert.ok(error instanceof CausewayError);
        assert.equal(error.code, 'CW_TRACE_NOT_A_TRACE');
        assert.match(error.message, /bad\.cwtrace/);
        return true;
      },
    );
  });
});
