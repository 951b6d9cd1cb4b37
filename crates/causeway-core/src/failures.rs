//! Failures and their root causes.
//!
//! An async call that ends by throwing hands its error to the frame awaiting it, which may throw
//! in turn: a cascade. The tracker follows async invocations as their records arrive (who called
//! whom, how each ended, which of its awaits resumed rejected) and, when asked, walks each
//! cascade from the call where the error surfaced down to where it began:
//!
//! - a *surfaced* failure is an invocation that threw while its caller did not (the caller caught
//!   it, or is code that was not instrumented, such as a web framework);
//! - each step down is the call, started by the failing frame, whose throw rejected the await the
//!   frame resumed from; the walk stops at an invocation whose rejected await no traced call
//!   explains (a timer, I/O or a promise rejected by hand: the *root cause*), or that threw
//!   without a rejected await (it threw itself);
//! - for every step, the functions its successful runs called and this run never did
//!   ("finalizeOrder never called") come from comparing it with invocations of the same
//!   function that returned.

use crate::hash::{FastMap, StreamMap};
use crate::ids::{StreamId, TaskIx};
use crate::record::{Kind, Record, FLAG_REJECTED};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Returned,
    Threw,
}

/// The first await of an invocation that resumed because its promise rejected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RejectedAwait {
    pub site: u32,
    /// The continuation's task.
    pub task: TaskIx,
    /// The task that suspended at the await; its start time bounds how long the await waited.
    pub suspended_in: Option<TaskIx>,
    /// The task recorded just before the continuation in the same stream: the likeliest rejecter
    /// when no traced call explains the rejection (the timer or I/O callback that ran then).
    pub after: Option<TaskIx>,
    /// The first function that task entered (the callback the timer or I/O ran), 0 if none.
    pub after_entered: u32,
}

#[derive(Clone, Debug)]
pub struct Invocation {
    pub stream: StreamId,
    pub id: u64,
    /// The function's site.
    pub site: u32,
    /// The invocation of the nearest async frame that called it, if traced.
    pub caller: Option<u32>,
    pub entered_in: TaskIx,
    pub ended_in: Option<TaskIx>,
    pub outcome: Outcome,
    pub rejected: Option<RejectedAwait>,
    /// Function sites this invocation entered while it was the nearest async frame, in first-call
    /// order, each once.
    pub callees: Vec<u32>,
    /// Invocations it started (async callees), in order.
    pub children: Vec<u32>,
}

/// One step of a cascade, from the surfaced failure (depth 0) down to the root cause.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureStep {
    pub failure: u32,
    pub depth: u32,
    pub invocation: u32,
    /// Functions that returned runs of the same function called and this one did not.
    pub never_called: Vec<u32>,
}

#[derive(Default)]
struct StreamFrames {
    /// The current task's call stack: (function site, invocation index or None for a sync call).
    stack: Vec<(u32, Option<u32>)>,
    task: Option<TaskIx>,
    /// The task recorded before the current one.
    previous_task: Option<TaskIx>,
    /// The first function the current task entered, and the previous task's.
    first_entered: u32,
    previous_first_entered: u32,
}

#[derive(Default)]
pub struct FailureTracker {
    invocations: Vec<Invocation>,
    by_id: FastMap<(StreamId, u64), u32>,
    /// Invocation -> the task that suspended it at its pending await, and the await's site.
    suspended: FastMap<u32, (TaskIx, u32)>,
    streams: StreamMap<StreamFrames>,
}

impl FailureTracker {
    /// Follows one record of `task`. O(1) amortised, plus the call stack's depth on an exit.
    pub fn on_record(&mut self, stream: StreamId, task: TaskIx, rec: &Record) {
        let frames = self.streams.get_or_default(stream);
        if frames.task != Some(task) {
            frames.previous_task = frames.task;
            frames.previous_first_entered = frames.first_entered;
            frames.task = Some(task);
            frames.first_entered = 0;
            frames.stack.clear();
        }
        match rec.kind {
            Kind::AwaitResume => {
                let Some(&ix) = self.by_id.get(&(stream, rec.a)) else { return };
                frames.stack.push((self.invocations[ix as usize].site, Some(ix)));
                let suspended_in = self.suspended.remove(&ix).map(|(task, _)| task);
                let invocation = &mut self.invocations[ix as usize];
                if rec.flags & FLAG_REJECTED != 0 && invocation.rejected.is_none() {
                    invocation.rejected = Some(RejectedAwait {
                        site: rec.site,
                        task,
                        suspended_in,
                        after: frames.previous_task,
                        after_entered: frames.previous_first_entered,
                    });
                }
            }
            Kind::AwaitSuspend => {
                if let Some(&ix) = self.by_id.get(&(stream, rec.a)) {
                    self.suspended.insert(ix, (task, rec.site));
                }
            }
            Kind::FnEnter => {
                if frames.first_entered == 0 {
                    frames.first_entered = rec.site;
                }
                let caller = frames.stack.iter().rev().find_map(|&(_, ix)| ix);
                let mut own = None;
                if rec.a != 0 {
                    let ix = self.invocations.len() as u32;
                    self.invocations.push(Invocation {
                        stream,
                        id: rec.a,
                        site: rec.site,
                        caller,
                        entered_in: task,
                        ended_in: None,
                        outcome: Outcome::Running,
                        rejected: None,
                        callees: Vec::new(),
                        children: Vec::new(),
                    });
                    self.by_id.insert((stream, rec.a), ix);
                    own = Some(ix);
                }
                if let Some(caller) = caller {
                    let parent = &mut self.invocations[caller as usize];
                    if !parent.callees.contains(&rec.site) {
                        parent.callees.push(rec.site);
                    }
                    if let Some(ix) = own {
                        parent.children.push(ix);
                    }
                }
                frames.stack.push((rec.site, own));
            }
            Kind::FnExit | Kind::FnThrow => {
                // Pop to the frame this record ends; a frame whose exit was lost goes with it. A
                // throw is always followed by the frame's exit (the plugin's finally): only the
                // exit pops, or a recursive caller of the same function would go with it.
                if rec.kind == Kind::FnExit {
                    if let Some(at) = frames.stack.iter().rposition(|&(site, _)| site == rec.site) {
                        frames.stack.truncate(at);
                    }
                }
                if rec.a != 0 {
                    if let Some(&ix) = self.by_id.get(&(stream, rec.a)) {
                        let invocation = &mut self.invocations[ix as usize];
                        // The runtime writes an exit after a throw too: the throw says how it ended.
                        if invocation.outcome != Outcome::Threw {
                            invocation.ended_in = Some(task);
                            invocation.outcome =
                                if rec.kind == Kind::FnThrow { Outcome::Threw } else { Outcome::Returned };
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Awaits that have not resumed (yet): (invocation, the task that suspended, the await site),
    /// in invocation order.
    pub fn pending_awaits(&self) -> Vec<(u32, TaskIx, u32)> {
        let mut pending: Vec<_> =
            self.suspended.iter().map(|(&ix, &(task, site))| (ix, task, site)).collect();
        pending.sort_unstable();
        pending
    }

    pub fn invocations(&self) -> &[Invocation] {
        &self.invocations
    }

    /// Every cascade, surfaced failure first, in the order the failures surfaced.
    ///
    /// # Complexity
    /// O(invocations + the callees of returned runs), once per call.
    pub fn cascades(&self) -> Vec<FailureStep> {
        // What returned runs of each function called: the baseline a failed run is compared with.
        let mut called_by_returned: FastMap<(StreamId, u32), Vec<u32>> = FastMap::default();
        for inv in self.invocations.iter().filter(|i| i.outcome == Outcome::Returned) {
            let seen = called_by_returned.entry((inv.stream, inv.site)).or_default();
            for &callee in &inv.callees {
                if !seen.contains(&callee) {
                    seen.push(callee);
                }
            }
        }
        let mut surfaced: Vec<u32> = (0..self.invocations.len() as u32)
            .filter(|&ix| {
                let inv = &self.invocations[ix as usize];
                inv.outcome == Outcome::Threw
                    && inv.caller.is_none_or(|c| self.invocations[c as usize].outcome != Outcome::Threw)
            })
            .collect();
        surfaced.sort_by_key(|&ix| self.invocations[ix as usize].ended_in);

        let mut steps = Vec::new();
        for (failure, &top) in surfaced.iter().enumerate() {
            let mut current = Some(top);
            let mut depth = 0;
            while let Some(ix) = current {
                let inv = &self.invocations[ix as usize];
                let never_called = called_by_returned
                    .get(&(inv.stream, inv.site))
                    .map(|baseline| baseline.iter().copied().filter(|s| !inv.callees.contains(s)).collect())
                    .unwrap_or_default();
                steps.push(FailureStep { failure: failure as u32, depth, invocation: ix, never_called });
                current = inv.rejected.and_then(|rejected| self.thrower(inv, rejected));
                depth += 1;
            }
        }
        steps
    }

    /// The call started by `inv` whose throw rejected its await: the last child that threw before
    /// the rejected continuation began.
    fn thrower(&self, inv: &Invocation, rejected: RejectedAwait) -> Option<u32> {
        inv.children.iter().rev().copied().find(|&child| {
            let c = &self.invocations[child as usize];
            c.outcome == Outcome::Threw && c.ended_in.is_some_and(|t| t <= rejected.task)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LocalTaskId;
    use crate::testing::RecordWriter;
    use crate::trace::Trace;

    const S: StreamId = StreamId(1);
    const HANDLER: u32 = 1;
    const PROCESS: u32 = 2;
    const SHIP: u32 = 3;
    const FINALIZE: u32 = 4;
    const AWAIT_PROCESS: u32 = 11;
    const AWAIT_ALL: u32 = 12;
    const AWAIT_RACE: u32 = 13;
    const TIMEOUT_CALLBACK: u32 = 20;

    /// One request: handler (invocation h) awaits processOrder (p), which awaits shipping (s).
    /// With `slow`, shipping's await is rejected by a timer callback and the error climbs back up;
    /// otherwise every call returns and processOrder calls finalizeOrder. Tasks from `task`.
    fn request(w: &mut RecordWriter, task: u32, h: u64, slow: bool) {
        let (p, s, f) = (h + 1, h + 2, h + 3);
        w.callback(task, HANDLER, 0.0);
        w.push(Kind::FnEnter, task, HANDLER, h);
        w.push(Kind::FnEnter, task, PROCESS, p);
        w.push(Kind::FnEnter, task, SHIP, s);
        w.push(Kind::AwaitSuspend, task, AWAIT_RACE, s);
        w.push(Kind::AwaitSuspend, task, AWAIT_ALL, p);
        w.push(Kind::AwaitSuspend, task, AWAIT_PROCESS, h);
        if slow {
            w.callback(task + 1, TIMEOUT_CALLBACK, 100.0);
            w.push(Kind::FnEnter, task + 1, TIMEOUT_CALLBACK, 0);
            w.push(Kind::FnExit, task + 1, TIMEOUT_CALLBACK, 0);
            w.record(Kind::AwaitResume, FLAG_REJECTED, task + 2, AWAIT_RACE, s, 100.5f64.to_bits());
            w.push(Kind::FnThrow, task + 2, SHIP, s);
            w.push(Kind::FnExit, task + 2, SHIP, s); // the runtime's exit after a throw
            w.record(Kind::AwaitResume, FLAG_REJECTED, task + 3, AWAIT_ALL, p, 101f64.to_bits());
            w.push(Kind::FnThrow, task + 3, PROCESS, p);
            w.record(Kind::AwaitResume, FLAG_REJECTED, task + 4, AWAIT_PROCESS, h, 102f64.to_bits());
            w.push(Kind::FnThrow, task + 4, HANDLER, h);
        } else {
            w.resume(task + 2, AWAIT_RACE, s, 10.0);
            w.push(Kind::FnExit, task + 2, SHIP, s);
            w.resume(task + 3, AWAIT_ALL, p, 11.0);
            w.push(Kind::FnEnter, task + 3, FINALIZE, f);
            w.push(Kind::FnExit, task + 3, FINALIZE, f);
            w.push(Kind::FnExit, task + 3, PROCESS, p);
            w.resume(task + 4, AWAIT_PROCESS, h, 12.0);
            w.push(Kind::FnExit, task + 4, HANDLER, h);
        }
    }

    #[test]
    fn a_timeout_cascade_surfaces_in_the_handler_and_is_rooted_in_the_rejected_await() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        request(&mut w, 10, 100, false);
        request(&mut w, 20, 200, true);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let failures = trace.failures();
        let steps = failures.cascades();
        let sites: Vec<u32> =
            steps.iter().map(|s| failures.invocations()[s.invocation as usize].site).collect();
        assert_eq!(sites, vec![HANDLER, PROCESS, SHIP], "{steps:#?}");
        assert!(steps.iter().all(|s| s.failure == 0));
        assert_eq!(steps.iter().map(|s| s.depth).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(steps[1].never_called, vec![FINALIZE]);
        assert!(steps[0].never_called.is_empty() && steps[2].never_called.is_empty());

        let root = &failures.invocations()[steps[2].invocation as usize];
        let rejected = root.rejected.unwrap();
        assert_eq!(rejected.site, AWAIT_RACE);
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(rejected.task, t(22));
        assert_eq!(rejected.suspended_in, Some(t(20)));
        assert_eq!(rejected.after, Some(t(21)), "the timer callback ran just before");
        assert_eq!(rejected.after_entered, TIMEOUT_CALLBACK, "the callback it ran");
    }

    #[test]
    fn a_throw_and_its_exit_end_one_frame_so_a_recursive_caller_keeps_its_calls() {
        // Async H (7) calls itself (8), which throws at once and is caught; H then calls G (9).
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.callback(2, HANDLER, 0.0);
        w.push(Kind::FnEnter, 2, HANDLER, 7);
        w.push(Kind::FnEnter, 2, HANDLER, 8);
        w.push(Kind::FnThrow, 2, HANDLER, 8);
        w.push(Kind::FnExit, 2, HANDLER, 8);
        w.push(Kind::FnEnter, 2, SHIP, 9);
        w.push(Kind::FnExit, 2, SHIP, 9);
        w.push(Kind::FnExit, 2, HANDLER, 7);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let invocations = trace.failures().invocations();
        let g = invocations.iter().find(|i| i.id == 9).unwrap();
        let outer = invocations.iter().position(|i| i.id == 7).unwrap() as u32;
        assert_eq!(g.caller, Some(outer), "G was called by the outer H");
    }

    #[test]
    fn a_caught_error_surfaces_where_it_was_thrown_and_nothing_fails_without_a_throw() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        request(&mut w, 10, 100, false);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        assert!(trace.failures().cascades().is_empty());

        // The handler catches processOrder's error and returns: the failure surfaces in processOrder.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.callback(2, HANDLER, 0.0);
        w.push(Kind::FnEnter, 2, HANDLER, 7);
        w.push(Kind::FnEnter, 2, PROCESS, 8);
        w.push(Kind::FnThrow, 2, PROCESS, 8);
        w.push(Kind::AwaitSuspend, 2, AWAIT_PROCESS, 7);
        w.record(Kind::AwaitResume, FLAG_REJECTED, 3, AWAIT_PROCESS, 7, 1f64.to_bits());
        w.push(Kind::FnExit, 3, HANDLER, 7);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let failures = trace.failures();
        let steps = failures.cascades();
        assert_eq!(steps.len(), 1);
        let surfaced = &failures.invocations()[steps[0].invocation as usize];
        assert_eq!((surfaced.site, surfaced.rejected), (PROCESS, None), "it threw itself: the root");
    }
}
