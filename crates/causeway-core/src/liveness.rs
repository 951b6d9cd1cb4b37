//! Which tasks may still cause another, and so which chains may still appear in the clock of a
//! task to come. A chain no such task descends from has *ended*: it is concurrent with everything
//! recorded from now on, which lets the race detector fold its state (races.rs, `end_chain`).
//!
//! A task may still cause another while it is
//!
//! - the current task of its stream (it is running: it may still reach an `await`);
//! - suspended at an `await` whose continuation has not started (the continuation's `Await` cause);
//! - the task in which an async invocation settled, while the task that started the invocation
//!   may still cause another: an `await` in that task may have waited for the invocation's
//!   promise, and its continuation then has a `Resolve` cause here (settle.rs infers those edges
//!   from the awaits of the starting task only, so this covers every one it can add).
//!
//! A task's successors all descend from live tasks, so a chain that no live task has in its clock
//! never appears in a new clock. In a recording whose tasks' records are contiguous (every
//! JavaScript run), a task that stops being live never becomes live again; when one does (a
//! malformed recording), the detector treats its accesses as late.

use crate::graph::CausalGraph;
use crate::hash::{FastMap, StreamMap};
use crate::ids::{ChainIx, StreamId, TaskIx};
use crate::record::{Kind, Record};

/// Why a task is live.
#[derive(Clone, Copy, Debug, Default)]
struct TaskLife {
    current: bool,
    /// Suspended invocations whose continuation has not started.
    pending: u32,
    /// Invocations that settled in the task, started by a task that is still live.
    settled: u32,
}

impl TaskLife {
    fn live(self) -> bool {
        self.current || self.pending > 0 || self.settled > 0
    }
}

#[derive(Default)]
pub struct Liveness {
    tasks: Vec<TaskLife>,
    current: StreamMap<TaskIx>,
    /// The stream and task of the last record: while they stay the same, `current` does too.
    last: Option<(StreamId, TaskIx)>,
    /// An async invocation, until it settles -> the task that started it.
    started_in: FastMap<(StreamId, u64), TaskIx>,
    /// A live task -> the tasks that stay live while it does, because they settled an
    /// invocation it started.
    dependents: FastMap<TaskIx, Vec<TaskIx>>,
    /// Per chain: how many live tasks have it in their clock.
    live_per_chain: Vec<u32>,
    /// Chains that ended since the last `take_ended`.
    ended: Vec<ChainIx>,
    /// Tasks to release, reused.
    worklist: Vec<TaskIx>,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness::default()
    }

    /// Follows one record of `stream`, written in `task`. `resumed_from` is the task that
    /// suspended the invocation a new task's `AwaitResume` continues; `replaced`, for an
    /// `AwaitSuspend`, the task that had suspended the same invocation without a continuation.
    pub fn on_record(
        &mut self,
        graph: &CausalGraph,
        stream: StreamId,
        task: TaskIx,
        rec: &Record,
        resumed_from: Option<TaskIx>,
        replaced: Option<TaskIx>,
    ) {
        if self.tasks.len() < graph.task_count() {
            self.tasks.resize(graph.task_count(), TaskLife::default());
        }
        if self.last != Some((stream, task)) {
            self.last = Some((stream, task));
            // The running task holds its chains before anything it replaces lets go of them.
            let previous = self.current.insert(stream, task);
            if previous != Some(task) {
                self.change(graph, task, |life| life.current = true);
                if let Some(previous) = previous {
                    self.change(graph, previous, |life| life.current = false);
                }
            }
        }
        if let Some(from) = resumed_from {
            self.change(graph, from, |life| life.pending -= 1);
        }
        match rec.kind {
            Kind::AwaitSuspend => {
                self.tasks[task.index()].pending += 1;
                if let Some(old) = replaced {
                    self.change(graph, old, |life| life.pending -= 1);
                }
            }
            Kind::FnEnter if rec.a != 0 => {
                self.started_in.insert((stream, rec.a), task);
            }
            Kind::FnExit | Kind::FnThrow if rec.a != 0 => {
                if let Some(starter) = self.started_in.remove(&(stream, rec.a)) {
                    if starter != task && self.tasks[starter.index()].live() {
                        self.tasks[task.index()].settled += 1;
                        self.dependents.entry(starter).or_default().push(task);
                    }
                }
            }
            _ => {}
        }
    }

    /// The chains that ended since the last call, in the order they ended.
    pub fn take_ended(&mut self, out: &mut Vec<ChainIx>) {
        out.clear();
        out.append(&mut self.ended);
    }

    /// Applies `update` to `task`'s life and follows what its liveness change implies.
    fn change(&mut self, graph: &CausalGraph, task: TaskIx, update: impl FnOnce(&mut TaskLife)) {
        let life = &mut self.tasks[task.index()];
        let before = life.live();
        update(life);
        match (before, life.live()) {
            (false, true) => self.hold(graph, task),
            (true, false) => {
                self.worklist.push(task);
                self.release_all(graph);
            }
            _ => {}
        }
    }

    fn hold(&mut self, graph: &CausalGraph, task: TaskIx) {
        for &(chain, _) in graph.clock_of(task).entries() {
            if self.live_per_chain.len() <= chain.index() {
                self.live_per_chain.resize(chain.index() + 1, 0);
            }
            self.live_per_chain[chain.index()] += 1;
        }
    }

    /// Releases the tasks of the worklist, and the dependents that stop being live with them.
    fn release_all(&mut self, graph: &CausalGraph) {
        while let Some(task) = self.worklist.pop() {
            for &(chain, _) in graph.clock_of(task).entries() {
                let count = &mut self.live_per_chain[chain.index()];
                *count -= 1;
                if *count == 0 {
                    self.ended.push(chain);
                }
            }
            for dependent in self.dependents.remove(&task).unwrap_or_default() {
                let life = &mut self.tasks[dependent.index()];
                life.settled -= 1;
                if !life.live() {
                    self.worklist.push(dependent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RecordWriter;
    use crate::trace::Trace;

    const S: StreamId = StreamId(1);

    fn ended_chains(w: &RecordWriter) -> (Trace, u64) {
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let ended = trace.races().stats().ended_chains;
        (trace, ended)
    }

    #[test]
    fn a_chain_ends_when_no_task_that_may_run_again_descends_from_it() {
        // Two callbacks with no recorded cause (two requests), one after the other.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        let (_, ended) = ended_chains(&w);
        assert_eq!(ended, 0, "task 1 is running and suspended");
        w.resume(2, 11, 100, 1.0);
        w.begin(3, 2.0);
        // Task 2 (chain 0, after task 1) finished without suspending: chain 0 ended when task 3 began.
        let (trace, ended) = ended_chains(&w);
        assert_eq!(ended, 1);
        assert_eq!(trace.graph().chain_count(), 2);
    }

    #[test]
    fn a_task_that_settled_an_awaited_call_keeps_its_chain_alive() {
        // Task 1 starts f (invocation 100) and g (101), each suspends, then awaits both (9).
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        w.call_and_suspend(1, 10, 101);
        w.push(Kind::AwaitSuspend, 1, 12, 9);
        w.resume(2, 11, 100, 1.0);
        w.push(Kind::FnExit, 2, 10, 100);
        w.resume(3, 11, 101, 1.0);
        w.push(Kind::FnExit, 3, 10, 101);
        w.begin(6, 1.5);
        // Task 3 runs on a chain of its own (task 2 took over task 1's), and no longer runs once
        // task 6 began; but task 1 still awaits (9), and its continuation may be caused by task
        // 3: nothing ended.
        let (_, ended) = ended_chains(&w);
        assert_eq!(ended, 0);
        w.resume(4, 12, 9, 2.0);
        w.begin(5, 3.0);
        let (trace, ended) = ended_chains(&w);
        assert_eq!(ended, trace.graph().chain_count() as u64 - 1, "all but task 5's chain ended");
    }
}
