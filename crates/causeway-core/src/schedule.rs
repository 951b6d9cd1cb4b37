//! Spawn and FIFO edges of scheduled callbacks (docs/event-format.md, "Scheduling").
//!
//! The runtime writes a `Schedule` record where a callback is registered and a `CallbackBegin`
//! where it starts running. The callback's task is caused by the task that scheduled it (spawn)
//! and by earlier callbacks of the same queue that Node is bound to run first (FIFO): one whose
//! registration happened before this one's registration in every execution, that is, in the
//! same task or in a task that happens before it.

use std::collections::VecDeque;

use crate::graph::{CausalGraph, EdgeKind};
use crate::hash::FastMap;
use crate::ids::{StreamId, TaskIx};
use crate::record::{Queue, Record};

/// How many of a queue's latest runs a new run is compared with. Older runs are not looked at,
/// which can miss a FIFO edge (a race reported that Node rules out) but never invents one.
pub const RECENT_RUNS: usize = 16;

#[derive(Clone, Copy, Debug)]
struct Scheduled {
    /// The task that registered the callback (for an interval's later firings: the last firing).
    from: TaskIx,
    /// Position of the registration in its stream.
    ord: u64,
    queue: Queue,
    key: u32,
    delay: f64,
    /// An interval that fired already: its next firing follows the last one.
    fired: bool,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    from: TaskIx,
    ord: u64,
    key: u32,
    delay: f64,
    task: TaskIx,
}

#[derive(Default)]
pub struct Scheduler {
    pending: FastMap<(StreamId, u32), Scheduled>,
    recent: FastMap<(StreamId, u8), VecDeque<Run>>,
}

impl Scheduler {
    /// A `Schedule` record, the `ord`-th of its stream, written in `task`.
    pub fn on_schedule(&mut self, stream: StreamId, task: TaskIx, ord: u64, rec: &Record) {
        let Some(queue) = Queue::try_from_u8(rec.flags) else { return };
        let delay = if queue.class() == Queue::Timeout as u8 { f64::from_bits(rec.b) } else { 0.0 };
        let scheduled = Scheduled { from: task, ord, queue, key: (rec.a >> 32) as u32, delay, fired: false };
        self.pending.insert((stream, rec.a as u32), scheduled);
    }

    /// A `Cancel` record: the callback will not run (again).
    pub fn on_cancel(&mut self, stream: StreamId, rec: &Record) {
        self.pending.remove(&(stream, rec.a as u32));
    }

    /// Appends the causes of callback `id` starting to run to `out`. Returns false when the
    /// callback's registration is not known.
    ///
    /// # Complexity
    /// O(RECENT_RUNS x number of causes).
    pub fn causes(
        &self,
        graph: &CausalGraph,
        stream: StreamId,
        id: u32,
        out: &mut Vec<(TaskIx, EdgeKind)>,
    ) -> bool {
        let Some(s) = self.pending.get(&(stream, id)) else { return false };
        out.push((s.from, if s.fired { EdgeKind::Fifo } else { EdgeKind::Spawn }));
        let Some(runs) = self.recent.get(&(stream, s.queue.class())) else { return true };
        let timers = s.queue.class() == Queue::Timeout as u8;
        for run in runs.iter().rev() {
            // Node orders timers only within one duration's list (see the format's "Scheduling").
            if run.key != s.key || run.ord >= s.ord || (timers && run.delay != s.delay) {
                continue;
            }
            if run.from != s.from && !graph.happens_before(run.from, s.from) {
                continue;
            }
            if out.iter().any(|&(cause, _)| cause == run.task || graph.happens_before(run.task, cause)) {
                continue;
            }
            out.push((run.task, EdgeKind::Fifo));
        }
        true
    }

    /// Callback `id` began running in `task`, the `ord`-th record of its stream.
    pub fn ran(&mut self, stream: StreamId, id: u32, task: TaskIx, ord: u64) {
        let Some(s) = self.pending.get_mut(&(stream, id)) else { return };
        let runs = self.recent.entry((stream, s.queue.class())).or_default();
        if runs.len() == RECENT_RUNS {
            runs.pop_front();
        }
        runs.push_back(Run { from: s.from, ord: s.ord, key: s.key, delay: s.delay, task });
        if s.queue == Queue::Interval {
            // Node reschedules an interval when its callback has run.
            s.from = task;
            s.ord = ord;
            s.fired = true;
        } else {
            self.pending.remove(&(stream, id));
        }
    }
}
