/**
 * A trace as OTLP/HTTP JSON (an ExportTraceServiceRequest, what a collector's /v1/traces takes):
 * one span per task, on the recording's trace id. A task's parent is the task that reached the
 * await it continues; every direct happens-before edge is also a link, with its kind. Race
 * findings are span events and attributes on the tasks whose accesses they name.
 *
 * OTLP/JSON rules followed here: lowerCamelCase keys, trace and span ids as hex, enums as
 * integers, 64-bit integers (timestamps, intValue) as decimal strings.
 */

import { siteLocation, type TaskReport, type TraceReport, taskStart } from '@causeway/core';

type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } };

interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: { timeUnixNano: string; name: string; attributes: KeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: KeyValue[] }[];
  status: { code: number };
}

export interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
}

const SPAN_KIND_INTERNAL = 1;
const STATUS_CODE_UNSET = 0;

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(Math.trunc(value)) } };
}

/** A task's span id: its index plus one as 16 hex digits (an all-zero id is invalid). */
export function spanId(task: number): string {
  return (task + 1).toString(16).padStart(16, '0');
}

/** ms since the Unix epoch to nanoseconds, as a decimal string, exact to the microsecond. */
function unixNano(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

function spanName(task: TaskReport): string {
  const { label, site } = taskStart(task);
  return site === null ? label : `${label} ${site.functionName}`;
}

export function toOtlp(report: TraceReport, scopeVersion: string): OtlpTraces {
  const epochOf = new Map(report.streams.map((stream) => [stream.stream, stream.epochMs]));
  const fallbackEpoch = Date.parse(report.meta.startedAt);
  const startMs = (task: TaskReport): number =>
    (epochOf.get(task.stream) ?? fallbackEpoch) + (task.beganMs ?? 0);
  const endedMs = report.end === null ? Number.NaN : Date.parse(report.end.endedAt);

  // A task runs synchronously, so it ended before the next task of its stream began: that start
  // is the span's end (an upper bound). The last task ends when the recording ended.
  const byStream = new Map<number, TaskReport[]>();
  for (const task of report.tasks) {
    const list = byStream.get(task.stream) ?? [];
    list.push(task);
    byStream.set(task.stream, list);
  }
  const endMs = new Map<number, number>();
  for (const list of byStream.values()) {
    const timed = list.filter((task) => task.beganMs !== null).sort((x, y) => startMs(x) - startMs(y));
    timed.forEach((task, i) => {
      const next = timed[i + 1];
      const end = next !== undefined ? startMs(next) : Number.isFinite(endedMs) ? endedMs : startMs(task);
      endMs.set(task.id, Math.max(end, startMs(task)));
    });
  }

  const traceId = report.meta.traceId;
  const spans: OtlpSpan[] = report.tasks.map((task) => {
    const incoming = report.edges.filter((edge) => edge.to === task.id);
    const parent = incoming.find((edge) => edge.kind === 'await');
    const attributes: KeyValue[] = [
      int('causeway.task.id', task.id),
      int('causeway.task.chain', task.chain),
      int('causeway.task.position', task.position),
      int('causeway.task.records', task.records),
      str('causeway.task.started_by', task.startedBy),
    ];
    if (task.site !== null) {
      attributes.push(
        str('code.file.path', task.site.file),
        int('code.line.number', task.site.line),
        int('code.column.number', task.site.column),
        str('code.function.name', task.site.functionName),
      );
    }
    const events: OtlpSpan['events'] = [];
    const classes = new Set<string>();
    report.findings.forEach((finding, i) => {
      for (const access of finding.accesses) {
        if (access.task !== task.id) continue;
        classes.add(finding.class);
        const eventAttributes = [
          int('causeway.finding.number', i + 1),
          str('causeway.finding.class', finding.class),
          str('causeway.finding.confidence', finding.confidence),
          str('causeway.finding.severity', finding.severity),
          str('causeway.access.role', access.role),
          str('causeway.access.kind', access.kind),
          str('causeway.access.location', finding.location.name),
          str('causeway.finding.recommendation', finding.recommendation),
        ];
        if (access.value !== null) eventAttributes.push(str('causeway.access.value', access.value));
        if (access.site !== null) eventAttributes.push(str('code.location', siteLocation(access.site)));
        events.push({
          timeUnixNano: unixNano(startMs(task)),
          name: `causeway.race: ${finding.title}`,
          attributes: eventAttributes,
        });
      }
    });
    if (classes.size > 0) {
      attributes.push({
        key: 'causeway.race.classes',
        value: { arrayValue: { values: [...classes].map((name) => ({ stringValue: name })) } },
      });
      attributes.push(int('causeway.race.accesses', events.length));
    }
    const span: OtlpSpan = {
      traceId,
      spanId: spanId(task.id),
      name: spanName(task),
      kind: SPAN_KIND_INTERNAL,
      startTimeUnixNano: unixNano(startMs(task)),
      endTimeUnixNano: unixNano(endMs.get(task.id) ?? startMs(task)),
      attributes,
      events,
      links: incoming.map((edge) => ({
        traceId,
        spanId: spanId(edge.from),
        attributes: [str('causeway.edge.kind', edge.kind)],
      })),
      status: { code: STATUS_CODE_UNSET },
    };
    if (parent !== undefined) span.parentSpanId = spanId(parent.from);
    return span;
  });

  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            str('service.name', report.meta.service),
            int('process.pid', report.meta.pid),
            str('process.runtime.name', 'nodejs'),
            str('process.runtime.version', report.meta.node),
            str('causeway.trace.file', report.file),
          ],
        },
        scopeSpans: [{ scope: { name: '@causeway/cli', version: scopeVersion }, spans }],
      },
    ],
  };
}
