#!/usr/bin/env node
// Plain JavaScript so that it runs on any Node and can say clearly when that Node is too old;
// the CLI itself is TypeScript, run through Node's type stripping.

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `causeway: Node.js ${process.versions.node} is too old; Causeway needs Node.js 22.18 or later (24 recommended).\n`,
  );
  process.exit(2);
}

const { run } = await import('../src/main.ts');
process.exitCode = await run(process.argv.slice(2));
