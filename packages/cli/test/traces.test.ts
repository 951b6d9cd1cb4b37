import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ExitCode } from '../src/errors.ts';
import { causewayIn, runIn, tempDir, writeLostUpdateTrace, writeTrace } from './fixtures.ts';

describe('causeway traces', () => {
  const project = tempDir();
  const traces = join(project, '.causeway', 'traces');
  writeTrace(join(traces, 'older.cwtrace'), { startedAt: '2026-11-22T09:00:00.000Z', service: 'shop' });
  writeLostUpdateTrace(join(traces, 'newer.cwtrace'), { startedAt: '2026-11-23T09:00:00.000Z' });
  writeTrace(join(traces, 'crashed.cwtrace'), {
    traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    startedAt: '2026-11-21T09:00:00.000Z',
    unfinished: true,
  });
  writeFileSync(join(traces, 'notes.txt'), 'not a trace');

  it('lists id, service, start, duration, records and findings, newest first', async () => {
    const result = await runIn(project, ['traces']);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^trace id +service +started +duration +records +findings$/);
    assert.match(
      lines[1] as string,
      /^fedcba9876543210fedcba9876543210 +bank +2026-11-23T09:00:00\.000Z +1\.50 s +13 +1$/,
    );
    assert.match(
      lines[2] as string,
      /^0123456789abcdef0123456789abcdef +shop +2026-11-22T09:00:00\.000Z +1\.00 s +7 +0$/,
    );
    assert.match(lines[3] as string, /^a{32} +shop +2026-11-21T09:00:00\.000Z +2 ms \(unfinished\) +7 +0$/);
    assert.equal(lines.length, 4);
  });

  it('gives the same list as JSON with --json, through the real executable', () => {
    const result = causewayIn(project, ['traces', '--json']);
    assert.equal(result.status, ExitCode.Ok, result.stderr);
    const list = JSON.parse(result.stdout);
    assert.deepEqual(
      list.map((t: { traceId: string; findings: number; finished: boolean }) => [
        t.traceId.slice(0, 4),
        t.findings,
        t.finished,
      ]),
      [
        ['fedc', 1, true],
        ['0123', 0, true],
        ['aaaa', 0, false],
      ],
    );
    assert.equal(list[0].file, join(traces, 'newer.cwtrace'));
    assert.equal(list[0].durationMs, 1500);
  });

  it('skips an unusable trace file with a warning, listing the others', async () => {
    const dir = tempDir();
    writeTrace(join(dir, 'good.cwtrace'));
    const whole = readFileSync(writeLostUpdateTrace(join(dir, 'whole.cwtrace')));
    rmSync(join(dir, 'whole.cwtrace'));
    writeFileSync(join(dir, 'cut.cwtrace'), whole.subarray(0, whole.length - 100));
    const result = await runIn(dir, ['traces', '--trace-dir', dir]);
    assert.equal(result.status, ExitCode.Ok);
    assert.match(result.stderr, /^causeway: skipped .*cut\.cwtrace: .*cut off/);
    assert.equal(result.stdout.trimEnd().split('\n').length, 2);
  });

  it('says so when there are no traces, and rejects arguments', async () => {
    const empty = await runIn(tempDir(), ['traces']);
    assert.equal(empty.status, ExitCode.Ok);
    assert.match(
      empty.stdout,
      /^No traces in .*\.causeway\/traces\. Record one with 'causeway run -- node app\.js'\.\n$/,
    );
    const extra = await runIn(project, ['traces', 'somewhere']);
    assert.equal(extra.status, ExitCode.Usage);
    assert.match(
      extra.stderr,
      /^causeway: traces: unexpected argument 'somewhere'; to list another directory, use --trace-dir DIR\.\n$/,
    );
    const unknown = await runIn(project, ['traces', '--all']);
    assert.equal(unknown.status, ExitCode.Usage);
    assert.match(unknown.stderr, /Unknown option '--all'/);
  });
});
