/**
 * `--fail-on`: which findings make a command exit with ExitCode.FindingsMatched, for CI. A
 * selector is a finding class (`lost-update`), `race` (any finding), or a severity (`high`,
 * `medium`, `low`: that severity or worse).
 */

import { type FindingReport, RACE_CLASSES, type RaceClass, type Severity } from '@causeway/core';

const CLASSES: readonly RaceClass[] = RACE_CLASSES;
const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

export const FAIL_ON_SELECTORS: readonly string[] = [...CLASSES, 'race', 'high', 'medium', 'low'];

export function isFailOnSelector(value: string): boolean {
  return FAIL_ON_SELECTORS.includes(value);
}

export function matchesSelector(finding: FindingReport, selector: string): boolean {
  if (selector === 'race') return true;
  if (Object.hasOwn(SEVERITY_RANK, selector)) {
    return SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[selector as Severity];
  }
  return finding.class === selector;
}

/** The findings that any of `selectors` matches, in their order. */
export function failingFindings(
  findings: readonly FindingReport[],
  selectors: readonly string[],
): FindingReport[] {
  return findings.filter((finding) => selectors.some((selector) => matchesSelector(finding, selector)));
}
