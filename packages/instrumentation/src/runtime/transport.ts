/**
 * Sends a recording to `causeway serve` (CAUSEWAY_SERVER) as it runs, in wire-format batches
 * (docs/wire-format.md), next to the trace file, which stays complete and is the fallback.
 *
 * The application is never blocked or thrown into: the drain hands over copies of what it wrote to
 * the file, batches go out one at a time on fetch, failures are retried with backoff on unref'd
 * timers, and what waits is bounded (SPOOL_BYTES): past it, new records are dropped (and counted),
 * while site tables and strings are kept so that later batches still make sense. A batch the
 * server refuses (4xx) is dropped with one warning. At a normal end (the event loop empties) the
 * last batch and the END chunk are sent before the process exits; after process.exit() or a
 * signal, the last interval's records reach only the file.
 */

import { RECORD_SIZE } from '@causeway/core/event-format';
import type { SitesChunk, StreamInfo, StringsChunk, TraceEnd, TraceMeta } from '@causeway/core/trace-file';
import { BATCH_CONTENT_TYPE, type Batch, encodeBatch } from '@causeway/core/wire-format';
import { InstrumentationErrorCode, warn } from '../errors.ts';

/** What may wait for the server, in bytes of encoded batches. */
export const SPOOL_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 5000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export interface TransportOptions {
  /** The server's base URL, e.g. http://127.0.0.1:7777. */
  server: string;
  apiKey: string | null;
  meta: TraceMeta;
  stream: StreamInfo;
  spoolBytes?: number;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

interface Spooled {
  body: Uint8Array<ArrayBuffer>;
  records: number;
}

export class ServerTransport {
  readonly url: string;
  /** Records the server acknowledged. */
  acknowledged = 0;
  /** Records that will not reach the server: spool full, or their batch refused. */
  dropped = 0;
  readonly #options: TransportOptions;
  readonly #spoolLimit: number;
  readonly #fetch: typeof fetch;
  #sites: SitesChunk[] = [];
  #strings: StringsChunk[] = [];
  #records: Uint8Array[] = [];
  #recordCount = 0;
  #streamSent = false;
  #batch = 0;
  readonly #spool: Spooled[] = [];
  #spoolBytes = 0;
  #inFlight = false;
  #retry: NodeJS.Timeout | null = null;
  #backoff = FIRST_BACKOFF_MS;
  #ended = false;
  #idle: { untilFailure: boolean; resolve: () => void }[] = [];

  constructor(options: TransportOptions) {
    this.#options = options;
    this.url = new URL('/v1/batches', options.server).toString();
    this.#spoolLimit = options.spoolBytes ?? SPOOL_BYTES;
    this.#fetch = options.fetch ?? fetch;
  }

  sites(chunk: SitesChunk): void {
    this.#sites.push(chunk);
  }

  strings(chunk: StringsChunk): void {
    this.#strings.push({ ...chunk, strings: [...chunk.strings] });
  }

  /** Records just written to the file; copied, since the ring reuses their memory. */
  records(records: Uint8Array): void {
    this.#records.push(records.slice());
    this.#recordCount += records.byteLength / RECORD_SIZE;
  }

  /** Turns what was handed over since the last flush into a batch and sends it when its turn comes. */
  flush(end: TraceEnd | null = null): void {
    if (this.#ended) return;
    try {
      if (end !== null) this.#ended = true;
      const empty = this.#sites.length === 0 && this.#strings.length === 0 && this.#recordCount === 0;
      if (empty && end === null && this.#streamSent) return;
      const records = this.#take();
      const batch: Batch = {
        meta: { ...this.#options.meta, batch: ++this.#batch },
        streams: this.#streamSent ? [] : [this.#options.stream],
        sites: this.#sites,
        strings: this.#strings,
        events: records.byteLength === 0 ? [] : [{ stream: this.#options.stream.stream, records }],
        end,
      };
      this.#sites = [];
      this.#strings = [];
      this.#streamSent = true;
      let body = encodeBatch(batch);
      let count = records.byteLength / RECORD_SIZE;
      if (this.#spoolBytes + body.byteLength > this.#spoolLimit && count > 0) {
        // Keep the batch's tables and END; drop its records.
        this.dropped += count;
        count = 0;
        body = encodeBatch({ ...batch, events: [] });
      }
      this.#spool.push({ body, records: count });
      this.#spoolBytes += body.byteLength;
      this.#pump();
    } catch (error) {
      warn(
        InstrumentationErrorCode.TRANSPORT_FAILED,
        `cannot prepare a batch for ${this.url}: ${describe(error)}`,
      );
    }
  }

  /**
   * Resolves when nothing waits to be sent, or after `timeoutMs`; with `untilFailure`, also as soon
   * as a send fails (at exit, a failing server must not hold the process up).
   */
  idle(timeoutMs: number, untilFailure = false): Promise<void> {
    if (this.#spool.length === 0 || (untilFailure && this.#retry !== null)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#idle.push({
        untilFailure,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Records that wait to be sent. */
  get waiting(): number {
    return this.#spool.reduce((sum, s) => sum + s.records, 0);
  }

  #take(): Uint8Array {
    const all = new Uint8Array(this.#recordCount * RECORD_SIZE);
    let at = 0;
    for (const part of this.#records) {
      all.set(part, at);
      at += part.byteLength;
    }
    this.#records = [];
    this.#recordCount = 0;
    return all;
  }

  #pump(): void {
    if (this.#inFlight || this.#retry !== null) return;
    const next = this.#spool[0];
    if (next === undefined) {
      for (const waiter of this.#idle.splice(0)) waiter.resolve();
      return;
    }
    this.#inFlight = true;
    const headers: Record<string, string> = { 'content-type': BATCH_CONTENT_TYPE };
    if (this.#options.apiKey !== null) headers['x-causeway-api-key'] = this.#options.apiKey;
    this.#fetch(this.url, {
      method: 'POST',
      headers,
      body: next.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (response) => {
        const text = await response.text().catch(() => '');
        this.#inFlight = false;
        if (response.ok) {
          this.#done(next);
          this.acknowledged += next.records;
        } else if (
          response.status >= 400 &&
          response.status < 500 &&
          response.status !== 408 &&
          response.status !== 429
        ) {
          this.#done(next);
          this.dropped += next.records;
          warn(
            InstrumentationErrorCode.TRANSPORT_FAILED,
            `the server at ${this.url} refused a batch (${response.status} ${messageOf(text)}); its records are only in the trace file`,
          );
        } else {
          this.#later(`${response.status} ${messageOf(text)}`);
          return;
        }
        this.#backoff = FIRST_BACKOFF_MS;
        this.#pump();
      })
      .catch((error: unknown) => {
        this.#inFlight = false;
        this.#later(describe(error));
      });
  }

  #done(spooled: Spooled): void {
    this.#spool.shift();
    this.#spoolBytes -= spooled.body.byteLength;
  }

  /** Retries the first batch after a backoff; the timer never keeps the process alive. */
  #later(reason: string): void {
    this.#idle = this.#idle.filter((waiter) => {
      if (waiter.untilFailure) waiter.resolve();
      return !waiter.untilFailure;
    });
    warn(
      InstrumentationErrorCode.TRANSPORT_FAILED,
      `cannot send to the server at ${this.url} (${reason}); retrying, and the trace file keeps every record`,
    );
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#pump();
    }, this.#backoff);
    this.#retry.unref();
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
  }
}

function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    return body.code === undefined ? text.slice(0, 200) : `${body.code}: ${body.message}`;
  } catch {
    return text.slice(0, 200);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return cause?.code === undefined ? error.message : `${error.message}: ${cause.code}`;
  }
  return String(error);
}
