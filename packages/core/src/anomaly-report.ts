/**
 * Anomalies in words (causal-trace.ts, `anomalies()`): which await was how much slower than its
 * site usually is, and which await never resumed, with sites resolved. What `causeway analyze`
 * prints under "Anomalies".
 */

import type { Anomaly, Task } from './causal-trace.ts';
import { type Site, type SiteIndex, siteLocation } from './sites.ts';

export interface AnomalyReport {
  kind: Anomaly['kind'];
  /** The await. */
  site: Site | null;
  /** The async function it is in, for an await that never resumed. */
  function: Site | null;
  /** Task index: the continuation of a slow await, or the task that reached the await that never resumed. */
  task: number;
  /** For a slow await: its duration and its site's median, MAD and sample count. */
  durationMs: number | null;
  medianMs: number | null;
  madMs: number | null;
  samples: number | null;
  /** What happened, in one sentence. */
  story: string;
}

function where(site: Site | null): string {
  return site === null
    ? 'an await (site not recorded)'
    : `the await at ${siteLocation(site)} in ${site.functionName}`;
}

/** The core's anomalies in words, slow awaits first. `ended` says whether the recording finished. */
export function buildAnomalyReports(
  anomalies: readonly Anomaly[],
  tasks: readonly Task[],
  sites: SiteIndex,
  ended: boolean,
): AnomalyReport[] {
  return anomalies.map((anomaly): AnomalyReport => {
    const site = sites.lookup(anomaly.stream, anomaly.site);
    if (anomaly.kind === 'slow-await') {
      const times = anomaly.durationMs / anomaly.medianMs;
      return {
        kind: anomaly.kind,
        site,
        function: null,
        task: anomaly.task,
        durationMs: anomaly.durationMs,
        medianMs: anomaly.medianMs,
        madMs: anomaly.madMs,
        samples: anomaly.samples,
        story: `${where(site)} took ${anomaly.durationMs.toFixed(1)} ms in task #${anomaly.task}, ${times.toFixed(1)}x its usual ${anomaly.medianMs.toFixed(1)} ms (median of ${anomaly.samples}, MAD ${anomaly.madMs.toFixed(2)} ms).`,
      };
    }
    const fn = sites.lookup(anomaly.stream, anomaly.functionSite);
    const began = tasks[anomaly.task]?.beginMs;
    const when = began === null || began === undefined ? '' : ` (reached at +${began.toFixed(1)} ms)`;
    const until = ended ? 'by the end of the recording' : 'before the recording stopped (it did not finish)';
    return {
      kind: anomaly.kind,
      site,
      function: fn,
      task: anomaly.task,
      durationMs: null,
      medianMs: null,
      madMs: null,
      samples: null,
      story: `${where(site)}, reached in task #${anomaly.task}${when}, never resumed ${until}: the promise it waited for never settled, so the rest of ${fn?.functionName ?? 'that function'} never ran.`,
    };
  });
}
