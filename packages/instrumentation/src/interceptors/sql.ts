/**
 * Just enough SQL to name the rows a statement touches. A statement counts only when its shape
 * makes the row unambiguous: one table, and a WHERE clause that is a single equality on one column
 * (`WHERE id = $1`, `WHERE id = 42`, `WHERE code = 'x'`). Anything else (joins, ranges, IN lists,
 * subqueries, INSERT) touches no recorded row: missing a race is better than inventing one.
 */

/** A transaction-control statement. */
export type Control = 'begin' | 'commit' | 'rollback';

export interface RowAccess {
  kind: 'read' | 'write' | 'delete';
  /** The table as written, without quotes (`accounts`, `billing.accounts`). */
  table: string;
  /** The column of the WHERE equality. */
  column: string;
  /** The key: a 1-based parameter number, or a literal. */
  key: { param: number } | { literal: string | number };
  /** SELECT ... FOR UPDATE / FOR NO KEY UPDATE: the row stays locked until the transaction ends. */
  locks: boolean;
  /** UPDATE whose SET reads the column it assigns (`balance = balance - $1`): atomic in the database. */
  selfUpdate: boolean;
  /** UPDATE of a single column set from a parameter: its column and parameter number. */
  assigned: { column: string; param: number } | null;
}

export interface StatementShape {
  control: Control | null;
  access: RowAccess | null;
}

const IDENT = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\.${IDENT})?`;
const ALIAS = String.raw`(?:\s+(?:AS\s+)?(?!WHERE\b|SET\b)[A-Za-z_][\w$]*)?`;
const KEY = String.raw`(?:\$(\d+)|(-?\d+)|'((?:[^']|'')*)')`;
const WHERE = String.raw`\s+WHERE\s+(${QUALIFIED})\s*=\s*${KEY}`;
const TAIL = String.raw`(?:\s+LIMIT\s+1)?(\s+FOR\s+(?:NO\s+KEY\s+)?UPDATE)?(?:\s+RETURNING\s+[\s\S]*?)?\s*;?\s*$`;

const SELECT = new RegExp(
  String.raw`^\s*SELECT\s+[\s\S]+?\s+FROM\s+(${QUALIFIED})${ALIAS}${WHERE}${TAIL}`,
  'i',
);
const UPDATE = new RegExp(
  String.raw`^\s*UPDATE\s+(${QUALIFIED})${ALIAS}\s+SET\s+([\s\S]+?)${WHERE}${TAIL}`,
  'i',
);
const DELETE = new RegExp(String.raw`^\s*DELETE\s+FROM\s+(${QUALIFIED})${ALIAS}${WHERE}${TAIL}`, 'i');

const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION)\b/i;
const COMMIT = /^\s*(?:COMMIT|END)\b/i;
/** ROLLBACK, but not ROLLBACK TO SAVEPOINT, which keeps the transaction open. */
const ROLLBACK = /^\s*(?:ROLLBACK|ABORT)\b(?!\s+TO\b)/i;

function unquote(name: string): string {
  return name.replace(/"/g, '');
}

/** The last part of a qualified column (`a.id` -> `id`). */
function columnName(name: string): string {
  const parts = unquote(name).split('.');
  return parts[parts.length - 1] as string;
}

function keyOf(
  param: string | undefined,
  number: string | undefined,
  text: string | undefined,
): RowAccess['key'] {
  if (param !== undefined) return { param: Number(param) };
  if (number !== undefined) return { literal: Number(number) };
  return { literal: (text ?? '').replace(/''/g, "'") };
}

/** The SET list's assignments, split at top-level commas. */
function assignments(set: string): [column: string, value: string][] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < set.length; i++) {
    const c = set[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(set.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(set.slice(start));
  return parts.map((part) => {
    const eq = part.indexOf('=');
    return [columnName(part.slice(0, eq).trim()), part.slice(eq + 1).trim()];
  });
}

export function parseStatement(text: string): StatementShape {
  if (BEGIN.test(text)) return { control: 'begin', access: null };
  if (COMMIT.test(text)) return { control: 'commit', access: null };
  if (ROLLBACK.test(text)) return { control: 'rollback', access: null };
  let m = SELECT.exec(text);
  if (m !== null) {
    const [, table, column, param, number, literal, locks] = m;
    return {
      control: null,
      access: {
        kind: 'read',
        table: unquote(table as string),
        column: columnName(column as string),
        key: keyOf(param, number, literal),
        locks: locks !== undefined,
        selfUpdate: false,
        assigned: null,
      },
    };
  }
  m = UPDATE.exec(text);
  if (m !== null) {
    const [, table, set, column, param, number, literal] = m;
    const assigned = assignments(set as string);
    const selfUpdate = assigned.some(([name, value]) =>
      new RegExp(`(^|[^\\w$."])"?${name}"?($|[^\\w$"])`).test(value),
    );
    const single = assigned.length === 1 ? /^\$(\d+)$/.exec(assigned[0]?.[1] ?? '') : null;
    return {
      control: null,
      access: {
        kind: 'write',
        table: unquote(table as string),
        column: columnName(column as string),
        key: keyOf(param, number, literal),
        locks: false,
        selfUpdate,
        assigned: single === null ? null : { column: assigned[0]?.[0] as string, param: Number(single[1]) },
      },
    };
  }
  m = DELETE.exec(text);
  if (m !== null) {
    const [, table, column, param, number, literal] = m;
    return {
      control: null,
      access: {
        kind: 'delete',
        table: unquote(table as string),
        column: columnName(column as string),
        key: keyOf(param, number, literal),
        locks: false,
        selfUpdate: false,
        assigned: null,
      },
    };
  }
  return { control: null, access: null };
}

/** The statement as recorded: string literals blanked (they may hold secrets), bounded. */
export function redactStatement(text: string, maxLength: number): string {
  const redacted = text
    .replace(/'(?:[^']|'')*'/g, "'?'")
    .replace(/\s+/g, ' ')
    .trim();
  return redacted.length <= maxLength ? redacted : `${redacted.slice(0, maxLength - 1)}…`;
}

const COMPARED_PARAM = new RegExp(
  String.raw`(${QUALIFIED})\s*(?:=|<>|!=|<=|>=|<|>|\bI?LIKE\b)\s*\$(\d+)\b|\$(\d+)\s*=\s*(${QUALIFIED})`,
  'gi',
);
const INSERT = new RegExp(
  String.raw`^\s*INSERT\s+INTO\s+${QUALIFIED}${ALIAS}\s*\(([^)]*)\)\s*VALUES\s*([\s\S]*)$`,
  'i',
);

/**
 * Which column each parameter is bound to, where the statement says so: compared with a column
 * (`col = $1`, `$2 = col`, `col LIKE $3`, which also covers SET's `col = $4`), or in an INSERT's
 * VALUES tuples by position. Used to redact parameters bound to secret-looking columns.
 */
export function parameterColumns(text: string): Map<number, string> {
  // Literals may contain anything, `$1` included.
  const code = text.replace(/'(?:[^']|'')*'/g, "''");
  const columns = new Map<number, string>();
  for (const m of code.matchAll(COMPARED_PARAM)) {
    if (m[1] !== undefined) columns.set(Number(m[2]), columnName(m[1]));
    else columns.set(Number(m[3]), columnName(m[4] as string));
  }
  const insert = INSERT.exec(code);
  if (insert !== null) {
    const names = (insert[1] as string).split(',').map((name) => columnName(name.trim()));
    for (const tuple of (insert[2] as string).matchAll(/\(([^()]*)\)/g)) {
      (tuple[1] as string).split(',').forEach((value, i) => {
        const param = /^\s*\$(\d+)\s*$/.exec(value);
        const name = names[i];
        if (param !== null && name !== undefined) columns.set(Number(param[1]), name);
      });
    }
  }
  return columns;
}
