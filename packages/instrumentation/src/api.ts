/**
 * The manual API (docs/instrumentation.md, "Manual API"): what application code may call
 * itself. Every function is a safe no-op when Causeway is not recording (the application runs
 * without `--import @causeway/instrumentation/register`, or with CAUSEWAY_ENABLED=0, or after
 * `configure({ enabled: false })`), and none ever throws into the application because of
 * Causeway: `trace` and `continueTrace` return what `fn` returns and rethrow what it throws.
 *
 * This module does not start a recording by being imported: it finds the session `register`
 * published (a global symbol, so that copies of this package loaded from different paths agree).
 */

import { randomBytes } from 'node:crypto';
import { EventKind } from '@causeway/core/event-format';
import { type AccessLevel, isSamplingRate } from './config.ts';
import { InstrumentationErrorCode, warn } from './errors.ts';
import {
  CAUSEWAY_TRACE,
  causewayTraceHeader,
  readPropagation,
  readTraceparent,
  TRACEPARENT,
  traceparentHeader,
  unsampledTraceparent,
} from './interceptors/propagation.ts';
import { newSpanId, type TraceSampling } from './runtime/sampling.ts';
import type { Session } from './runtime/session.ts';
import { isSecretKey, MAX_STRING_VALUE_LENGTH, REDACTED } from './runtime/strings.ts';

/** Where `register` publishes the session of a recording process. */
export const SESSION_KEY = Symbol.for('causeway.session');

/** Settings `configure` changes (see docs/instrumentation.md, "Manual API"). */
export interface ManualSettings {
  enabled: boolean;
}

/** What register publishes: the session, and the settings the manual API may change. */
export interface PublishedSession {
  session: Session;
  settings: ManualSettings;
}

function published(): PublishedSession | null {
  const value = (globalThis as Record<symbol, unknown>)[SESSION_KEY] as PublishedSession | undefined;
  return value?.settings.enabled ? value : null;
}

/** Publishes `session` for the manual API (register calls it). */
export function publishSession(session: Session): PublishedSession {
  const value: PublishedSession = { session, settings: { enabled: true } };
  Object.defineProperty(globalThis, SESSION_KEY, { value, configurable: true });
  return value;
}

function report(message: string): void {
  warn(InstrumentationErrorCode.PROBE_INPUT, message);
}

/**
 * Runs `fn` between `begin` and `end` of the recorder, returning and throwing what it does; in
 * `entry` (a trace's sampling decision) when it enters a trace. Nothing is recorded in an
 * unsampled trace.
 */
function spanAround<T>(
  name: string,
  fn: () => T,
  received: TraceContext | null,
  entry: TraceSampling | null,
): T {
  const current = published();
  if (current === null) return fn();
  const recorder = current.session.recorder;
  if (entry !== null) {
    try {
      return recorder.sampler.run(entry, () => spanAround(name, fn, received, null));
    } finally {
      // Back in the caller's trace, which may be sampled differently.
      recorder.resample();
    }
  }
  if (recorder.unsampledNow()) return recorder.muteDuring(fn);
  let span = 0;
  try {
    span = recorder.beginSpan(recorder.strings.valueOf(name.slice(0, MAX_STRING_VALUE_LENGTH)));
    if (received !== null) {
      recorder.exchangeStep(
        EventKind.MessageReceived,
        0,
        recorder.strings.valueOf(received.traceId),
        received.exchange,
        received.stream,
        false,
      );
    }
  } catch (error) {
    report(`causeway.trace could not record its span (${(error as Error).message}); running it unrecorded`);
  }
  try {
    return fn();
  } finally {
    if (span !== 0) {
      try {
        recorder.endSpan(span);
      } catch {
        // Recording the end failed: the caller's later records stay in the span's task.
      }
    }
  }
}

/**
 * Runs `fn` as a named span of work: its synchronous part runs in a task of its own, caused by
 * the caller's, so the tasks it leads to are the span's causal tree. Returns what `fn` returns
 * (a promise stays the same promise) and rethrows what it throws.
 */
export function trace<T>(name: string, fn: () => T): T {
  if (typeof fn !== 'function') {
    report('causeway.trace(name, fn) was given no function; nothing was run');
    return undefined as T;
  }
  const current = published();
  // At the process's own level (no request or span around it), a span starts a trace of its own.
  const sampler = current?.session.recorder.sampler;
  const entry = sampler?.active && sampler.atProcessLevel() ? sampler.decide(null) : null;
  return spanAround(typeof name === 'string' ? name : String(name), fn, null, entry);
}

/** `data` as bounded JSON with secret-looking keys' values redacted, or null if it cannot be. */
function eventData(data: unknown): string | null {
  if (data === undefined) return null;
  try {
    const json = JSON.stringify(data, (key, value) => (key !== '' && isSecretKey(key) ? REDACTED : value));
    return typeof json === 'string' && json.length <= MAX_STRING_VALUE_LENGTH ? json : null;
  } catch {
    return null; // cycles, BigInt, a throwing getter or toJSON
  }
}

/**
 * Records a custom event named `name` in the current task, with `data` as JSON: values of
 * secret-looking keys are redacted, and data longer than 256 characters once serialized (or
 * that cannot be serialized) is left out. Returns nothing.
 */
export function event(name: string, data?: unknown): void {
  const current = published();
  if (current === null) return;
  try {
    // An unsampled trace records nothing, its strings included.
    if (current.session.recorder.unsampledNow()) return;
    const strings = current.session.recorder.strings;
    const nameId = strings.valueOf(String(name).slice(0, MAX_STRING_VALUE_LENGTH));
    const json = eventData(data);
    current.session.recorder.customEvent(nameId, json === null ? 0 : strings.valueOf(json));
  } catch (error) {
    report(`causeway.event could not be recorded (${(error as Error).message})`);
  }
}

export interface ConfigureOptions {
  /** false: the manual API and the scheduling wrappers record nothing from now on. */
  enabled?: boolean;
  /** Property accesses recorded in modules loaded from now on: `all`, `writes` or `off`. */
  accesses?: AccessLevel;
  /** The fraction of traces recorded from now on, 0 to 1 (see docs/instrumentation.md, "Sampling"). */
  samplingRate?: number;
}

const ACCESS_LEVELS: readonly unknown[] = ['all', 'writes', 'off'];

/**
 * Changes runtime settings, normally once at start. An unknown or invalid setting gives one
 * CW_CONFIG_INVALID warning and is ignored; nothing is thrown. Returns whether every setting was
 * applied.
 */
export function configure(options: ConfigureOptions): boolean {
  const entry = (globalThis as Record<symbol, unknown>)[SESSION_KEY] as PublishedSession | undefined;
  if (typeof options !== 'object' || options === null) {
    warn(
      InstrumentationErrorCode.CONFIG_INVALID,
      'causeway.configure expects an object of settings; ignored',
    );
    return false;
  }
  let applied = true;
  // Any value can come in, a BigInt included, which JSON.stringify refuses: never throw here.
  const show = (value: unknown): string => {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  };
  const invalid = (message: string): void => {
    warn(InstrumentationErrorCode.CONFIG_INVALID, `causeway.configure: ${message}; ignored`);
    applied = false;
  };
  for (const [key, value] of Object.entries(options)) {
    if (key === 'enabled') {
      if (typeof value !== 'boolean') invalid(`enabled must be true or false, not ${show(value)}`);
      else if (entry !== undefined) entry.settings.enabled = value;
    } else if (key === 'accesses') {
      if (!ACCESS_LEVELS.includes(value)) invalid(`accesses must be all, writes or off, not ${show(value)}`);
      else if (entry !== undefined) entry.session.config.accesses = value as AccessLevel;
    } else if (key === 'samplingRate') {
      if (!isSamplingRate(value)) invalid(`samplingRate must be a number from 0 to 1, not ${show(value)}`);
      else if (entry !== undefined) {
        entry.session.config.samplingRate = value;
        entry.session.recorder.sampler.setRate(value);
        entry.session.recorder.resample();
      }
    } else {
      invalid(`unknown setting ${show(key)} (known: enabled, accesses, samplingRate)`);
    }
  }
  return applied;
}

/** A trace context: what a message carries so that its handling continues the sender's trace. */
export interface TraceContext {
  /** W3C trace id: 32 lowercase hex digits. */
  traceId: string;
  /** W3C parent (span) id: 16 lowercase hex digits. */
  parentId: string;
  /** The sender's stream and exchange id in its recording (0 when not sent by Causeway). */
  stream: number;
  exchange: number;
  /**
   * The sender's sampling decision: true when a Causeway recording sent it, else the sampled flag
   * of its traceparent; absent in a new trace (`createTrace`), which the rate decides.
   */
  sampled?: boolean;
}

/** A header set: the W3C `traceparent` and Causeway's `x-causeway-trace` (docs/propagation.md). */
export type TraceHeaders = Record<string, string>;

/** A new trace context, for work that starts a trace of its own (a batch job, a consumer loop). */
export function createTrace(): TraceContext {
  return {
    traceId: randomBytes(16).toString('hex'),
    parentId: randomBytes(8).toString('hex'),
    stream: 0,
    exchange: 0,
  };
}

/**
 * The current trace context as headers to attach to a message sent out of band (a queue
 * message): the receiver passes them to `deserializeTrace` and `continueTrace`. Records that the
 * current task sent it. `{}` when Causeway is not recording.
 */
export function serialize(): TraceHeaders {
  const current = published();
  const output = current?.session.output ?? null;
  if (current === null || output === null) return {};
  try {
    const recorder = current.session.recorder;
    if (recorder.unsampledNow()) {
      // Not recorded; the receiver learns the trace was not sampled and does not record it either.
      return { [TRACEPARENT]: unsampledTraceparent(recorder.sampler.current().traceId, newSpanId()) };
    }
    const exchange = recorder.exchange();
    recorder.exchangeStep(EventKind.MessageSent, 0, 0, 0, exchange, false);
    return {
      [TRACEPARENT]: traceparentHeader(output.traceId, output.stream, exchange),
      [CAUSEWAY_TRACE]: causewayTraceHeader(output.traceId, output.stream, exchange),
    };
  } catch (error) {
    report(`causeway.serialize failed (${(error as Error).message}); no context attached`);
    return {};
  }
}

/**
 * Reads a trace context from headers (an object with `traceparent` and/or `x-causeway-trace`,
 * in any case) or from a `traceparent` string. Returns null, never throws, when there is none or
 * it is malformed.
 */
export function deserializeTrace(header: unknown): TraceContext | null {
  try {
    let causeway: unknown;
    let traceparent: unknown;
    if (typeof header === 'string') {
      traceparent = header;
    } else if (typeof header === 'object' && header !== null) {
      for (const [key, value] of Object.entries(header)) {
        const name = key.toLowerCase();
        if (name === CAUSEWAY_TRACE) causeway = value;
        else if (name === TRACEPARENT) traceparent = value;
      }
    } else {
      return null;
    }
    const received = readPropagation(causeway, traceparent);
    if (received === null || 'malformed' in received) return null;
    const { traceId, stream, exchange } = received.sender;
    // The parent span from traceparent only when it belongs to the same trace (not another
    // system's, such as OpenTelemetry's, which is a different trace).
    const parent = readTraceparent(traceparent);
    const parentId =
      parent !== null && parent.traceId === traceId
        ? parent.spanId
        : `${stream.toString(16).padStart(8, '0')}${exchange.toString(16).padStart(8, '0')}`;
    // A Causeway recording sends x-causeway-trace only for what it records.
    const sampled = stream !== 0 || parent === null || parent.sampled;
    return { traceId, parentId, stream, exchange, sampled };
  } catch {
    return null;
  }
}

/**
 * Runs `fn` as the handling of a message that carried `ctx` (from `deserializeTrace`, or
 * `createTrace()`): a span whose task is caused by the current task and, when several
 * recordings are loaded together, by the task that serialized the context. Returns what `fn`
 * returns and rethrows what it throws. A null or invalid `ctx` runs `fn` as a plain span.
 */
export function continueTrace<T>(ctx: TraceContext | null, fn: () => T): T {
  if (typeof fn !== 'function') {
    report('causeway.continueTrace(ctx, fn) was given no function; nothing was run');
    return undefined as T;
  }
  const valid =
    typeof ctx === 'object' &&
    ctx !== null &&
    typeof ctx.traceId === 'string' &&
    /^[0-9a-f]{32}$/.test(ctx.traceId) &&
    Number.isInteger(ctx.stream) &&
    Number.isInteger(ctx.exchange);
  const sampler = published()?.session.recorder.sampler;
  let entry: TraceSampling | null = null;
  if (sampler !== undefined) {
    entry = valid
      ? sampler.decide({
          traceId: ctx.traceId,
          sampled: ctx.sampled !== false,
          fromCauseway: ctx.stream !== 0 && ctx.sampled !== false,
        })
      : sampler.decide(null);
  }
  return spanAround('continueTrace', fn, valid ? ctx : null, entry);
}

/** The manual API as one object: `import { causeway } from '@causeway/instrumentation'`. */
export const causeway = { trace, event, configure, createTrace, serialize, deserializeTrace, continueTrace };
