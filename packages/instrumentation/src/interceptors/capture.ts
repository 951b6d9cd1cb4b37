/**
 * Captured values of exchanges (CAUSEWAY_CAPTURE): HTTP headers and bodies, query parameters and
 * result rows. Each is one `CustomEvent` record (docs/event-format.md) whose name is one of
 * CAPTURE_NAMES and whose data is a JSON object naming its exchange id, bounded to the configured
 * length: no new record kind is needed, and a reader joins a capture to its exchange by that id.
 * Values of secret-looking names (isSecretKey: authorization, cookie, set-cookie, x-api-key,
 * password columns, ...) are replaced by REDACTED before anything is bounded or recorded.
 */

import type { CaptureLevel } from '../config.ts';
import type { Recorder } from '../runtime/recorder.ts';
import { isSecretKey, REDACTED } from '../runtime/strings.ts';

export interface CaptureSettings {
  level: CaptureLevel;
  /** Longest captured value, as JSON text. */
  bytes: number;
}

export const DEFAULT_CAPTURE: CaptureSettings = { level: 'headers', bytes: 1024 };

/** The CustomEvent names of captures; `data.exchange` is the exchange id they belong to. */
export const CAPTURE_NAMES = {
  requestHeaders: 'causeway:http.request.headers',
  /** An incoming request's headers and body: `exchange` 0, `request` its task. */
  serverRequestHeaders: 'causeway:http.server.request.headers',
  serverRequestBody: 'causeway:http.server.request.body',
  responseHeaders: 'causeway:http.response.headers',
  requestBody: 'causeway:http.request.body',
  responseBody: 'causeway:http.response.body',
  queryParams: 'causeway:db.params',
  queryRows: 'causeway:db.rows',
  otelContext: 'causeway:otel.context',
} as const;

export type CaptureName = (typeof CAPTURE_NAMES)[keyof typeof CAPTURE_NAMES];

/** Records `data` (a JSON object text, already bounded) under `name` in the current task. */
export function recordCapture(recorder: Recorder, name: CaptureName, json: string, bytes: number): void {
  const dataId = recorder.strings.capture(json, bytes);
  if (dataId === 0) return;
  recorder.customEvent(recorder.strings.valueOf(name), dataId);
}

/** `"exchange":N` and, for an incoming request's captures, `,"request":task`. */
function exchangeFields(exchange: number, request: number | undefined): string {
  return `"exchange":${exchange}${request === undefined ? '' : `,"request":${request}`}`;
}

/**
 * `{"exchange":N,"headers":{...}}` from header name/value pairs, secret-looking ones redacted,
 * within `bytes` characters: headers that do not fit are left out and `"truncated":true` added.
 * `request`: the task of the incoming request they are of (with exchange 0).
 */
export function headersJson(
  exchange: number,
  pairs: Iterable<[string, unknown]>,
  bytes: number,
  request?: number,
): string {
  const head = `{${exchangeFields(exchange, request)},"headers":{`;
  const truncatedTail = '},"truncated":true}';
  let body = '';
  let truncated = false;
  for (const [name, raw] of pairs) {
    const key = name.toLowerCase();
    const value = isSecretKey(key) ? REDACTED : Array.isArray(raw) ? raw.map(String) : String(raw);
    const entry = `${body === '' ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(value)}`;
    if (head.length + body.length + entry.length + truncatedTail.length > bytes) {
      truncated = true;
      continue;
    }
    body += entry;
  }
  return head + body + (truncated ? truncatedTail : '}}');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A JSON object key in a text, `"password":`, for a body too short to parse. */
const JSON_KEY = /"((?:[^"\\]|\\.)*)"\s*:/g;

function hasSecretJsonKey(text: string): boolean {
  for (const [, key] of text.matchAll(JSON_KEY)) {
    let name = key ?? '';
    try {
      name = JSON.parse(`"${name}"`) as string;
    } catch {
      // An escape cut short: the key as it stands.
    }
    if (isSecretKey(name)) return true;
  }
  return false;
}

/** `a=1&password=x` with the values of secret-looking names replaced by REDACTED; the rest as it was. */
function redactForm(text: string): string {
  return text
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      const raw = at < 0 ? pair : pair.slice(0, at);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        // Not percent-encoded properly: the name as it stands.
      }
      return isSecretKey(name) ? `${raw}=${encodeURIComponent(REDACTED)}` : pair;
    })
    .join('&');
}

/**
 * A body's text with the values of secret-looking keys replaced by REDACTED (isSecretKey, as
 * everywhere else): in a JSON body (whatever its content type says), at any depth, and in a form
 * (`application/x-www-form-urlencoded`). Unchanged when nothing is secret, so that it stays the
 * body as sent. Null when the text must not be recorded: a JSON body cut short (it cannot be
 * parsed) that names a secret-looking key.
 */
export function redactBody(text: string, whole: boolean, contentType?: string): string | null {
  const type = contentType?.toLowerCase() ?? '';
  if (type.includes('application/x-www-form-urlencoded')) return redactForm(text);
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return text;
  if (!whole) return hasSecretJsonKey(text) ? null : text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return hasSecretJsonKey(text) ? null : text;
  }
  let redacted = false;
  const json = JSON.stringify(value, (key, inner: unknown) => {
    if (key === '' || !isSecretKey(key)) return inner;
    redacted = true;
    return REDACTED;
  });
  return redacted ? json : text;
}

/**
 * `{"exchange":N,"bytes":total,"text":"..."}` from the first bytes of a body, within `bytes`
 * characters; `"truncated":true` when the text is not the whole body. A body that is not UTF-8
 * text is recorded by its size only. Secret-looking keys' values are redacted (`redactBody`, by
 * `contentType` when given); a JSON body cut short that names one is recorded without its text.
 */
export function bodyJson(
  exchange: number,
  head: Uint8Array,
  total: number,
  bytes: number,
  request?: number,
  contentType?: string,
): string {
  const prefix = `{${exchangeFields(exchange, request)},"bytes":${total}`;
  let decoded = decodeUtf8(head);
  // A head cut from a longer body may end inside a character: drop up to 3 bytes of it.
  for (let cut = 1; decoded === null && head.length < total && cut <= 3 && cut <= head.length; cut++) {
    decoded = decodeUtf8(head.subarray(0, head.length - cut));
  }
  if (decoded === null) return `${prefix},"binary":true}`;
  const text = redactBody(decoded, head.length >= total, contentType);
  if (text === null) return `${prefix},"truncated":true}`;
  let length = text.length;
  for (;;) {
    const part = text.slice(0, length);
    const truncated = part.length < text.length || head.length < total;
    const json = `${prefix},"text":${JSON.stringify(part)}${truncated ? ',"truncated":true' : ''}}`;
    if (json.length <= bytes || length === 0) return json;
    // Escapes make JSON longer than the text: shrink by the excess, at least one character.
    length = Math.max(0, length - Math.max(1, json.length - bytes));
  }
}

/** A column or parameter value as JSON can hold it (Buffers and dates as strings). */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

/** JSON of `value`, or null when it cannot be made (cycles, throwing toJSON). */
function safeJson(value: unknown): string | null {
  try {
    const json = JSON.stringify(value, (_key, inner) => plain(inner));
    return typeof json === 'string' ? json : 'null';
  } catch {
    return null;
  }
}

/**
 * `{"exchange":N,"params":[...]}`: each parameter, or REDACTED when capture is not `on` or the
 * column it is bound to (`columns`, by 1-based position) looks secret. Parameters that do not fit
 * in `bytes` are left out, with `"truncated":true`.
 */
export function paramsJson(
  exchange: number,
  values: readonly unknown[],
  columns: ReadonlyMap<number, string>,
  level: CaptureLevel,
  bytes: number,
): string {
  const head = `{"exchange":${exchange},"params":[`;
  const truncatedTail = '],"truncated":true}';
  let body = '';
  let truncated = false;
  for (let i = 0; i < values.length; i++) {
    const column = columns.get(i + 1);
    const secret = level !== 'on' || (column !== undefined && isSecretKey(column));
    const json = secret ? JSON.stringify(REDACTED) : (safeJson(values[i]) ?? JSON.stringify(REDACTED));
    const entry = `${i === 0 ? '' : ','}${json}`;
    if (head.length + body.length + entry.length + truncatedTail.length > bytes) {
      truncated = true;
      break;
    }
    body += entry;
  }
  return head + body + (truncated ? truncatedTail : ']}');
}

/** Most result rows captured per query. */
export const MAX_CAPTURED_ROWS = 20;

/**
 * `{"exchange":N,"rows":[{...}, ...]}`: the first rows of a result (at most MAX_CAPTURED_ROWS,
 * within `bytes`), values of secret-looking columns redacted; `"truncated":true` when some were
 * left out.
 */
export function rowsJson(exchange: number, rows: readonly unknown[], bytes: number): string {
  const head = `{"exchange":${exchange},"rows":[`;
  const truncatedTail = '],"truncated":true}';
  let body = '';
  let truncated = rows.length > MAX_CAPTURED_ROWS;
  const count = Math.min(rows.length, MAX_CAPTURED_ROWS);
  for (let i = 0; i < count; i++) {
    const row = rows[i];
    let json: string | null = null;
    if (typeof row === 'object' && row !== null) {
      const redacted: Record<string, unknown> = {};
      for (const [column, value] of Object.entries(row)) {
        redacted[column] = isSecretKey(column) ? REDACTED : value;
      }
      json = safeJson(redacted);
    } else {
      json = safeJson(row);
    }
    const entry = `${i === 0 ? '' : ','}${json ?? 'null'}`;
    if (head.length + body.length + entry.length + truncatedTail.length > bytes) {
      truncated = true;
      break;
    }
    body += entry;
  }
  return head + body + (truncated ? truncatedTail : ']}');
}

/** Collects the first `limit` bytes of a body sent or received in chunks. */
export class BodyHead {
  readonly #limit: number;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  total = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: unknown): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? chunk : null;
    if (bytes === null) return;
    this.total += bytes.length;
    if (this.#kept >= this.#limit) return;
    const part = bytes.subarray(0, this.#limit - this.#kept);
    // Copied: the caller may reuse its buffer.
    this.#chunks.push(Uint8Array.from(part));
    this.#kept += part.length;
  }

  get head(): Uint8Array {
    return Buffer.concat(this.#chunks);
  }
}
