import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../src/errors.ts';
import { runIn, tempDir } from './fixtures.ts';

const COMMANDS = ['init', 'instrument', 'run', 'serve', 'tui', 'traces', 'analyze', 'export'];
const dir = tempDir();

describe('--help', () => {
  it('causeway --help lists every command', async () => {
    const result = await runIn(dir, ['--help']);
    assert.equal(result.status, ExitCode.Ok);
    for (const command of COMMANDS)
      assert.match(result.stdout, new RegExp(`^ {2}${command}\\b.* {2}\\w`, 'm'), command);
    assert.match(
      result.stdout,
      /Exit codes: 0 done, 1 a finding matched --fail-on, 2 usage, config or input error\./,
    );
  });

  for (const command of COMMANDS) {
    it(`causeway ${command} --help shows its usage and examples`, async () => {
      const result = await runIn(dir, [command, '--help']);
      assert.equal(result.status, ExitCode.Ok);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, new RegExp(`^Usage: causeway ${command}\\b`));
      assert.match(result.stdout, new RegExp(`\\nExamples:\\n {2}causeway ${command}\\b`));
    });
  }
});
