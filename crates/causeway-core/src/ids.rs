//! Typed ids: a task index is not a chain index is not a stream id.

/// A recording stream: one thread of one process, with its own ring buffer and sequence numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

/// A task as numbered by the runtime that recorded it; unique only within its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalTaskId(pub u32);

/// A task's position in the core's task table: dense, in order of first appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskIx(pub u32);

/// A chain: a sequence of tasks each of which happens before the next. Vector clocks have one
/// component per chain, so their width is the width of concurrency, not the number of tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainIx(pub u32);

impl TaskIx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl ChainIx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
