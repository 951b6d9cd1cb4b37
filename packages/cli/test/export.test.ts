import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPORT_VERSION } from '@causeway/core';
import { ExitCode } from '../src/errors.ts';
import type { OtlpTraces } from '../src/export/otlp.ts';
import { causewayIn, runIn, tempDir, writeLostUpdateTrace } from './fixtures.ts';

// The lost-update trace: tasks #0..#4; edges #0 -> #1, #0 -> #2, #1 -> #3, #2 -> #4 (await);
// the finding: #2 read, #3 wrote, #4 wrote .balance.
const project = tempDir();
writeLostUpdateTrace(join(project, '.causeway', 'traces', 'bank.cwtrace'));

async function exported(format: string): Promise<string> {
  const result = await runIn(project, ['export', '--trace-id', 'bank', '--format', format]);
  assert.equal(result.status, ExitCode.Ok, result.stderr);
  return result.stdout;
}

async function report() {
  return JSON.parse((await runIn(project, ['analyze', '--trace-id', 'bank', '--json'])).stdout) as {
    tasks: unknown[];
    edges: { from: number; to: number; kind: string }[];
  };
}

describe('causeway export', () => {
  it('json: the full report plus every event', async () => {
    const doc = JSON.parse(await exported('json'));
    assert.equal(doc.reportVersion, REPORT_VERSION);
    assert.equal(doc.findings[0].class, 'lost-update');
    assert.equal(doc.events.length, doc.stats.records);
    const write = doc.events.find((event: { kindName: string }) => event.kindName === 'write');
    assert.deepEqual(
      [write.task, write.access.property, write.access.value, write.site.line],
      [3, '.balance', '70', 6],
    );
  });

  it('dot: a digraph with a node per task, an edge per happens-before edge, races in red', async () => {
    const dot = await exported('dot');
    const { tasks, edges } = await report();
    const lines = dot.trimEnd().split('\n');
    assert.equal(lines[0], 'digraph causeway {');
    assert.equal(lines.at(-1), '}');
    const nodes = lines.filter((line) => /^ {2}t\d+ \[label=/.test(line));
    assert.equal(nodes.length, tasks.length);
    const declared = new Set(nodes.map((line) => line.trim().split(' ')[0]));
    const arrows = lines
      .map((line) => /^ {2}(t\d+) -> (t\d+) \[(.*)\];$/.exec(line))
      .filter((match) => match !== null);
    for (const [, from, to] of arrows) assert.ok(declared.has(from as string) && declared.has(to as string));
    const causal = arrows.filter((match) => !(match[3] as string).includes('dir=none'));
    assert.deepEqual(
      causal.map(([, from, to, attrs]) => `${from}->${to} ${/label="(\w+)"/.exec(attrs as string)?.[1]}`),
      edges.map((edge) => `t${edge.from}->t${edge.to} ${edge.kind}`),
    );
    const races = arrows.filter((match) => (match[3] as string).includes('dir=none'));
    assert.deepEqual(
      races.map(([, from, to]) => `${from}-${to}`),
      ['t2-t3', 't3-t4'],
    );
    assert.match(races[0]?.[3] as string, /label="race 1: lost update \.balance".*color="#d62728"/);
    assert.match(
      dot,
      /^ {2}t2 \[label="#2 await in withdraw\\nsrc\/bank\.ts:4:9\\n\+2\.00 ms", color="#d62728"/m,
    );
    assert.doesNotMatch(dot, /^ {2}t1 \[.*color=/m, 'a task outside the race is not marked');
  });

  it('mermaid: a flowchart with the same nodes and edges, race links styled', async () => {
    const mermaid = await exported('mermaid');
    const { tasks, edges } = await report();
    const lines = mermaid.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 1), ['---']);
    assert.match(lines[1] as string, /^title: "trace fedcba98.* · service bank · 1 findings"$/);
    assert.deepEqual(lines.slice(2, 4), ['---', 'flowchart TD']);
    const nodes = lines.filter((line) => /^ {2}t\d+\["[^"]*"\]$/.test(line));
    assert.equal(nodes.length, tasks.length);
    const links = lines
      .map((line) => /^ {2}(t\d+) (-->|-\.->|---)\|"([^"]*)"\| (t\d+)$/.exec(line))
      .filter((match) => match !== null);
    assert.deepEqual(
      links.slice(0, edges.length).map(([, from, arrow, label, to]) => `${from}${arrow}${to} ${label}`),
      edges.map((edge) => `t${edge.from}${edge.kind === 'resolve' ? '-.->' : '-->'}t${edge.to} ${edge.kind}`),
    );
    const raceLinks = links.slice(edges.length);
    assert.deepEqual(
      raceLinks.map(([, from, arrow, , to]) => `${from}${arrow}${to}`),
      ['t2---t3', 't3---t4'],
    );
    // '#' is written as an entity code, so Mermaid does not read it as one.
    assert.ok(lines.includes('  t2["#35;2 await in withdraw<br/>src/bank.ts:4:9<br/>+2.00 ms"]'));
    assert.ok(lines.includes('  class t2,t3,t4 race'));
    assert.ok(
      lines.includes(`  linkStyle ${edges.length},${edges.length + 1} stroke:#d62728,stroke-width:2px`),
    );
  });

  it('otlp: OTLP/JSON spans per task, parent and links from the edges, races as events', async () => {
    const otlp = JSON.parse(await exported('otlp')) as OtlpTraces;
    const { tasks, edges } = await report();
    const [resourceSpans] = otlp.resourceSpans;
    assert.ok(resourceSpans);
    assert.deepEqual(resourceSpans.resource.attributes[0], {
      key: 'service.name',
      value: { stringValue: 'bank' },
    });
    const spans = resourceSpans.scopeSpans[0]?.spans ?? [];
    assert.equal(spans.length, tasks.length);
    for (const span of spans) {
      assert.match(span.traceId, /^fedcba9876543210fedcba9876543210$/);
      assert.match(span.spanId, /^[0-9a-f]{16}$/);
      assert.notEqual(span.spanId, '0000000000000000');
      assert.match(span.startTimeUnixNano, /^\d+$/);
      assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano));
      assert.equal(span.kind, 1);
    }
    const ids = spans.map((span) => span.spanId);
    assert.equal(new Set(ids).size, ids.length);
    // Task #3 continues an await reached by task #1: its parent, and a link of kind await.
    const t3 = spans[3];
    assert.equal(t3?.parentSpanId, ids[1]);
    assert.deepEqual(t3?.links, [
      {
        traceId: t3?.traceId,
        spanId: ids[1],
        attributes: [{ key: 'causeway.edge.kind', value: { stringValue: 'await' } }],
      },
    ]);
    assert.equal(
      spans.reduce((n, span) => n + span.links.length, 0),
      edges.length,
    );
    assert.equal(spans[0]?.parentSpanId, undefined);
    // Tasks 1 ms apart in the trace are 1 ms apart in nanoseconds.
    assert.equal(
      BigInt(spans[3]?.startTimeUnixNano ?? 0) - BigInt(spans[2]?.startTimeUnixNano ?? 0),
      1_000_000n,
    );
    const race = spans[2]?.events[0];
    assert.equal(race?.name, 'causeway.race: Lost update');
    const attrs = Object.fromEntries(
      (race?.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]]),
    );
    assert.equal(attrs['causeway.finding.class'], 'lost-update');
    assert.equal(attrs['causeway.access.role'], 'first');
    assert.equal(attrs['causeway.access.value'], '100');
    assert.equal(attrs['code.location'], 'src/bank.ts:5:20');
    assert.equal(spans[1]?.events.length, 0);
  });

  it('writes to --out and says where, through the real executable', () => {
    const out = join(tempDir(), 'graph.dot');
    const result = causewayIn(project, ['export', '--trace-id', 'bank', '--format', 'dot', '--out', out]);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    assert.match(
      result.stdout,
      /^causeway: wrote dot of trace .*bank\.cwtrace to .*graph\.dot \(\d+ bytes\)\n$/,
    );
    assert.match(readFileSync(out, 'utf8'), /^digraph causeway \{/);
  });

  it('rejects --format test without --app, unknown formats and unwritable --out', async () => {
    const test = await runIn(project, ['export', '--trace-id', 'bank', '--format', 'test']);
    assert.equal(test.status, ExitCode.Usage);
    assert.match(
      test.stderr,
      /^causeway: export: --format test needs --app MODULE, the module exporting the app's replayTarget/,
    );
    assert.equal(test.stdout, '');
    const unknown = await runIn(project, ['export', '--trace-id', 'bank', '--format', 'svg']);
    assert.equal(unknown.status, ExitCode.Usage);
    assert.match(unknown.stderr, /unknown --format 'svg'; the formats are json, dot, mermaid, otlp, test/);
    const missing = await runIn(project, ['export', '--format', 'dot']);
    assert.equal(missing.status, ExitCode.Usage);
    assert.match(missing.stderr, /export: missing <trace-file> or --trace-id/);
    const unwritable = await runIn(project, [
      'export',
      '--trace-id',
      'bank',
      '--out',
      join(project, 'no', 'such', 'dir', 'x.json'),
    ]);
    assert.equal(unwritable.status, ExitCode.BadInput);
    assert.match(unwritable.stderr, /x\.json: cannot write the export \(ENOENT\)/);
  });
});
