// The quick-imports hook: Ink loads without es-toolkit's 400-module index, and still works.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const TUI = fileURLToPath(new URL('..', import.meta.url));

/** Imports Ink in a fresh Node (the hook is per process) and says how many es-toolkit files it loaded. */
function esToolkitFilesLoaded(plain: boolean): { files: number } {
  const script = `
    import { registerHooks } from 'node:module';
    const { registerQuickImports } = await import('@causeway/tui/quick-imports');
    registerQuickImports();
    let files = 0;
    registerHooks({ load(url, context, next) { if (url.includes('/es-toolkit/')) files++; return next(url, context); } });
    const ink = await import('ink');
    if (typeof ink.render !== 'function') throw new Error('Ink did not load');
    console.log(JSON.stringify({ files }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: TUI,
    encoding: 'utf8',
    env: { ...process.env, CAUSEWAY_TUI_PLAIN_IMPORTS: plain ? '1' : '0' },
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { files: number };
}

describe('quick imports', () => {
  it('hands Ink es-toolkit’s throttle alone instead of its whole compat index', () => {
    const quick = esToolkitFilesLoaded(false);
    const plain = esToolkitFilesLoaded(true);
    assert.ok(quick.files < 10, `es-toolkit files loaded with the hook: ${quick.files}`);
    assert.ok(plain.files > 100, `es-toolkit files loaded without it: ${plain.files}`);
  });
});
