//! Anomalies, first version: awaits far slower than their own site usually is, and awaits that
//! never resumed (a promise that never settled: the code after it never ran).
//!
//! Slowness is judged against the site's own baseline with robust statistics: the median and the
//! median absolute deviation (MAD) of the site's await durations, so one slow outlier cannot hide
//! itself by inflating the spread, as it would a mean and standard deviation. An await is slow when
//! its site has enough samples, it lies more than `ROBUST_Z` scaled MADs above the median, and it
//! took at least `MIN_RATIO` times the median and `MIN_EXCESS_MS` more (a cold first call a few
//! milliseconds slower is not news).

use crate::failures::FailureTracker;
use crate::hash::FastMap;
use crate::ids::{StreamId, TaskIx};
use crate::record::{Kind, Record};

/// Samples a site needs before any of them can be called slow.
pub const MIN_SAMPLES: usize = 8;
/// How many scaled MADs above the median counts as slow.
pub const ROBUST_Z: f64 = 5.0;
/// MAD scaled to estimate a standard deviation under a normal distribution.
const MAD_SCALE: f64 = 1.4826;
/// The least excess over the median, in ms, worth reporting.
pub const MIN_EXCESS_MS: f64 = 20.0;
/// The least ratio to the median worth reporting.
pub const MIN_RATIO: f64 = 3.0;
/// Slow awaits reported per site at most (the slowest).
pub const MAX_PER_SITE: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AwaitSample {
    pub duration_ms: f64,
    /// The continuation's task.
    pub task: TaskIx,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowAwait {
    pub stream: StreamId,
    pub site: u32,
    pub task: TaskIx,
    pub duration_ms: f64,
    pub median_ms: f64,
    pub mad_ms: f64,
    pub samples: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeverResumed {
    pub stream: StreamId,
    /// The async function's site, 0 if its entry was not recorded.
    pub function_site: u32,
    pub await_site: u32,
    /// The task that reached the await.
    pub task: TaskIx,
}

#[derive(Default)]
pub struct AwaitTimes {
    /// Per (stream, await site): each resumed await's duration.
    by_site: FastMap<(StreamId, u32), Vec<AwaitSample>>,
}

impl AwaitTimes {
    /// Records a resumed await: `suspended_ms` is the start of the task that suspended, so the
    /// duration includes the rest of that task's run (an upper bound, tight for short tasks).
    pub fn on_resume(&mut self, stream: StreamId, rec: &Record, task: TaskIx, suspended_ms: f64) {
        if rec.kind != Kind::AwaitResume {
            return;
        }
        let duration_ms = rec.time_ms() - suspended_ms;
        if duration_ms.is_finite() && duration_ms >= 0.0 {
            self.by_site.entry((stream, rec.site)).or_default().push(AwaitSample { duration_ms, task });
        }
    }

    /// The slow awaits of every site, slowest first within a site, sites in (stream, site) order.
    ///
    /// # Complexity
    /// O(n log n) over the resumed awaits.
    pub fn slow(&self) -> Vec<SlowAwait> {
        let mut sites: Vec<_> = self.by_site.iter().filter(|(_, v)| v.len() >= MIN_SAMPLES).collect();
        sites.sort_unstable_by_key(|(key, _)| **key);
        let mut slow = Vec::new();
        for (&(stream, site), samples) in sites {
            let mut durations: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
            let median_ms = median(&mut durations);
            let mut deviations: Vec<f64> = durations.iter().map(|d| (d - median_ms).abs()).collect();
            let mad_ms = median(&mut deviations);
            let spread = (MAD_SCALE * mad_ms).max(f64::MIN_POSITIVE);
            let mut outliers: Vec<&AwaitSample> = samples
                .iter()
                .filter(|s| {
                    let excess = s.duration_ms - median_ms;
                    excess / spread > ROBUST_Z
                        && s.duration_ms >= MIN_RATIO * median_ms
                        && excess >= MIN_EXCESS_MS
                })
                .collect();
            outliers.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
            for s in outliers.into_iter().take(MAX_PER_SITE) {
                slow.push(SlowAwait {
                    stream,
                    site,
                    task: s.task,
                    duration_ms: s.duration_ms,
                    median_ms,
                    mad_ms,
                    samples: samples.len() as u32,
                });
            }
        }
        slow
    }
}

/// The median of `values` (reordered); NaN for none.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Awaits that never resumed, from the failure tracker's view of invocations.
pub fn never_resumed(failures: &FailureTracker) -> Vec<NeverResumed> {
    failures
        .pending_awaits()
        .into_iter()
        .map(|(ix, task, await_site)| {
            let inv = &failures.invocations()[ix as usize];
            NeverResumed { stream: inv.stream, function_site: inv.site, await_site, task }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LocalTaskId;
    use crate::testing::RecordWriter;
    use crate::trace::Trace;

    const S: StreamId = StreamId(1);
    const FN: u32 = 10;
    const AWAIT: u32 = 11;

    /// `n` calls (invocations from 100) each suspend in their own callback task at time `10 * i`
    /// and resume `durations[i]` ms later.
    fn calls(durations: &[f64]) -> Trace {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        for (i, &d) in durations.iter().enumerate() {
            let (task, inv, at) = (2 + 2 * i as u32, 100 + i as u64, 10.0 * i as f64);
            w.callback(task, FN, at);
            w.push(Kind::FnEnter, task, FN, inv);
            w.push(Kind::AwaitSuspend, task, AWAIT, inv);
            w.resume(task + 1, AWAIT, inv, at + d);
            w.push(Kind::FnExit, task + 1, FN, inv);
        }
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        trace
    }

    #[test]
    fn an_await_far_slower_than_its_sites_median_is_slow_and_jitter_is_not() {
        let mut durations = vec![5.0, 5.2, 4.9, 5.1, 5.0, 5.3, 4.8, 5.1, 5.0];
        durations.push(120.0);
        let trace = calls(&durations);
        let slow = trace.anomalies().slow();
        assert_eq!(slow.len(), 1, "{slow:#?}");
        let s = slow[0];
        assert_eq!((s.site, s.samples), (AWAIT, 10));
        assert_eq!(s.duration_ms, 120.0);
        assert!((s.median_ms - 5.05).abs() < 1e-9, "{}", s.median_ms);
        assert_eq!(s.task, trace.task_by_local(S, LocalTaskId(2 + 2 * 9 + 1)).unwrap());

        // Within the usual spread, a cold call a few ms slower, or too few samples: nothing.
        assert!(calls(&[2.5, 2.4, 2.6, 2.5, 2.5, 2.4, 2.6, 2.5, 2.5, 5.9]).anomalies().slow().is_empty());
        assert!(calls(&[5.0, 9.0, 4.0, 7.0, 5.5, 8.0, 6.0, 9.5, 4.5, 10.0]).anomalies().slow().is_empty());
        assert!(calls(&[5.0, 5.0, 5.0, 5.0, 120.0]).anomalies().slow().is_empty());
    }

    #[test]
    fn an_await_that_never_resumed_is_reported_with_its_function() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 101);
        w.resume(2, FN + 1, 100, 5.0);
        w.push(Kind::FnExit, 2, FN, 100);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let pending = never_resumed(trace.failures());
        assert_eq!(
            pending,
            vec![NeverResumed { stream: S, function_site: FN, await_site: FN + 1, task: TaskIx(0) }]
        );
    }
}
