//! Spawn and FIFO edges of scheduled callbacks (docs/event-format.md, "Scheduling").
//!
//! The runtime writes a `Schedule` record where a callback is registered and a `CallbackBegin`
//! where it starts running. The callback's task is caused by the task that scheduled it (spawn)
//! and by earlier callbacks of the same queue that Node is bound to run first (FIFO): one whose
//! registration happened before this one's registration in every execution, that is, in the
//! same task or in a task that happens before it.
//!
//! Between queues (docs/event-format.md, "Scheduling kinds"): Node runs the nextTick queue to
//! its end before the microtask queue after a macrotask (a timer, an immediate, an I/O callback)
//! or a nextTick callback, so the ticks such a task registered run before its microtasks and
//! promise reactions; a microtask (a reaction, an await's continuation) runs in the microtask
//! queue's drain, so the microtasks it registers with `queueMicrotask` run before its ticks.
//!
//! Streams (`Queue::Emitter`, keyed by the stream's object id): a readable stream emits its
//! events one after another, in its own order (every `'data'` before `'end'`, `'close'` last),
//! so each emission the event loop starts follows the stream's previous one. The runtime writes
//! a `Schedule` for the stream when a task registers a listener on it or emits one of its events
//! itself (synchronously, in that task), and a `CallbackBegin` with the stream's one callback id
//! when the event loop emits an event. Such an emission is caused by every task the stream was
//! scheduled in since its previous emission from the event loop (spawn) and by that emission
//! (FIFO): the stream's *frontier*.

use std::collections::VecDeque;

use crate::graph::{CausalGraph, EdgeKind};
use crate::hash::FastMap;
use crate::ids::{StreamId, TaskIx};
use crate::record::{Kind, Queue, Record};

/// How many of a queue's latest runs a new run is compared with. Older runs are not looked at,
/// which can miss a FIFO edge (a race reported that Node rules out) but never invents one.
pub const RECENT_RUNS: usize = 16;

/// How many tasks a stream's frontier holds. Beyond it the oldest is forgotten, which can miss an
/// edge (a race reported that the stream's order rules out) but never invents one.
pub const FRONTIER: usize = 16;

/// Where a task runs in Node's event loop, as far as ordering between queues goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoopPhase {
    /// Not known (the program's start, a callback whose scheduling was not recorded).
    #[default]
    Unknown,
    /// A timer, an immediate or a nextTick callback: its ticks run before its microtasks.
    Macro,
    /// A microtask or promise reaction, or an await's continuation: its microtasks run first.
    Micro,
}

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
    queue: Queue,
    ord: u64,
    key: u32,
    delay: f64,
    task: TaskIx,
}

#[derive(Default)]
pub struct Scheduler {
    pending: FastMap<(StreamId, u32), Scheduled>,
    recent: FastMap<(StreamId, u8), VecDeque<Run>>,
    /// The loop phase of each task, by task index (known only for tasks begun as callbacks and
    /// await continuations).
    phases: Vec<LoopPhase>,
    /// Each stream's frontier (see the module's comment), by (stream, the stream's object id).
    emitters: FastMap<(StreamId, u32), Vec<(TaskIx, EdgeKind)>>,
}

impl Scheduler {
    /// A `Schedule` record, the `ord`-th of its stream, written in `task`.
    pub fn on_schedule(
        &mut self,
        graph: &CausalGraph,
        stream: StreamId,
        task: TaskIx,
        ord: u64,
        rec: &Record,
    ) {
        let Some(queue) = Queue::try_from_u8(rec.flags) else { return };
        let delay = if queue.class() == Queue::Timeout as u8 { f64::from_bits(rec.b) } else { 0.0 };
        let key = (rec.a >> 32) as u32;
        let scheduled = Scheduled { from: task, ord, queue, key, delay, fired: false };
        self.pending.insert((stream, rec.a as u32), scheduled);
        if queue == Queue::Emitter {
            let frontier = self.emitters.entry((stream, key)).or_default();
            if frontier.iter().any(|&(t, _)| t == task || graph.happens_before(task, t)) {
                return;
            }
            frontier.retain(|&(t, _)| !graph.happens_before(t, task));
            if frontier.len() == FRONTIER {
                frontier.remove(0);
            }
            frontier.push((task, EdgeKind::Spawn));
        }
    }

    /// Task `task` began with `rec` (before `ran`, for a callback): notes its loop phase.
    pub fn task_begun(&mut self, stream: StreamId, task: TaskIx, rec: &Record) {
        let phase = match rec.kind {
            Kind::AwaitResume => LoopPhase::Micro,
            Kind::CallbackBegin => match self.pending.get(&(stream, rec.a as u32)).map(|s| s.queue) {
                Some(Queue::Microtask | Queue::Reaction) => LoopPhase::Micro,
                // Node emits from I/O callbacks, ticks and promise jobs alike.
                Some(Queue::Emitter) => LoopPhase::Unknown,
                Some(_) => LoopPhase::Macro,
                None => LoopPhase::Unknown,
            },
            _ => LoopPhase::Unknown,
        };
        if phase == LoopPhase::Unknown && self.phases.len() <= task.index() {
            return;
        }
        if self.phases.len() <= task.index() {
            self.phases.resize(task.index() + 1, LoopPhase::Unknown);
        }
        self.phases[task.index()] = phase;
    }

    fn phase(&self, task: TaskIx) -> LoopPhase {
        self.phases.get(task.index()).copied().unwrap_or_default()
    }

    /// A `Cancel` record: the callback will not run (again).
    pub fn on_cancel(&mut self, stream: StreamId, rec: &Record) {
        if let Some(s) = self.pending.remove(&(stream, rec.a as u32)) {
            if s.queue == Queue::Emitter {
                self.emitters.remove(&(stream, s.key));
            }
        }
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
        if s.queue == Queue::Emitter {
            out.extend(self.emitters.get(&(stream, s.key)).into_iter().flatten().copied());
            return true;
        }
        out.push((s.from, if s.fired { EdgeKind::Fifo } else { EdgeKind::Spawn }));
        let timers = s.queue.class() == Queue::Timeout as u8;
        let runs = self.recent.get(&(stream, s.queue.class()));
        for run in runs.into_iter().flatten().rev() {
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
        self.cross_queue_causes(graph, stream, s, out);
        true
    }

    /// The callbacks of another queue that the task which registered `s` also registered, and
    /// that Node runs before `s` because of that task's loop phase (see the module's comment).
    fn cross_queue_causes(
        &self,
        graph: &CausalGraph,
        stream: StreamId,
        s: &Scheduled,
        out: &mut Vec<(TaskIx, EdgeKind)>,
    ) {
        if s.fired {
            return;
        }
        // A reaction of a pending promise is queued when the promise settles, not when `then`
        // is called: after a microtask's ticks it may run either side of them.
        let earlier: &[Queue] = match (self.phase(s.from), s.queue) {
            (LoopPhase::Macro, Queue::Microtask | Queue::Reaction) => &[Queue::NextTick],
            (LoopPhase::Micro, Queue::NextTick) => &[Queue::Microtask],
            _ => return,
        };
        for &queue in earlier {
            let Some(runs) = self.recent.get(&(stream, queue.class())) else { continue };
            for run in runs.iter().rev() {
                if run.from != s.from || run.queue != queue {
                    continue;
                }
                if out.iter().any(|&(cause, _)| cause == run.task || graph.happens_before(run.task, cause)) {
                    continue;
                }
                out.push((run.task, EdgeKind::Fifo));
            }
        }
    }

    /// Callback `id` began running in `task`, the `ord`-th record of its stream.
    pub fn ran(&mut self, stream: StreamId, id: u32, task: TaskIx, ord: u64) {
        let Some(s) = self.pending.get_mut(&(stream, id)) else { return };
        if s.queue == Queue::Emitter {
            // The emission follows everything the frontier held: it alone is the frontier now.
            let frontier = self.emitters.entry((stream, s.key)).or_default();
            frontier.clear();
            frontier.push((task, EdgeKind::Fifo));
            return;
        }
        let runs = self.recent.entry((stream, s.queue.class())).or_default();
        if runs.len() == RECENT_RUNS {
            runs.pop_front();
        }
        runs.push_back(Run { from: s.from, queue: s.queue, ord: s.ord, key: s.key, delay: s.delay, task });
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

#[cfg(test)]
mod tests {
    use crate::ids::{LocalTaskId, StreamId};
    use crate::record::Queue;
    use crate::testing::RecordWriter;
    use crate::trace::Trace;

    const S: StreamId = StreamId(1);

    #[test]
    fn a_macrotask_s_ticks_run_before_its_microtasks_and_reactions() {
        // A timer (2) queues a microtask (2), a reaction (3) and then a tick (4); Node runs the
        // tick first. A concurrent timer's tick (6) is not ordered with them.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.schedule(1, Queue::Timeout, 1, 0, 1.0);
        w.schedule(1, Queue::Timeout, 5, 0, 2.0);
        w.run(2, 1, 1.0);
        w.schedule(2, Queue::Microtask, 2, 0, 0.0);
        w.schedule(2, Queue::Reaction, 3, 9, 0.0);
        w.schedule(2, Queue::NextTick, 4, 0, 0.0);
        w.run(3, 4, 1.0);
        w.run(4, 2, 1.0);
        w.run(5, 3, 1.0);
        w.run(6, 5, 2.0);
        w.schedule(6, Queue::NextTick, 6, 0, 0.0);
        w.run(7, 6, 2.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        let g = trace.graph();
        assert!(g.happens_before(t(3), t(4)), "the tick before the microtask");
        assert!(g.happens_before(t(3), t(5)), "the tick before the reaction");
        assert!(g.concurrent(t(4), t(5)), "a microtask and another promise's reaction");
        assert!(g.concurrent(t(7), t(4)), "another timer's tick");
    }

    #[test]
    fn a_microtask_s_microtasks_run_before_its_ticks_but_not_its_pending_reactions() {
        // An await's continuation (3) queues a tick (2), a microtask (3) and a reaction (4).
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        w.resume(2, 12, 100, 1.0);
        w.schedule(2, Queue::NextTick, 2, 0, 0.0);
        w.schedule(2, Queue::Microtask, 3, 0, 0.0);
        w.schedule(2, Queue::Reaction, 4, 9, 0.0);
        w.run(3, 3, 1.0);
        w.run(4, 2, 1.0);
        w.run(5, 4, 2.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        let g = trace.graph();
        assert!(g.happens_before(t(3), t(4)), "the microtask before the tick");
        assert!(g.concurrent(t(4), t(5)), "a reaction of a promise pending then: either order");
        // A task whose phase is not known (the program's start) gets no such edge.
        let mut start = RecordWriter::new();
        start.begin(1, 0.0);
        start.schedule(1, Queue::Microtask, 1, 0, 0.0);
        start.schedule(1, Queue::NextTick, 2, 0, 0.0);
        start.run(2, 2, 1.0);
        start.run(3, 1, 1.0);
        let mut trace = Trace::new();
        trace.ingest(S, &start.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert!(trace.graph().concurrent(t(2), t(3)));
    }
}
