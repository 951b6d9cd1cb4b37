/**
 * Race findings in words: the core's findings (causal-trace.ts) with their sites, property names
 * and values resolved, a sentence that tells what happened, and what to do about it. What
 * `causeway analyze` prints, and what the server and the TUI will show.
 */

import type { AccessRole, RaceClass, RaceEvidence, RaceFinding } from './causal-trace.ts';
import { DB_SITE_FILE } from './format/event-format.ts';
import { type Site, type SiteIndex, siteLocation } from './sites.ts';
import type { StringIndex } from './strings.ts';
import { renderValue } from './values.ts';

export interface AccessReport {
  role: AccessRole;
  /** Index of the task in the report's `tasks`. */
  task: number;
  kind: 'read' | 'write';
  /** The access's code site; null when its site table was not recorded. */
  site: Site | null;
  /** The value read or written, as source text (`100`, `'pending'`, `object #3`); null when not captured. */
  value: string | null;
}

/** How sure Causeway is, from the evidence: observed -> high, concurrent -> medium, possible -> low. */
export type Confidence = 'high' | 'medium' | 'low';

/** What the race costs when it happens, from its class (docs/detectors.md, docs/cli.md). */
export type Severity = 'high' | 'medium' | 'low';

export interface FindingReport {
  class: RaceClass;
  /** `Lost update`, `Write-write race`, ... */
  title: string;
  evidence: RaceEvidence;
  /** Derived from `evidence` alone. */
  confidence: Confidence;
  /** Derived from `class` alone: high when a write is lost or a task misreads its own write. */
  severity: Severity;
  /**
   * The object and property; `name` is how to say it: `object #1 .balance`, or for a database
   * row (accessed at the PostgreSQL interceptor's sites) `row accounts[42]`.
   */
  location: { stream: number; objectId: number; property: string; name: string };
  /** How many times the detector met this shape (same class, location and sites). */
  occurrences: number;
  /** Plain races between the same accesses that this finding explains. */
  related: number;
  /** One instance, in the roles of the class's pattern. */
  accesses: AccessReport[];
  /** What happened, in one or two sentences. */
  story: string;
  recommendation: string;
  /**
   * For a lost update whose overwritten task read the location before writing it: that read,
   * and the change the lost write made (its value minus what it read) when both are numbers.
   * Filled by buildTraceReport, which has the records; null otherwise.
   */
  lost: { read: AccessReport; change: number | null } | null;
}

const TITLES: Record<RaceClass, string> = {
  'lost-update': 'Lost update',
  'inconsistent-read': 'Inconsistent read',
  'intermediate-read': 'Intermediate state read',
  'overwritten-write': 'Overwritten write',
  'write-write': 'Write-write race',
  'read-write': 'Read-write race',
  'order-violation': 'Order violation (used before initialised)',
};

const RECOMMENDATIONS: Record<RaceClass, string> = {
  'lost-update':
    'Make the read-modify-write atomic: compute and write without an await in between, serialise the operations on this object (a queue or a per-key lock held across the await), or let the store do it (UPDATE ... SET x = x - $1, or compare-and-set on a version).',
  'inconsistent-read':
    'Read the value once and reuse it, or hold a lock across the await so the two reads see the same state.',
  'intermediate-read':
    'Another task can see the value written before the await: write only the final value, or hold a lock across the await.',
  'overwritten-write':
    'Do not read back across an await what this task wrote: keep the value in a local variable, or hold a lock across the await.',
  'write-write':
    'The final value depends on timing: order the writes (await one before starting the other) or make them commute.',
  'read-write':
    'The read may or may not see the write depending on timing: order them explicitly (await the writer first).',
  'order-violation':
    'Initialise before use: await the initialisation (keep its promise and await it where the value is used), or start the work that reads it only once it is set.',
};

const CONFIDENCE: Record<RaceEvidence, Confidence> = {
  observed: 'high',
  concurrent: 'medium',
  possible: 'low',
};

const SEVERITY: Record<RaceClass, Severity> = {
  'lost-update': 'high',
  'overwritten-write': 'high',
  'inconsistent-read': 'medium',
  'intermediate-read': 'medium',
  'write-write': 'medium',
  'read-write': 'low',
  'order-violation': 'high',
};

const EVIDENCE: Record<RaceEvidence, string> = {
  observed: 'observed in this run',
  concurrent: 'the two tasks were concurrent in this run',
  possible: 'possible: nothing orders these tasks, though this run did not interleave them harmfully',
};

/** A finding's confidence, from its evidence alone. */
export function confidenceOf(evidence: RaceEvidence): Confidence {
  return CONFIDENCE[evidence];
}

/** A finding's severity, from its class alone. */
export function severityOf(raceClass: RaceClass): Severity {
  return SEVERITY[raceClass];
}

export function describeEvidence(evidence: RaceEvidence): string {
  return EVIDENCE[evidence];
}

/** `src/account.ts:14:3 (readBalance)`, or `site 12` when the site table is missing. */
function where(access: AccessReport, siteId: number): string {
  return access.site === null
    ? `site ${siteId}`
    : `${siteLocation(access.site)} (${access.site.functionName})`;
}

function didWhat(access: AccessReport, property: string, siteId: number): string {
  const at = `at ${where(access, siteId)}`;
  if (access.kind === 'read') {
    return `read ${property}${access.value === null ? '' : ` = ${access.value}`} ${at}`;
  }
  return `wrote${access.value === null ? '' : ` ${access.value}`} to ${property} ${at}`;
}

function story(finding: RaceFinding, accesses: AccessReport[], property: string): string {
  const said = accesses.map((access, i) => didWhat(access, property, finding.accesses[i]?.site ?? 0));
  const task = (i: number) => `task #${accesses[i]?.task}`;
  if (accesses.length === 3) {
    const [first, remote, second] = said;
    const effect: Record<string, string> = {
      'lost-update': `, so the write of ${task(1)} is lost`,
      'inconsistent-read': ': its two reads can disagree',
      'intermediate-read': ': it saw a value the first task meant to be temporary',
      'overwritten-write': ': it did not read back what it wrote',
    };
    return `${task(0)} ${first}; then ${task(1)} ${remote}; then ${task(2)} ${second}${effect[finding.class] ?? ''}.`;
  }
  const [one, other] = said;
  if (finding.class === 'order-violation') {
    return `${task(0)} ${one} before it was initialised; then ${task(1)} ${other}, with nothing making the initialisation come first.`;
  }
  return `${task(0)} ${one}, and ${task(1)} ${other}, with nothing ordering the two tasks.`;
}

/**
 * `row accounts[42]` when the accesses are the PostgreSQL interceptor's (their site names the
 * table, the key is the row's key), else null.
 */
function rowName(accesses: readonly AccessReport[], property: string): string | null {
  const site = accesses.find((access) => access.site?.file === DB_SITE_FILE)?.site;
  if (site === undefined || site === null) return null;
  const key = property.startsWith('.') ? `[${JSON.stringify(property.slice(1))}]` : property;
  return `row ${site.name}${key}`;
}

/** The core's findings, with sites, property names and values resolved, in the core's order. */
export function buildFindingReports(
  findings: readonly RaceFinding[],
  sites: SiteIndex,
  strings: StringIndex,
): FindingReport[] {
  return findings.map((finding) => {
    const property = strings.keyName(finding.stream, finding.keyId);
    const accesses: AccessReport[] = finding.accesses.map((access) => ({
      role: access.role,
      task: access.task,
      kind: access.kind,
      site: sites.lookup(finding.stream, access.site),
      value: renderValue(strings, finding.stream, access.valueTag, access.value),
    }));
    const named = rowName(accesses, property) ?? `object #${finding.objectId} ${property}`;
    return {
      class: finding.class,
      title: TITLES[finding.class],
      evidence: finding.evidence,
      confidence: CONFIDENCE[finding.evidence],
      severity: SEVERITY[finding.class],
      location: { stream: finding.stream, objectId: finding.objectId, property, name: named },
      occurrences: finding.occurrences,
      related: finding.related,
      accesses,
      story: story(finding, accesses, named),
      recommendation: RECOMMENDATIONS[finding.class],
      lost: null,
    };
  });
}
