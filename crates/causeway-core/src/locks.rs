//! Flag-style locks: a location a program uses as a lock (`if (busy) return; busy = true; await
//! ...; busy = false`), recognised from its accesses so that its own races, and the races of the
//! accesses it protects, are not reported as harmful (docs/detectors.md, "Benign shapes").
//!
//! JavaScript runs a task without interruption, so a read of a flag followed, in the same task,
//! by a write that sets it is an atomic test-and-set: no other flow can set the flag in between.
//! A location is a *flag lock* when every access of it, in recorded order, keeps this discipline:
//!
//! * every value read or written is `true`, `false`, `undefined` or `null` (the flag's truthiness
//!   is what a lock tests);
//! * an *acquire* writes `true` right after a read, in the same task and with no other access of
//!   the location between, that saw a falsy value; the lock is then *held*;
//! * a *release* writes a falsy value while the lock is held, in the acquiring task or in a task
//!   after it (the flow that acquired it, past its awaits);
//! * while the lock is held, every read sees `true`, and nothing else writes;
//! * while it is free, a falsy value may be written (initialisation, a reset); a read of `true`
//!   cannot happen, since only an acquire sets it;
//! * no update (`+=`) and no `delete`;
//! * and at least one acquire was released.
//!
//! Between an acquire and its release (a *critical section*) no other flow can acquire the lock,
//! in this run or in any other order of the same tasks, as long as flows keep to the discipline.
//! So the flag's own races are the lock working, and two accesses of another location made in
//! two different critical sections of one lock cannot interleave.
//!
//! Memory: two words per location, plus, for a location that is still a lock candidate, a few
//! words and one section per acquire. Work per access: O(1).

use crate::access::{Access, AccessKind};
use crate::graph::CausalGraph;
use crate::ids::TaskIx;
use crate::record::{ValueTag, FLAG_DELETE};

/// One point of a location's history: an access's task and its position in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub task: TaskIx,
    pub ord: u64,
}

impl Point {
    fn of(access: &Access) -> Point {
        Point { task: access.task, ord: access.ord }
    }

    /// Is `access` after this point: later in the same task, or in a task after this one?
    fn precedes(self, graph: &CausalGraph, access: &Access) -> bool {
        if access.task == self.task {
            access.ord > self.ord
        } else {
            graph.happens_before(self.task, access.task)
        }
    }

    /// Is `access` before this point: earlier in the same task, or in a task before this one?
    fn follows(self, graph: &CausalGraph, access: &Access) -> bool {
        if access.task == self.task {
            access.ord < self.ord
        } else {
            graph.happens_before(access.task, self.task)
        }
    }
}

/// A critical section: from an acquire to its release (`None` while still held).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub acquire: Point,
    pub release: Option<Point>,
}

impl Section {
    /// Was `access` made while this section held the lock, by the flow that held it?
    pub fn contains(&self, graph: &CausalGraph, access: &Access) -> bool {
        self.acquire.precedes(graph, access) && self.release.is_none_or(|r| r.follows(graph, access))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    /// Every access so far kept the discipline; the lock is free.
    #[default]
    Free,
    /// Every access so far kept the discipline; the last section holds the lock.
    Held,
    /// An access broke the discipline: not a lock.
    Broken,
}

/// What a location's accesses say about it being a flag lock. Small while the location is not
/// one (most locations hold numbers, objects or strings from their first access on): the state,
/// and the rest boxed once a flag value is seen.
#[derive(Clone, Debug, Default)]
pub struct FlagLock {
    state: State,
    candidate: Option<Box<Candidate>>,
}

#[derive(Clone, Debug, Default)]
struct Candidate {
    /// The previous access of the location, when it was a read of a falsy value.
    falsy_read: Option<Point>,
    /// Whether an acquire was released.
    released: bool,
    sections: Vec<Section>,
}

impl FlagLock {
    /// Takes the next access of the location, in recorded order.
    ///
    /// # Complexity
    /// O(1); allocates only when an acquire outgrows the sections' capacity.
    pub fn observe(&mut self, graph: &CausalGraph, access: &Access) {
        if self.state == State::Broken {
            return;
        }
        let truthy = match access.value_tag() {
            ValueTag::True => true,
            ValueTag::False | ValueTag::Undefined | ValueTag::Null => false,
            _ => return self.broken(),
        };
        if access.flags & FLAG_DELETE != 0 {
            return self.broken();
        }
        let candidate = self.candidate.get_or_insert_with(Box::default);
        let previous_falsy_read = candidate.falsy_read.take();
        match (access.kind, self.state, truthy) {
            (AccessKind::Read, State::Free, false) => candidate.falsy_read = Some(Point::of(access)),
            (AccessKind::Read, State::Held, true) => {}
            (AccessKind::Write, State::Free, true) => match previous_falsy_read {
                Some(read) if read.task == access.task => {
                    self.state = State::Held;
                    candidate.sections.push(Section { acquire: Point::of(access), release: None });
                }
                _ => self.broken(),
            },
            (AccessKind::Write, State::Free, false) => {}
            (AccessKind::Write, State::Held, false) => {
                let section = candidate.sections.last_mut().expect("a held lock has a section");
                if section.acquire.task == access.task
                    || graph.happens_before(section.acquire.task, access.task)
                {
                    section.release = Some(Point::of(access));
                    self.state = State::Free;
                    candidate.released = true;
                } else {
                    self.broken();
                }
            }
            _ => self.broken(),
        }
    }

    fn broken(&mut self) {
        self.state = State::Broken;
        self.candidate = None;
    }

    /// Have the location's accesses kept to the discipline, with at least one acquire released?
    pub fn is_lock(&self) -> bool {
        self.state != State::Broken && self.candidate.as_ref().is_some_and(|c| c.released)
    }

    /// The index of the critical section `access` was made in, if the location is a lock.
    ///
    /// # Complexity
    /// O(sections).
    pub fn section_of(&self, graph: &CausalGraph, access: &Access) -> Option<usize> {
        if !self.is_lock() {
            return None;
        }
        self.candidate.as_ref()?.sections.iter().position(|s| s.contains(graph, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::access;

    fn flag(task: u32, ord: u64, kind: AccessKind, tag: ValueTag) -> Access {
        Access { flags: tag as u8, ..access(task, ord, 1, kind) }
    }

    /// A graph of `n` tasks, each caused by the one before (one flow awaiting in turn).
    fn line(n: u32) -> CausalGraph {
        let mut g = CausalGraph::new();
        let mut previous = None;
        for _ in 0..n {
            let causes: Vec<_> = previous.into_iter().map(|p| (p, crate::graph::EdgeKind::Spawn)).collect();
            previous = Some(g.add_task(&causes));
        }
        g
    }

    #[test]
    fn a_test_and_set_released_later_in_the_flow_is_a_lock() {
        let g = line(3);
        let mut lock = FlagLock::default();
        lock.observe(&g, &flag(0, 1, AccessKind::Read, ValueTag::Undefined));
        lock.observe(&g, &flag(0, 2, AccessKind::Write, ValueTag::True));
        assert!(!lock.is_lock(), "held, never released yet");
        lock.observe(&g, &flag(1, 3, AccessKind::Read, ValueTag::True));
        lock.observe(&g, &flag(2, 4, AccessKind::Write, ValueTag::False));
        assert!(lock.is_lock());
        let inside = access(1, 5, 9, AccessKind::Read);
        assert_eq!(lock.section_of(&g, &Access { ord: 3, ..inside }), Some(0));
        assert_eq!(lock.section_of(&g, &Access { task: TaskIx(0), ord: 0, ..inside }), None);
    }

    #[test]
    fn a_check_and_set_split_by_an_await_is_not_a_lock() {
        let g = line(3);
        let mut lock = FlagLock::default();
        lock.observe(&g, &flag(0, 1, AccessKind::Read, ValueTag::False));
        lock.observe(&g, &flag(1, 2, AccessKind::Write, ValueTag::True));
        lock.observe(&g, &flag(2, 3, AccessKind::Write, ValueTag::False));
        assert!(!lock.is_lock());
    }

    #[test]
    fn numbers_updates_and_a_release_by_another_flow_are_not_a_lock() {
        let mut g = CausalGraph::new();
        let a = g.add_task(&[]);
        let b = g.add_task(&[]);
        let mut lock = FlagLock::default();
        lock.observe(&g, &flag(a.0, 1, AccessKind::Read, ValueTag::False));
        lock.observe(&g, &flag(a.0, 2, AccessKind::Write, ValueTag::True));
        lock.observe(&g, &flag(b.0, 3, AccessKind::Write, ValueTag::False));
        assert!(!lock.is_lock(), "released by a task unordered with the acquire");

        let g = line(2);
        let mut numbers = FlagLock::default();
        numbers.observe(&g, &flag(0, 1, AccessKind::Read, ValueTag::Number));
        numbers.observe(&g, &flag(0, 2, AccessKind::Write, ValueTag::Number));
        assert!(!numbers.is_lock());
        let mut update = FlagLock::default();
        update.observe(&g, &flag(0, 1, AccessKind::Read, ValueTag::False));
        update.observe(&g, &flag(0, 2, AccessKind::Update, ValueTag::True));
        update.observe(&g, &flag(1, 3, AccessKind::Write, ValueTag::False));
        assert!(!update.is_lock());
    }
}
