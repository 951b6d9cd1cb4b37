//! *Resolve* edges: which tasks settled the promises an `await` waited for.
//!
//! The runtime records no promise identities (that would cost a lookup per await). The core
//! infers them from the call structure it already sees: an `await` waits for the promises of the
//! async functions its frame started since it last resumed — directly, or through synchronous
//! helpers (`Promise.all(items.map((i) => save(i)))`). When the continuation starts, each of those
//! invocations that has settled (its `FnExit` or `FnThrow` was seen) caused it, from the task in
//! which it settled.
//!
//! The inference can only add edges between tasks whose order the recording already shows (a
//! settle is recorded before the continuation it enables), so it never orders two tasks the other
//! way round. It over-approximates where an await did not in fact wait for every promise its
//! frame started (`Promise.race`, a promise started and awaited later): that hides races rather
//! than inventing them, the safe direction for a race detector.

use crate::hash::{FastMap, StreamMap};
use crate::ids::{StreamId, TaskIx};
use crate::record::{Kind, Record};

/// A function running in the current task: its invocation id (0 for a synchronous function) and
/// where its started async invocations begin in [`StreamCalls::started`].
#[derive(Clone, Copy, Debug)]
struct Frame {
    invocation: u64,
    started_from: usize,
}

/// The call structure of the task currently running in one stream.
#[derive(Default)]
struct StreamCalls {
    /// The task the frames belong to. A new task starts with no frames, even when its starting
    /// record was dropped, so it never inherits the calls of the task before it.
    task: Option<TaskIx>,
    frames: Vec<Frame>,
    /// Async invocations started in the current task, innermost frame last.
    started: Vec<u64>,
}

#[derive(Default)]
pub struct SettleTracker {
    streams: StreamMap<StreamCalls>,
    /// Suspended invocation -> the async invocations its `await` waits for.
    awaiting: FastMap<(StreamId, u64), Vec<u64>>,
    /// Invocations some pending `await` waits for, until that await resumes.
    awaited: FastMap<(StreamId, u64), ()>,
    /// Awaited invocation -> the task in which its promise settled. Only awaited invocations are
    /// kept, and each leaves when the await resumes, so the map holds what is in flight.
    settled_in: FastMap<(StreamId, u64), TaskIx>,
}

impl SettleTracker {
    pub fn new() -> SettleTracker {
        SettleTracker::default()
    }

    /// The tasks that settled what the continuation of `invocation` awaited, appended to `out`.
    /// Call when its `AwaitResume` arrives, before [`SettleTracker::on_record`] sees it.
    pub fn resolvers(&mut self, stream: StreamId, invocation: u64, out: &mut Vec<TaskIx>) {
        if let Some(awaited) = self.awaiting.remove(&(stream, invocation)) {
            for callee in awaited {
                self.awaited.remove(&(stream, callee));
                if let Some(task) = self.settled_in.remove(&(stream, callee)) {
                    if !out.contains(&task) {
                        out.push(task);
                    }
                }
            }
        }
    }

    /// Follows the call structure through one record of `stream`, written in `task`.
    pub fn on_record(&mut self, stream: StreamId, task: TaskIx, rec: &Record) {
        if matches!(rec.kind, Kind::Read | Kind::Write)
            || rec.kind.is_exchange_step()
            || rec.kind.is_annotation()
        {
            return;
        }
        let calls = self.streams.get_or_default(stream);
        // A span's tasks (`causeway.trace`) continue one synchronous run: its call structure too.
        let same_run = matches!(rec.kind, Kind::SpanBegin | Kind::SpanEnd);
        if calls.task != Some(task) && !same_run {
            calls.task = Some(task);
            calls.frames.clear();
            calls.started.clear();
        }
        match rec.kind {
            Kind::TaskBegin | Kind::HttpRequest | Kind::CallbackBegin => {}
            Kind::SpanBegin | Kind::SpanEnd => calls.task = Some(task),
            Kind::AwaitResume => calls.frames.push(Frame { invocation: rec.a, started_from: 0 }),
            Kind::FnEnter => {
                if rec.a != 0 {
                    calls.started.push(rec.a);
                }
                calls.frames.push(Frame { invocation: rec.a, started_from: calls.started.len() });
            }
            Kind::FnExit | Kind::FnThrow => {
                // An invocation awaited later (its promise kept, then awaited) is not followed.
                if rec.a != 0 && self.awaited.contains_key(&(stream, rec.a)) {
                    self.settled_in.insert((stream, rec.a), task);
                }
                // What the returning function started stays with its caller, which received
                // the promises (or a value built from them). A throw is always followed by the
                // frame's exit (the plugin's finally): only the exit pops.
                if rec.kind == Kind::FnExit {
                    calls.frames.pop();
                }
            }
            Kind::AwaitSuspend => {
                let frame = calls.frames.iter().rposition(|f| f.invocation == rec.a);
                let from = frame.map_or(0, |i| calls.frames[i].started_from);
                let awaited = calls.started.split_off(from.min(calls.started.len()));
                if let Some(i) = frame {
                    calls.frames.truncate(i);
                }
                for &callee in &awaited {
                    self.awaited.insert((stream, callee), ());
                }
                self.awaiting.insert((stream, rec.a), awaited);
            }
            _ => unreachable!("accesses and exchange steps returned above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LocalTaskId;

    fn rec(kind: Kind, a: u64) -> Record {
        Record { kind, flags: 0, seq: 0, task: LocalTaskId(0), site: 0, a, b: 0 }
    }

    const S: StreamId = StreamId(1);

    #[test]
    fn an_await_waits_for_the_async_calls_its_frame_started_through_sync_helpers() {
        let mut calls = SettleTracker::new();
        let root = TaskIx(0);
        calls.on_record(S, root, &rec(Kind::TaskBegin, 0));
        calls.on_record(S, root, &rec(Kind::FnEnter, 10)); // async main
        calls.on_record(S, root, &rec(Kind::FnEnter, 0)); // items.map(...) callback
        calls.on_record(S, root, &rec(Kind::FnEnter, 11)); // save(a)
        calls.on_record(S, root, &rec(Kind::AwaitSuspend, 11));
        calls.on_record(S, root, &rec(Kind::FnExit, 0));
        calls.on_record(S, root, &rec(Kind::FnEnter, 12)); // save(b), settles at once
        calls.on_record(S, root, &rec(Kind::FnExit, 12));
        calls.on_record(S, root, &rec(Kind::AwaitSuspend, 10)); // await Promise.all(...)
        calls.on_record(S, TaskIx(1), &rec(Kind::AwaitResume, 11));
        calls.on_record(S, TaskIx(1), &rec(Kind::FnExit, 11));

        let mut out = Vec::new();
        calls.resolvers(S, 10, &mut out);
        // save(b) settled in the awaiting task itself, which the Await edge already covers.
        assert_eq!(out, vec![TaskIx(1)]);
    }

    #[test]
    fn a_task_whose_start_was_dropped_does_not_inherit_the_previous_tasks_calls() {
        let mut calls = SettleTracker::new();
        calls.on_record(S, TaskIx(0), &rec(Kind::TaskBegin, 0));
        calls.on_record(S, TaskIx(0), &rec(Kind::FnEnter, 100));
        calls.on_record(S, TaskIx(0), &rec(Kind::AwaitSuspend, 100));
        // Task 1's TaskBegin was dropped: its first record is this await.
        calls.on_record(S, TaskIx(1), &rec(Kind::AwaitSuspend, 300));
        calls.on_record(S, TaskIx(2), &rec(Kind::AwaitResume, 100));
        calls.on_record(S, TaskIx(2), &rec(Kind::FnExit, 100));
        let mut out = Vec::new();
        calls.resolvers(S, 300, &mut out);
        assert!(out.is_empty(), "invocation 100 was started by task 0, not awaited by task 1");
    }

    #[test]
    fn settled_invocations_are_forgotten_once_their_await_resumes() {
        let mut calls = SettleTracker::new();
        calls.on_record(S, TaskIx(0), &rec(Kind::TaskBegin, 0));
        calls.on_record(S, TaskIx(0), &rec(Kind::FnEnter, 5));
        calls.on_record(S, TaskIx(0), &rec(Kind::AwaitSuspend, 5));
        calls.on_record(S, TaskIx(0), &rec(Kind::AwaitSuspend, 9));
        calls.resolvers(S, 5, &mut Vec::new()); // as Trace does for every AwaitResume
        calls.on_record(S, TaskIx(1), &rec(Kind::AwaitResume, 5));
        calls.on_record(S, TaskIx(1), &rec(Kind::FnExit, 5));
        // Fire and forget: never awaited, so never kept.
        calls.on_record(S, TaskIx(1), &rec(Kind::FnEnter, 6));
        calls.on_record(S, TaskIx(1), &rec(Kind::AwaitSuspend, 6));
        let mut out = Vec::new();
        calls.resolvers(S, 6, &mut out); // as Trace does for every AwaitResume
        assert!(out.is_empty());
        calls.on_record(S, TaskIx(3), &rec(Kind::AwaitResume, 6));
        calls.on_record(S, TaskIx(3), &rec(Kind::FnExit, 6));
        assert_eq!(calls.settled_in.len(), 1);
        calls.resolvers(S, 9, &mut out);
        assert_eq!(out, vec![TaskIx(1)]);
        assert!(calls.settled_in.is_empty() && calls.awaited.is_empty() && calls.awaiting.is_empty());
    }

    #[test]
    fn a_callee_that_has_not_settled_adds_nothing() {
        let mut calls = SettleTracker::new();
        calls.on_record(S, TaskIx(0), &rec(Kind::TaskBegin, 0));
        calls.on_record(S, TaskIx(0), &rec(Kind::FnEnter, 5));
        calls.on_record(S, TaskIx(0), &rec(Kind::AwaitSuspend, 5));
        calls.on_record(S, TaskIx(0), &rec(Kind::AwaitSuspend, 9)); // top-level await of 5
        let mut out = Vec::new();
        calls.resolvers(S, 9, &mut out);
        assert!(out.is_empty());
    }
}
