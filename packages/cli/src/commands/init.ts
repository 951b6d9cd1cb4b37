/**
 * `causeway init`: sets a project up for Causeway: a causeway.config.json and npm scripts in its
 * package.json. Idempotent, and it never replaces what is there: an existing config file or
 * script of the same name is kept and reported.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandArgs } from '../args.ts';
import { CONFIG_FILE_NAMES } from '../config.ts';
import { CliErrorCode, ExitCode, InputError, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

export const INIT_HELP = `Usage: causeway init [--dir DIR]

Sets up the project in DIR (default: the working directory) for Causeway:
  - writes causeway.config.json (the trace directory, which accesses to record), unless a
    causeway.config.json, .js or .ts is already there;
  - adds npm scripts to its package.json:
      causeway:run      record a run of the package's main: causeway run -- node . (edit it to
                        start your service another way)
      causeway:traces   list the recorded traces
      causeway:analyze  report the findings of the latest trace
      causeway:check    the same, exiting with 1 on a high-severity finding (for CI)
    A script that already exists is kept as it is.
Running it again changes nothing and says so.

Options:
  --dir DIR   the project's directory (where its package.json is)
  -h, --help  show this help

Examples:
  causeway init
  causeway init --dir services/billing && npm run --prefix services/billing causeway:run
`;

/** What `init` writes into a new config file: the defaults, spelled out so they can be edited. */
export const INITIAL_CONFIG = {
  traceDir: '.causeway/traces',
  accesses: 'all',
} as const;

// `node .` runs the package's main; not `npm start`, since npm itself would then be recorded too.
const SCRIPTS: Readonly<Record<string, string>> = {
  'causeway:run': 'causeway run -- node .',
  'causeway:traces': 'causeway traces',
  'causeway:analyze': 'causeway analyze --trace-id latest',
  'causeway:check': 'causeway analyze --trace-id latest --fail-on high',
};

/** The indentation package.json uses, so that adding scripts keeps its style. */
function indentOf(text: string): string | number {
  const match = /^\{\r?\n([ \t]+)"/.exec(text);
  return match?.[1] ?? 2;
}

export function init(args: string[], io: Io): number {
  const { values, positionals } = parseCommandArgs('init', args, {
    dir: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(INIT_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `init: unexpected argument '${positionals[0]}'; to set up another directory, use --dir DIR.`,
    );
  }
  const dir = resolve(values.dir ?? '.');
  const packagePath = join(dir, 'package.json');
  let packageText: string;
  try {
    packageText = readFileSync(packagePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      CliErrorCode.FILE,
      code === 'ENOENT'
        ? `${packagePath}: no package.json here; run 'npm init' first, or point --dir at the project`
        : `${packagePath}: cannot read it (${code ?? (error as Error).message})`,
    );
  }
  let pkg: { scripts?: Record<string, unknown> };
  try {
    pkg = JSON.parse(packageText);
  } catch (error) {
    throw new InputError(
      CliErrorCode.FILE,
      `${packagePath}: not valid JSON (${(error as Error).message}); fix it first`,
    );
  }
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) {
    throw new InputError(CliErrorCode.FILE, `${packagePath}: not a JSON object; fix it first`);
  }
  if (
    pkg.scripts !== undefined &&
    (typeof pkg.scripts !== 'object' || pkg.scripts === null || Array.isArray(pkg.scripts))
  ) {
    throw new InputError(CliErrorCode.FILE, `${packagePath}: "scripts" is not an object; fix it first`);
  }

  const changes: string[] = [];
  const kept: string[] = [];

  const existingConfig = CONFIG_FILE_NAMES.find((name) => existsSync(join(dir, name)));
  if (existingConfig === undefined) {
    const configPath = join(dir, 'causeway.config.json');
    writeFileSync(configPath, `${JSON.stringify(INITIAL_CONFIG, null, 2)}\n`);
    changes.push(`wrote ${configPath}`);
  } else {
    kept.push(`${existingConfig} (exists)`);
  }

  const scripts: Record<string, unknown> = { ...(pkg.scripts ?? {}) };
  const added: string[] = [];
  for (const [name, command] of Object.entries(SCRIPTS)) {
    if (Object.hasOwn(scripts, name)) {
      if (scripts[name] !== command) kept.push(`script ${name} (exists: ${JSON.stringify(scripts[name])})`);
      continue;
    }
    scripts[name] = command;
    added.push(name);
  }
  if (added.length > 0) {
    const updated = { ...pkg, scripts };
    const newline = packageText.endsWith('\n') ? '\n' : '';
    writeFileSync(packagePath, `${JSON.stringify(updated, null, indentOf(packageText))}${newline}`);
    changes.push(`added npm scripts to ${packagePath}: ${added.join(', ')}`);
  }

  if (changes.length === 0) {
    io.out(
      `causeway init: nothing to do in ${dir}: the config file and the npm scripts are already there.\n`,
    );
  } else {
    io.out(changes.map((line) => `causeway init: ${line}\n`).join(''));
    io.out(`Next: npm run causeway:run, then npm run causeway:analyze\n`);
  }
  if (kept.length > 0) io.out(`kept as they are: ${kept.join('; ')}\n`);
  return ExitCode.Ok;
}
