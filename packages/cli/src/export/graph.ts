/**
 * The causal graph of a trace as Graphviz DOT or a Mermaid flowchart: one node per task (where it
 * started: the await it continues or the function a callback entered), one arrow per direct
 * happens-before edge (await solid, resolve dashed), and the tasks of each race finding marked,
 * joined by an undirected red line labelled with the finding's number, kind and property.
 */

import {
  type FindingReport,
  siteLocation,
  type TaskReport,
  type TraceReport,
  taskStart,
} from '@causeway/core';

interface RaceLink {
  from: number;
  to: number;
  label: string;
}

function startLabel(task: TaskReport): string[] {
  const { label, site } = taskStart(task);
  return site === null ? [label] : [`${label} in ${site.functionName}`, siteLocation(site)];
}

function taskLines(task: TaskReport): string[] {
  const time = task.beganMs === null ? '?' : `+${task.beganMs.toFixed(2)} ms`;
  return [`#${task.id} ${startLabel(task)[0]}`, ...startLabel(task).slice(1), time];
}

/** Consecutive accesses of each finding on different tasks, joined: the race's shape in the graph. */
function raceLinks(findings: readonly FindingReport[]): RaceLink[] {
  const links: RaceLink[] = [];
  findings.forEach((finding, i) => {
    const label = `race ${i + 1}: ${finding.title.toLowerCase()} ${finding.location.property}`;
    for (let a = 1; a < finding.accesses.length; a++) {
      const from = (finding.accesses[a - 1] as { task: number }).task;
      const to = (finding.accesses[a] as { task: number }).task;
      if (
        from !== to &&
        !links.some((link) => link.from === from && link.to === to && link.label === label)
      ) {
        links.push({ from, to, label });
      }
    }
  });
  return links;
}

function raceTasks(findings: readonly FindingReport[]): Set<number> {
  return new Set(findings.flatMap((finding) => finding.accesses.map((access) => access.task)));
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function toDot(report: TraceReport): string {
  const racing = raceTasks(report.findings);
  const lines = [
    'digraph causeway {',
    `  graph [label=${dotString(`trace ${report.meta.traceId} · service ${report.meta.service} · ${report.findings.length} findings`)}, labelloc=t, rankdir=TB, fontname="Helvetica"];`,
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const task of report.tasks) {
    // DOT's \n inside a quoted label is a line break; the parts are escaped one by one.
    const label = taskLines(task)
      .map((line) => dotString(line).slice(1, -1))
      .join('\\n');
    const race = racing.has(task.id) ? ', color="#d62728", penwidth=2, fontcolor="#d62728"' : '';
    lines.push(`  t${task.id} [label="${label}"${race}];`);
  }
  for (const edge of report.edges) {
    const style = edge.kind === 'resolve' ? 'dashed' : 'solid';
    lines.push(`  t${edge.from} -> t${edge.to} [label=${dotString(edge.kind)}, style=${style}];`);
  }
  for (const link of raceLinks(report.findings)) {
    lines.push(
      `  t${link.from} -> t${link.to} [label=${dotString(link.label)}, dir=none, constraint=false, color="#d62728", fontcolor="#d62728", style=bold];`,
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Text safe inside a Mermaid quoted label: quotes, #, < and > as entity codes. */
function mermaidText(text: string): string {
  return text.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

export function toMermaid(report: TraceReport): string {
  const racing = raceTasks(report.findings);
  const lines = [
    '---',
    `title: ${JSON.stringify(`trace ${report.meta.traceId} · service ${report.meta.service} · ${report.findings.length} findings`)}`,
    '---',
    'flowchart TD',
  ];
  for (const task of report.tasks) {
    lines.push(`  t${task.id}["${taskLines(task).map(mermaidText).join('<br/>')}"]`);
  }
  let link = 0;
  for (const edge of report.edges) {
    const arrow = edge.kind === 'resolve' ? '-.->' : '-->';
    lines.push(`  t${edge.from} ${arrow}|"${mermaidText(edge.kind)}"| t${edge.to}`);
    link++;
  }
  const raceLinkIndices: number[] = [];
  for (const race of raceLinks(report.findings)) {
    lines.push(`  t${race.from} ---|"${mermaidText(race.label)}"| t${race.to}`);
    raceLinkIndices.push(link++);
  }
  if (racing.size > 0) {
    lines.push('  classDef race stroke:#d62728,stroke-width:2px,color:#d62728');
    lines.push(`  class ${[...racing].map((task) => `t${task}`).join(',')} race`);
  }
  if (raceLinkIndices.length > 0) {
    lines.push(`  linkStyle ${raceLinkIndices.join(',')} stroke:#d62728,stroke-width:2px`);
  }
  return `${lines.join('\n')}\n`;
}
