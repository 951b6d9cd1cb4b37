//! The causal DAG over tasks, with chain-indexed vector clocks.
//!
//! Tasks are added with all their causes already present, so every edge points from an older
//! task to the newly added one: the graph cannot be made cyclic through this API.

use crate::clock::{Clock, VectorClock};
use crate::ids::{ChainIx, TaskIx};

/// Why one task happens before another (DESIGN.md, "Happens-before in Node.js").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EdgeKind {
    /// The task reached an `await` whose continuation is the other task (a spawn edge).
    Await = 1,
    /// The task settled a promise the other task's `await` waited for (a resolve edge; see
    /// settle.rs for how the core infers which promises an await waited for).
    Resolve = 2,
    /// The task is the stream's first (the program's start), the other an event-loop callback
    /// with no recorded cause: every such callback runs after the start has run to completion.
    Startup = 3,
    /// The task sent a message (an HTTP request) whose handling, in another process, is the
    /// other task. Declared by whoever loads several recordings into one trace
    /// ([`crate::trace::Trace::expect_message`]).
    Message = 4,
    /// The task sent the response to an HTTP request that the other task, in the process that
    /// sent the request, continues after (the continuation after `await fetch(...)`, or the
    /// `http.request` response callback). Declared like `Message`
    /// ([`crate::trace::Trace::expect_response`]).
    Response = 5,
    /// The task scheduled a callback (a timer, an immediate, a `nextTick`, a microtask, a promise
    /// reaction) or started a span (`causeway.trace`) that the other task runs; or it called an
    /// async generator's `next()` or `throw()` that resumed the generator in the other task
    /// (`FLAG_CALLED`).
    Spawn = 6,
    /// Both tasks ran callbacks of one queue that Node runs in registration order, the first's
    /// registered before the other's (or the other is the next firing of the same interval).
    Fifo = 7,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: TaskIx,
    pub to: TaskIx,
    pub kind: EdgeKind,
}

#[derive(Clone, Debug)]
struct TaskNode {
    chain: ChainIx,
    /// 1-based position of the task in its chain.
    position: u32,
    /// Does any task name this one as a cause? Once true, tasks that happen after this one exist,
    /// which the race detector needs to know (see `races.rs`, "Arrival order").
    has_successors: bool,
    /// The task's clock: `clock_len` components from `clock_start` in `CausalGraph::clocks`.
    clock_start: u32,
    clock_len: u32,
}

#[derive(Clone, Debug, Default)]
pub struct CausalGraph {
    tasks: Vec<TaskNode>,
    /// Every task's clock, one after another (one vector rather than one per task: no
    /// allocation per task, and no vector header and allocator overhead kept per task).
    clocks: Vec<(ChainIx, u32)>,
    /// The new task's clock while `add_task` builds it.
    scratch: VectorClock,
    edges: Vec<Edge>,
    /// The last task of each chain.
    chain_tails: Vec<TaskIx>,
}

impl CausalGraph {
    pub fn new() -> CausalGraph {
        CausalGraph::default()
    }

    /// Adds a task caused by `causes` (each an existing task and the kind of edge) and returns it.
    ///
    /// The task continues the chain of the first cause that is still its chain's last task, so a
    /// sequence of awaits stays on one chain; otherwise it starts a new chain.
    ///
    /// # Panics
    /// If a cause is not a task of this graph.
    ///
    /// # Complexity
    /// O(number of causes x clock width).
    pub fn add_task(&mut self, causes: &[(TaskIx, EdgeKind)]) -> TaskIx {
        let ix = TaskIx(self.tasks.len() as u32);
        let mut clock = std::mem::take(&mut self.scratch);
        clock.clear();
        let mut continued: Option<(ChainIx, u32)> = None;
        for &(cause, kind) in causes {
            let node = &mut self.tasks[cause.index()];
            node.has_successors = true;
            let node = &self.tasks[cause.index()];
            clock.join(self.clock_of(cause));
            if continued.is_none() && self.chain_tails[node.chain.index()] == cause {
                continued = Some((node.chain, node.position + 1));
            }
            self.edges.push(Edge { from: cause, to: ix, kind });
        }
        let (chain, position) = match continued {
            Some(found) => found,
            None => {
                self.chain_tails.push(ix);
                (ChainIx(self.chain_tails.len() as u32 - 1), 1)
            }
        };
        self.chain_tails[chain.index()] = ix;
        clock.set(chain, position);
        let clock_start = self.clocks.len() as u32;
        self.clocks.extend_from_slice(clock.entries());
        let clock_len = clock.width() as u32;
        self.scratch = clock;
        self.tasks.push(TaskNode { chain, position, has_successors: false, clock_start, clock_len });
        ix
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    pub fn chain_count(&self) -> usize {
        self.chain_tails.len()
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn chain_of(&self, task: TaskIx) -> ChainIx {
        self.tasks[task.index()].chain
    }

    pub fn position_of(&self, task: TaskIx) -> u32 {
        self.tasks[task.index()].position
    }

    /// Has a task been added with `task` among its causes?
    pub fn has_successors(&self, task: TaskIx) -> bool {
        self.tasks[task.index()].has_successors
    }

    pub fn clock_of(&self, task: TaskIx) -> Clock<'_> {
        let node = &self.tasks[task.index()];
        let start = node.clock_start as usize;
        Clock::of(&self.clocks[start..start + node.clock_len as usize])
    }

    /// Does `a` happen strictly before `b`?
    ///
    /// # Complexity
    /// O(1).
    pub fn happens_before(&self, a: TaskIx, b: TaskIx) -> bool {
        if a == b {
            return false;
        }
        let node = &self.tasks[a.index()];
        self.clock_of(b).get(node.chain) >= node.position
    }

    /// Are `a` and `b` distinct and unordered by happens-before?
    pub fn concurrent(&self, a: TaskIx, b: TaskIx) -> bool {
        a != b && !self.happens_before(a, b) && !self.happens_before(b, a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    #[test]
    fn a_sequence_of_awaits_stays_on_one_chain() {
        let mut g = CausalGraph::new();
        let t0 = g.add_task(&[]);
        let t1 = g.add_task(&[(t0, EdgeKind::Await)]);
        let t2 = g.add_task(&[(t1, EdgeKind::Await)]);
        assert_eq!(g.chain_count(), 1);
        assert_eq!(g.position_of(t2), 3);
        assert!(g.happens_before(t0, t2));
        assert!(!g.happens_before(t2, t0));
    }

    #[test]
    fn two_continuations_of_one_task_are_concurrent() {
        let mut g = CausalGraph::new();
        let root = g.add_task(&[]);
        let a1 = g.add_task(&[(root, EdgeKind::Await)]);
        let b1 = g.add_task(&[(root, EdgeKind::Await)]);
        let a2 = g.add_task(&[(a1, EdgeKind::Await)]);
        let b2 = g.add_task(&[(b1, EdgeKind::Await)]);
        assert_eq!(g.chain_count(), 2);
        for (x, y) in [(a1, b1), (a1, b2), (a2, b1), (a2, b2)] {
            assert!(g.concurrent(x, y), "{x:?} and {y:?} should be concurrent");
        }
        assert!(g.happens_before(root, b2));
        assert!(!g.concurrent(a1, a1));
        assert!(g.has_successors(root) && g.has_successors(a1));
        assert!(!g.has_successors(a2) && !g.has_successors(b2));
    }

    #[test]
    fn a_join_sees_both_branches() {
        let mut g = CausalGraph::new();
        let root = g.add_task(&[]);
        let a = g.add_task(&[(root, EdgeKind::Await)]);
        let b = g.add_task(&[(root, EdgeKind::Await)]);
        let join = g.add_task(&[(a, EdgeKind::Await), (b, EdgeKind::Await)]);
        assert!(g.happens_before(a, join) && g.happens_before(b, join));
        assert_eq!(g.edges().len(), 4);
    }

    /// Plain reachability over the recorded edges: the reference the clocks must agree with.
    fn reachable(g: &CausalGraph, from: TaskIx, to: TaskIx) -> bool {
        let mut seen = vec![false; g.task_count()];
        let mut stack = vec![from];
        while let Some(t) = stack.pop() {
            for e in g.edges().iter().filter(|e| e.from == t) {
                if e.to == to {
                    return true;
                }
                if !seen[e.to.index()] {
                    seen[e.to.index()] = true;
                    stack.push(e.to);
                }
            }
        }
        false
    }

    #[test]
    fn happens_before_agrees_with_reachability_on_random_dags() {
        let mut rng = Rng::new(0x5eed);
        for _ in 0..200 {
            let mut g = CausalGraph::new();
            let size = 1 + rng.below(40) as usize;
            for i in 0..size {
                let mut causes = Vec::new();
                if i > 0 {
                    for _ in 0..rng.below(4) {
                        let cause = TaskIx(rng.below(i as u64) as u32);
                        if !causes.iter().any(|&(c, _)| c == cause) {
                            causes.push((cause, EdgeKind::Await));
                        }
                    }
                }
                g.add_task(&causes);
            }
            for a in 0..size as u32 {
                for b in 0..size as u32 {
                    let (a, b) = (TaskIx(a), TaskIx(b));
                    assert_eq!(g.happens_before(a, b), reachable(&g, a, b), "{a:?} -> {b:?}");
                }
            }
        }
    }
}
