/**
 * The trace store: one interface, written once over SQL (store/db.ts), run on node:sqlite or on
 * PostgreSQL. Everything one batch changes is written in one transaction: a batch is either
 * wholly stored or not at all, and acknowledged only after the commit.
 *
 * Streams: every sending process numbers its streams from 0, so the store gives each (service,
 * pid, stream) of a trace its own trace-wide stream number, and rewrites the batch's SITES,
 * STRINGS and EVENTS to it.
 */

import { resolve } from 'node:path';
import type { SiteTable } from '@causeway/core/event-format';
import type { StreamInfo, TraceEnd, TraceMeta } from '@causeway/core/trace-file';
import { type Batch, seqRange } from '@causeway/core/wire-format';
import { ServerError, ServerErrorCode } from '../errors.ts';
import { type Db, migrate, PostgresDb, SqliteDb } from './db.ts';

/** A trace as listed: what the traces table holds. */
export interface TraceRow {
  traceId: string;
  /** The first service that sent to it. */
  service: string;
  /** Every service that sent records or spans, in order of arrival. */
  services: string[];
  startedMs: number;
  updatedMs: number;
  records: number;
  dropped: number;
  spans: number;
  /** Has a recording process of the trace sent its END chunk? */
  ended: boolean;
  /** Race findings at the last analysis; null when not analyzed since the last records arrived. */
  findings: number | null;
}

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: number;
  /** Nanoseconds since 1970, as decimal strings (they exceed 2^53). */
  startNs: string;
  endNs: string;
  attributes: Record<string, unknown>;
}

/** Everything stored for one trace, in the shapes of a trace file: what the analysis reads. */
export interface StoredTrace {
  row: TraceRow;
  meta: TraceMeta;
  streams: StreamInfo[];
  sites: { stream: number; base: number; table: SiteTable }[];
  strings: { stream: number; first: number; strings: string[] }[];
  events: EventChunk[];
  end: TraceEnd | null;
  spans: SpanRow[];
}

export interface EventChunk {
  /** Trace-wide index of the chunk's first record (records are numbered in arrival order). */
  firstIndex: number;
  stream: number;
  records: Uint8Array;
}

export interface TraceQuery {
  /** Traces started at or after / before (ms since 1970). */
  from?: number;
  to?: number;
  service?: string;
  hasFindings?: boolean;
  limit: number;
  offset: number;
}

export interface IngestResult {
  traceId: string;
  /** Records stored from this batch (0 for a repeated batch). */
  records: number;
  /** The batch had been stored before (a retry): nothing was changed. */
  duplicate: boolean;
  /** Trace-wide index of the first record stored, and the streams the records went to. */
  firstIndex: number;
  /** Was this the trace's first batch? */
  created: boolean;
}

export interface Retention {
  /** Keep at most this many traces (the most recently updated). */
  maxTraces?: number;
  /** Delete traces not updated for this long. */
  maxAgeMs?: number;
}

interface TraceDbRow {
  trace_id: string;
  service: string;
  services: string;
  meta: string | null;
  started_ms: number;
  updated_ms: number;
  records: number;
  dropped: number;
  spans: number;
  end_json: string | null;
  next_stream: number;
  findings: number | null;
}

function toRow(r: TraceDbRow): TraceRow {
  return {
    traceId: r.trace_id,
    service: r.service,
    services: JSON.parse(r.services) as string[],
    startedMs: Number(r.started_ms),
    updatedMs: Number(r.updated_ms),
    records: Number(r.records),
    dropped: Number(r.dropped),
    spans: Number(r.spans),
    ended: r.end_json !== null,
    findings: r.findings === null ? null : Number(r.findings),
  };
}

function conflict(message: string): never {
  throw new ServerError(ServerErrorCode.BATCH_CONFLICT, message);
}

/**
 * Serialises the transactions that change one trace. SQLite has one writer at a time already; on
 * PostgreSQL two processes sending to one trace at once would otherwise both number their records
 * from the same index.
 */
async function lockTrace(tx: Db, traceId: string): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(hashtext(?))', [traceId]);
}

const TABLES = ['traces', 'streams', 'sites', 'strings', 'events', 'batches', 'spans'];

export class TraceStore {
  readonly db: Db;

  private constructor(db: Db) {
    this.db = db;
  }

  /**
   * Opens the store named by `spec`: a postgres:// URL, or a SQLite file path (default
   * `.causeway/causeway.db` under `cwd`); `:memory:` for a throwaway SQLite store.
   */
  static async open(spec: string | undefined, cwd = process.cwd()): Promise<TraceStore> {
    let db: Db;
    if (spec !== undefined && /^postgres(ql)?:\/\//.test(spec)) {
      const pgDb = new PostgresDb(spec);
      await pgDb.open();
      db = pgDb;
    } else {
      db = new SqliteDb(spec === ':memory:' ? spec : resolve(cwd, spec ?? '.causeway/causeway.db'));
    }
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      if (error instanceof ServerError) throw error;
      throw new ServerError(
        ServerErrorCode.STORE,
        `cannot prepare the store ${db.location}: ${(error as Error).message}`,
      );
    }
    return new TraceStore(db);
  }

  get kind(): Db['dialect'] {
    return this.db.dialect;
  }

  get location(): string {
    return this.db.location;
  }

  /** Stores a checked batch in one transaction. Throws BATCH_CONFLICT (nothing stored) when it contradicts the store. */
  ingestBatch(batch: Batch, nowMs = Date.now()): Promise<IngestResult> {
    const { meta } = batch;
    const source = JSON.stringify([meta.service, meta.pid]);
    return this.db.transaction(async (tx) => {
      await lockTrace(tx, meta.traceId);
      const seen = await tx.all(
        'SELECT 1 AS x FROM batches WHERE trace_id = ? AND source = ? AND batch = ?',
        [meta.traceId, source, meta.batch],
      );
      const current = (
        await tx.all<TraceDbRow>('SELECT * FROM traces WHERE trace_id = ?', [meta.traceId])
      )[0];
      if (seen.length > 0) {
        return { traceId: meta.traceId, records: 0, duplicate: true, firstIndex: 0, created: false };
      }
      const { batch: _batch, ...traceMeta } = meta;
      const started = Date.parse(meta.startedAt);
      let nextStream = 0;
      let records = 0;
      if (current === undefined) {
        await tx.run(
          `INSERT INTO traces (trace_id, service, services, meta, started_ms, updated_ms)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [
            meta.traceId,
            meta.service,
            JSON.stringify([meta.service]),
            JSON.stringify(traceMeta),
            Number.isFinite(started) ? started : nowMs,
            nowMs,
          ],
        );
      } else {
        nextStream = Number(current.next_stream);
        records = Number(current.records);
        const services = JSON.parse(current.services) as string[];
        if (!services.includes(meta.service)) services.push(meta.service);
        // A trace first seen through OTLP spans gets its META from the first recording process.
        await tx.run('UPDATE traces SET services = ?, meta = COALESCE(meta, ?) WHERE trace_id = ?', [
          JSON.stringify(services),
          JSON.stringify(traceMeta),
          meta.traceId,
        ]);
      }

      // Map this process's stream numbers to the trace's.
      const streamRows = await tx.all<{
        stream: number;
        source: string;
        next_string: number;
        last_seq: number;
      }>('SELECT stream, source, next_string, last_seq FROM streams WHERE trace_id = ?', [meta.traceId]);
      const bySource = new Map(streamRows.map((r) => [r.source, r]));
      const local = new Map<number, { stream: number; nextString: number; lastSeq: number }>();
      const lookup = (stream: number) => {
        let entry = local.get(stream);
        if (entry === undefined) {
          const row = bySource.get(JSON.stringify([meta.service, meta.pid, stream]));
          if (row === undefined) {
            conflict(
              `stream ${stream} of ${meta.service} (pid ${meta.pid}) has no STREAM chunk in this batch or an earlier one`,
            );
          }
          entry = {
            stream: Number(row.stream),
            nextString: Number(row.next_string),
            lastSeq: Number(row.last_seq),
          };
          local.set(stream, entry);
        }
        return entry;
      };
      const used = new Set(streamRows.map((r) => Number(r.stream)));
      for (const info of batch.streams) {
        const key = JSON.stringify([meta.service, meta.pid, info.stream]);
        if (bySource.has(key)) continue;
        // The sender's number when free (a one-process trace keeps the numbers of its trace file).
        const stream = used.has(info.stream) ? nextStream : info.stream;
        used.add(stream);
        nextStream = Math.max(nextStream, stream + 1);
        await tx.run('INSERT INTO streams (trace_id, stream, source, info) VALUES (?, ?, ?, ?)', [
          meta.traceId,
          stream,
          key,
          JSON.stringify({ ...info, stream }),
        ]);
        bySource.set(key, { stream, source: key, next_string: 1, last_seq: -1 });
      }
      for (const sites of batch.sites) {
        const { stream } = lookup(sites.stream);
        await tx.run(
          'INSERT INTO sites (trace_id, stream, base, table_json) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [meta.traceId, stream, sites.base, JSON.stringify(sites.table)],
        );
      }
      for (const strings of batch.strings) {
        const entry = lookup(strings.stream);
        if (strings.first !== entry.nextString) {
          conflict(
            `STRINGS of stream ${strings.stream} start at id ${strings.first}, but the store expects ${entry.nextString} next`,
          );
        }
        await tx.run('INSERT INTO strings (trace_id, stream, first_id, strings) VALUES (?, ?, ?, ?)', [
          meta.traceId,
          entry.stream,
          strings.first,
          JSON.stringify(strings.strings),
        ]);
        entry.nextString += strings.strings.length;
      }
      const firstIndex = records;
      for (const events of batch.events) {
        if (events.records.byteLength === 0) continue;
        const entry = lookup(events.stream);
        const [first, last] = seqRange(events.records);
        if (first <= entry.lastSeq) {
          conflict(
            `records of stream ${events.stream} start at seq ${first}, but seq ${entry.lastSeq} is already stored: sequence numbers must increase`,
          );
        }
        const count = events.records.byteLength / 32;
        await tx.run(
          'INSERT INTO events (trace_id, first_index, stream, count, records) VALUES (?, ?, ?, ?, ?)',
          [meta.traceId, records, entry.stream, count, events.records],
        );
        records += count;
        entry.lastSeq = last;
      }
      for (const entry of local.values()) {
        await tx.run('UPDATE streams SET next_string = ?, last_seq = ? WHERE trace_id = ? AND stream = ?', [
          entry.nextString,
          entry.lastSeq,
          meta.traceId,
          entry.stream,
        ]);
      }
      await tx.run(
        `UPDATE traces SET records = ?, next_stream = ?, updated_ms = ?, findings = NULL,
           dropped = dropped + ?, end_json = COALESCE(?, end_json) WHERE trace_id = ?`,
        [
          records,
          nextStream,
          nowMs,
          batch.end?.dropped ?? 0,
          batch.end === null ? null : JSON.stringify(batch.end),
          meta.traceId,
        ],
      );
      await tx.run('INSERT INTO batches (trace_id, source, batch) VALUES (?, ?, ?)', [
        meta.traceId,
        source,
        meta.batch,
      ]);
      return {
        traceId: meta.traceId,
        records: records - firstIndex,
        duplicate: false,
        firstIndex,
        created: current === undefined,
      };
    });
  }

  /** Stores OTLP spans, joining each to its trace by trace id (creating traces not seen yet). */
  ingestSpans(
    spans: readonly SpanRow[],
    nowMs = Date.now(),
  ): Promise<{ traces: string[]; created: string[] }> {
    const byTrace = new Map<string, SpanRow[]>();
    for (const span of spans) {
      let list = byTrace.get(span.traceId);
      if (list === undefined) {
        list = [];
        byTrace.set(span.traceId, list);
      }
      list.push(span);
    }
    return this.db.transaction(async (tx) => {
      const created: string[] = [];
      for (const traceId of [...byTrace.keys()].sort()) await lockTrace(tx, traceId);
      for (const [traceId, list] of byTrace) {
        const current = (await tx.all<TraceDbRow>('SELECT * FROM traces WHERE trace_id = ?', [traceId]))[0];
        const services = current === undefined ? [] : (JSON.parse(current.services) as string[]);
        for (const span of list) if (!services.includes(span.service)) services.push(span.service);
        let added = 0;
        for (const span of list) {
          const exists = await tx.all('SELECT 1 AS x FROM spans WHERE trace_id = ? AND span_id = ?', [
            traceId,
            span.spanId,
          ]);
          if (exists.length > 0) continue;
          await tx.run(
            `INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, attributes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
              traceId,
              span.spanId,
              span.parentSpanId,
              span.service,
              span.name,
              span.kind,
              span.startNs,
              span.endNs,
              JSON.stringify(span.attributes),
            ],
          );
          added++;
        }
        if (current === undefined) {
          const earliest = list.reduce(
            (min, s) => (BigInt(s.startNs) < BigInt(min) ? s.startNs : min),
            list[0]?.startNs ?? '0',
          );
          const startedMs = Number(BigInt(earliest) / 1_000_000n);
          await tx.run(
            `INSERT INTO traces (trace_id, service, services, started_ms, updated_ms, spans) VALUES (?, ?, ?, ?, ?, ?)`,
            [traceId, services[0] ?? 'unknown', JSON.stringify(services), startedMs || nowMs, nowMs, added],
          );
          created.push(traceId);
        } else {
          await tx.run(
            'UPDATE traces SET services = ?, spans = spans + ?, updated_ms = ? WHERE trace_id = ?',
            [JSON.stringify(services), added, nowMs, traceId],
          );
        }
      }
      return { traces: [...byTrace.keys()], created };
    });
  }

  async listTraces(query: TraceQuery): Promise<{ traces: TraceRow[]; total: number }> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.from !== undefined) {
      where.push('started_ms >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('started_ms < ?');
      params.push(query.to);
    }
    if (query.service !== undefined) {
      // services is a JSON array of strings.
      where.push(
        this.db.dialect === 'sqlite'
          ? 'EXISTS (SELECT 1 FROM json_each(services) WHERE value = ?)'
          : 'services::jsonb @> ?::jsonb',
      );
      params.push(this.db.dialect === 'sqlite' ? query.service : JSON.stringify([query.service]));
    }
    if (query.hasFindings === true) where.push('findings > 0');
    if (query.hasFindings === false) where.push('findings = 0');
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.all<TraceDbRow>(
      `SELECT * FROM traces ${clause} ORDER BY started_ms DESC, trace_id LIMIT ? OFFSET ?`,
      [...params, query.limit, query.offset],
    );
    const total = await this.db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM traces ${clause}`, params);
    return { traces: rows.map(toRow), total: Number(total[0]?.n ?? 0) };
  }

  async getTrace(traceId: string): Promise<TraceRow | null> {
    const rows = await this.db.all<TraceDbRow>('SELECT * FROM traces WHERE trace_id = ?', [traceId]);
    return rows[0] === undefined ? null : toRow(rows[0]);
  }

  /** Everything stored for a trace (its event chunks from trace index `fromIndex` on), or null. */
  async loadTrace(traceId: string, fromIndex = 0): Promise<StoredTrace | null> {
    const rows = await this.db.all<TraceDbRow>('SELECT * FROM traces WHERE trace_id = ?', [traceId]);
    const r = rows[0];
    if (r === undefined) return null;
    const row = toRow(r);
    const streams = await this.db.all<{ info: string }>(
      'SELECT info FROM streams WHERE trace_id = ? ORDER BY stream',
      [traceId],
    );
    const sites = await this.db.all<{ stream: number; base: number; table_json: string }>(
      'SELECT stream, base, table_json FROM sites WHERE trace_id = ? ORDER BY stream, base',
      [traceId],
    );
    const strings = await this.db.all<{ stream: number; first_id: number; strings: string }>(
      'SELECT stream, first_id, strings FROM strings WHERE trace_id = ? ORDER BY stream, first_id',
      [traceId],
    );
    const events = await this.eventChunks(traceId, fromIndex, Number.MAX_SAFE_INTEGER);
    const spans = await this.db.all<Record<string, string | number | null>>(
      'SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id',
      [traceId],
    );
    const meta: TraceMeta =
      r.meta === null
        ? {
            traceId,
            service: row.service,
            pid: 0,
            startedAt: new Date(row.startedMs).toISOString(),
            node: '',
            causeway: '',
          }
        : (JSON.parse(r.meta) as TraceMeta);
    return {
      row,
      meta,
      streams: streams.map((s) => JSON.parse(s.info) as StreamInfo),
      sites: sites.map((s) => ({
        stream: Number(s.stream),
        base: Number(s.base),
        table: JSON.parse(s.table_json) as SiteTable,
      })),
      strings: strings.map((s) => ({
        stream: Number(s.stream),
        first: Number(s.first_id),
        strings: JSON.parse(s.strings) as string[],
      })),
      events,
      end: r.end_json === null ? null : (JSON.parse(r.end_json) as TraceEnd),
      spans: spans.map((s) => ({
        traceId,
        spanId: String(s.span_id),
        parentSpanId: s.parent_span_id === null ? null : String(s.parent_span_id),
        service: String(s.service),
        name: String(s.name),
        kind: Number(s.kind),
        startNs: String(s.start_ns),
        endNs: String(s.end_ns),
        attributes: JSON.parse(String(s.attributes)) as Record<string, unknown>,
      })),
    };
  }

  /**
   * The event chunks holding records from trace index `from` on, in index order, until they hold
   * at least `atLeast` records from `from` (or the trace ends).
   */
  async eventChunks(traceId: string, from: number, atLeast: number): Promise<EventChunk[]> {
    const start = await this.db.all<{ first_index: number }>(
      'SELECT first_index FROM events WHERE trace_id = ? AND first_index <= ? ORDER BY first_index DESC LIMIT 1',
      [traceId, from],
    );
    const first = Number(start[0]?.first_index ?? 0);
    const chunks: EventChunk[] = [];
    let covered = 0;
    let cursor = first;
    const pageSize = 64;
    for (;;) {
      const rows = await this.db.all<{
        first_index: number;
        stream: number;
        count: number;
        records: Uint8Array;
      }>(
        `SELECT first_index, stream, count, records FROM events WHERE trace_id = ? AND first_index >= ?
         ORDER BY first_index LIMIT ${pageSize}`,
        [traceId, cursor],
      );
      for (const row of rows) {
        const firstIndex = Number(row.first_index);
        const count = Number(row.count);
        chunks.push({ firstIndex, stream: Number(row.stream), records: new Uint8Array(row.records) });
        covered = firstIndex + count - from;
        cursor = firstIndex + count;
      }
      if (rows.length < pageSize || covered >= atLeast) return chunks;
    }
  }

  /** Records the number of findings of the analysis of a trace's first `records` records. */
  async setFindings(traceId: string, findings: number, records: number): Promise<void> {
    await this.db.run(
      'UPDATE traces SET findings = ?, analyzed_records = ? WHERE trace_id = ? AND records = ?',
      [findings, records, traceId, records],
    );
  }

  /** Traces whose findings are not known for their current records. */
  async unanalyzed(limit: number): Promise<string[]> {
    const rows = await this.db.all<{ trace_id: string }>(
      'SELECT trace_id FROM traces WHERE findings IS NULL AND records > 0 ORDER BY updated_ms LIMIT ?',
      [limit],
    );
    return rows.map((r) => r.trace_id);
  }

  /** Deletes the traces retention does not keep; returns their ids. */
  async retain(retention: Retention, nowMs = Date.now()): Promise<string[]> {
    const doomed = new Set<string>();
    if (retention.maxAgeMs !== undefined) {
      const rows = await this.db.all<{ trace_id: string }>(
        'SELECT trace_id FROM traces WHERE updated_ms < ?',
        [nowMs - retention.maxAgeMs],
      );
      for (const r of rows) doomed.add(r.trace_id);
    }
    if (retention.maxTraces !== undefined) {
      const rows = await this.db.all<{ trace_id: string }>(
        'SELECT trace_id FROM traces ORDER BY updated_ms DESC, trace_id LIMIT -1 OFFSET ?'.replace(
          'LIMIT -1',
          this.db.dialect === 'sqlite' ? 'LIMIT -1' : 'LIMIT ALL',
        ),
        [retention.maxTraces],
      );
      for (const r of rows) doomed.add(r.trace_id);
    }
    if (doomed.size === 0) return [];
    await this.db.transaction(async (tx) => {
      for (const traceId of doomed) {
        for (const table of TABLES) await tx.run(`DELETE FROM ${table} WHERE trace_id = ?`, [traceId]);
      }
    });
    return [...doomed];
  }

  sizeBytes(): Promise<number> {
    return this.db.sizeBytes();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
