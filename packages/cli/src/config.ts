/**
 * The CLI's settings, from three places in rising precedence: a config file
 * (`causeway.config.json`, `.js` or `.ts`, the nearest one from the working directory upward),
 * `CAUSEWAY_*` environment variables, and command-line flags. Every command reads its settings
 * here, so a key means the same thing everywhere. docs/cli.md ("Configuration") lists the keys.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ACCESS_LEVELS,
  type AccessLevel,
  isAccessLevel,
  isRingRecords,
  isSamplingRate,
  RING_RECORDS_MAX,
  RING_RECORDS_MIN,
} from '@causeway/instrumentation/config';
import { ConfigError } from './errors.ts';
import { FAIL_ON_SELECTORS, isFailOnSelector } from './fail-on.ts';

export const CONFIG_FILE_NAMES = [
  'causeway.config.json',
  'causeway.config.js',
  'causeway.config.ts',
] as const;

export type { AccessLevel };

export interface CausewayConfig {
  /** Where traces are written and looked for (an absolute path once resolved). */
  traceDir: string;
  /** The service name `causeway run` records under; null: the instrumentation picks (the entry file). */
  service: string | null;
  /** A Causeway server to read traces from; null: read the trace directory. */
  server: string | null;
  /** The server's API key (sent as x-causeway-api-key); null: none. */
  apiKey: string | null;
  /** `--fail-on` selectors: finding classes, `race`, or a severity. Empty: never fail on findings. */
  failOn: string[];
  /** Which property accesses `causeway run` records: all, writes or off. */
  accesses: AccessLevel;
  /** Ring capacity in records for `causeway run`; null: the instrumentation's default. */
  ringRecords: number | null;
  /** The fraction of traces `causeway run` records, 0 to 1; null: the instrumentation's default (1). */
  samplingRate: number | null;
}

export type ConfigKey = keyof CausewayConfig;

/** Where a setting came from: a file's path, `CAUSEWAY_X`, `--flag`, or `default`. */
export type ConfigSources = Record<ConfigKey, string>;

export interface ResolvedConfig {
  config: CausewayConfig;
  /** The config file used, or null when none was found. */
  file: string | null;
  sources: ConfigSources;
}

/** Flag values as the command line gave them (strings; undefined when not given). */
export type ConfigFlags = Partial<Record<ConfigKey, string | undefined>>;

type Env = Readonly<Record<string, string | undefined>>;

interface KeySpec<K extends ConfigKey> {
  env: string;
  flag: string;
  /** What is allowed, said after "expected". */
  allowed: string;
  /** The value from a file (any JSON or JS value) or from the environment or a flag (a string). */
  parse(value: unknown, fromText: boolean): CausewayConfig[K] | undefined;
}

/** A number as given: from a file as is, from the environment or a flag as its text reads. */
function numberOf(value: unknown, fromText: boolean): unknown {
  return fromText && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

const SPECS: { [K in ConfigKey]: KeySpec<K> } = {
  traceDir: {
    env: 'CAUSEWAY_TRACE_DIR',
    flag: '--trace-dir',
    allowed: 'a directory path (a non-empty string)',
    parse: nonEmptyString,
  },
  service: {
    env: 'CAUSEWAY_SERVICE',
    flag: '--service',
    allowed: 'a service name (a non-empty string)',
    parse: nonEmptyString,
  },
  server: {
    env: 'CAUSEWAY_SERVER',
    flag: '--server',
    allowed: 'an http:// or https:// URL',
    parse(value) {
      const text = nonEmptyString(value);
      if (text === undefined || !URL.canParse(text)) return undefined;
      const { protocol } = new URL(text);
      return protocol === 'http:' || protocol === 'https:' ? text.replace(/\/+$/, '') : undefined;
    },
  },
  apiKey: {
    env: 'CAUSEWAY_API_KEY',
    flag: '--api-key',
    allowed: 'the key the server was started with (a non-empty string)',
    parse: nonEmptyString,
  },
  failOn: {
    env: 'CAUSEWAY_FAIL_ON',
    flag: '--fail-on',
    allowed: `a list of ${FAIL_ON_SELECTORS.join(', ')} (an array, or a comma-separated string)`,
    parse(value) {
      const list =
        typeof value === 'string'
          ? value.split(',').map((item) => item.trim())
          : Array.isArray(value)
            ? value
            : undefined;
      if (list === undefined) return undefined;
      const items = list.filter((item) => item !== '');
      return items.every((item) => typeof item === 'string' && isFailOnSelector(item))
        ? (items as string[])
        : undefined;
    },
  },
  accesses: {
    env: 'CAUSEWAY_ACCESSES',
    flag: '--accesses',
    allowed: `${ACCESS_LEVELS.slice(0, -1).join(', ')} or ${ACCESS_LEVELS.at(-1)}`,
    parse: (value) => (isAccessLevel(value) ? value : undefined),
  },
  ringRecords: {
    env: 'CAUSEWAY_RING_RECORDS',
    flag: '--ring-records',
    allowed: `a power of two between ${RING_RECORDS_MIN} and ${RING_RECORDS_MAX}`,
    parse: (value, fromText) => {
      const n = numberOf(value, fromText);
      return isRingRecords(n) ? n : undefined;
    },
  },
  samplingRate: {
    env: 'CAUSEWAY_SAMPLING_RATE',
    flag: '--sampling-rate',
    allowed: 'a number from 0 to 1',
    parse: (value, fromText) => {
      const n = numberOf(value, fromText);
      return isSamplingRate(n) ? n : undefined;
    },
  },
};

export const CONFIG_KEYS = Object.keys(SPECS) as ConfigKey[];

/** The environment variable and flag of a key, for help texts and docs. */
export function configKeyNames(key: ConfigKey): { env: string; flag: string; allowed: string } {
  const { env, flag, allowed } = SPECS[key];
  return { env, flag, allowed };
}

function defaults(cwd: string): CausewayConfig {
  return {
    traceDir: join(cwd, '.causeway', 'traces'),
    service: null,
    server: null,
    apiKey: null,
    failOn: [],
    accesses: 'all',
    ringRecords: null,
    samplingRate: null,
  };
}

/** The nearest config file from `cwd` upward, or null. Two in one directory is an error. */
export function findConfigFile(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    const found = CONFIG_FILE_NAMES.map((name) => join(dir, name)).filter((path) => existsSync(path));
    if (found.length > 1) {
      throw new ConfigError(
        `${dir}: more than one config file (${found.map((path) => path.slice(dir.length + 1)).join(', ')}); keep one`,
      );
    }
    if (found[0] !== undefined) return found[0];
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  if (path.endsWith('.json')) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`${path}: cannot read the config file (${(error as Error).message})`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
    }
  } else {
    try {
      const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
      value = module.default;
    } catch (error) {
      throw new ConfigError(`${path}: cannot load the config module (${(error as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `${path}: expected ${path.endsWith('.json') ? 'a JSON object' : 'a default export of an object'} of settings, got ${show(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

function reject(where: string, key: ConfigKey, value: unknown): never {
  throw new ConfigError(`${where}: ${key} is ${show(value)}; expected ${SPECS[key].allowed}`);
}

function assign<K extends ConfigKey>(
  config: CausewayConfig,
  sources: ConfigSources,
  key: K,
  value: unknown,
  fromText: boolean,
  where: string,
  base: string,
): void {
  const parsed = SPECS[key].parse(value, fromText);
  if (parsed === undefined) reject(where, key, value);
  config[key] = (
    key === 'traceDir' && typeof parsed === 'string' && !isAbsolute(parsed) ? resolve(base, parsed) : parsed
  ) as CausewayConfig[K];
  sources[key] = where;
}

/**
 * The settings for a command run in `cwd`: defaults, then the config file, then the environment,
 * then `flags`. A relative traceDir is relative to the config file's directory when it comes from
 * the file, and to `cwd` otherwise.
 */
export async function loadConfig(
  options: { cwd?: string; env?: Env; flags?: ConfigFlags } = {},
): Promise<ResolvedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const config = defaults(cwd);
  const sources = Object.fromEntries(CONFIG_KEYS.map((key) => [key, 'default'])) as ConfigSources;

  const file = findConfigFile(cwd);
  if (file !== null) {
    const settings = await readConfigFile(file);
    for (const [key, value] of Object.entries(settings)) {
      if (key === '$schema') continue;
      if (!Object.hasOwn(SPECS, key)) {
        throw new ConfigError(`${file}: unknown key '${key}'; the keys are ${CONFIG_KEYS.join(', ')}`);
      }
      if (
        value === null &&
        (key === 'service' ||
          key === 'server' ||
          key === 'apiKey' ||
          key === 'ringRecords' ||
          key === 'samplingRate')
      )
        continue;
      assign(config, sources, key as ConfigKey, value, false, file, dirname(file));
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = env[SPECS[key].env];
    if (value !== undefined && value !== '') assign(config, sources, key, value, true, SPECS[key].env, cwd);
  }
  for (const key of CONFIG_KEYS) {
    const value = options.flags?.[key];
    if (value !== undefined) assign(config, sources, key, value, true, SPECS[key].flag, cwd);
  }
  return { config, file, sources };
}

/** The CAUSEWAY_* variables that hand these settings to a recorded program (`causeway run`). */
export function runtimeEnvironment(config: CausewayConfig): Record<string, string> {
  const env: Record<string, string> = {
    CAUSEWAY_TRACE_DIR: config.traceDir,
    CAUSEWAY_ACCESSES: config.accesses,
  };
  if (config.service !== null) env.CAUSEWAY_SERVICE = config.service;
  if (config.ringRecords !== null) env.CAUSEWAY_RING_RECORDS = String(config.ringRecords);
  if (config.samplingRate !== null) env.CAUSEWAY_SAMPLING_RATE = String(config.samplingRate);
  // A runtime that can send batches to a server (docs/wire-format.md) reads the same two variables.
  if (config.server !== null) env.CAUSEWAY_SERVER = config.server;
  if (config.apiKey !== null) env.CAUSEWAY_API_KEY = config.apiKey;
  return env;
}
