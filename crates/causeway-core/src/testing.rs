//! Helpers shared by the unit tests.

/// A small deterministic generator (xorshift64*), so property tests repeat exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crate::access::{Access, AccessKind};
use crate::ids::{LocalTaskId, TaskIx};
use crate::record::{encode, Kind, Queue, Record, ValueTag, FLAG_UPDATE};

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting each thread's allocations so that a test can check that a
/// steady state allocates nothing (tests run on threads of their own).
struct CountingAllocator;

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations (and reallocations) the calling thread has made so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// An access of `kind` at `site` in task `task`, the `ord`-th record of its stream, with no
/// captured value.
pub fn access(task: u32, ord: u64, site: u32, kind: AccessKind) -> Access {
    Access { task: TaskIx(task), seq: ord as u32, ord, site, kind, flags: 0, value: 0 }
}

/// `access`, having read or written the number `value`.
pub fn number(task: u32, ord: u64, site: u32, kind: AccessKind, value: f64) -> Access {
    Access { flags: ValueTag::Number as u8, value: value.to_bits(), ..access(task, ord, site, kind) }
}

/// Builds a stream of records the way the runtime writes them, numbering them in sequence.
pub struct RecordWriter {
    pub bytes: Vec<u8>,
    pub next_seq: u32,
}

impl RecordWriter {
    pub fn new() -> RecordWriter {
        RecordWriter::starting_at(0)
    }

    pub fn starting_at(seq: u32) -> RecordWriter {
        RecordWriter { bytes: Vec::new(), next_seq: seq }
    }

    pub fn record(&mut self, kind: Kind, flags: u8, task: u32, site: u32, a: u64, b: u64) {
        let record = Record { kind, flags, seq: self.next_seq, task: LocalTaskId(task), site, a, b };
        encode(&record, &mut self.bytes);
        self.next_seq = self.next_seq.wrapping_add(1);
    }

    pub fn push(&mut self, kind: Kind, task: u32, site: u32, a: u64) {
        self.record(kind, 0, task, site, a, 0);
    }

    /// A task begun by an event-loop callback entering the function at `site`.
    pub fn callback(&mut self, task: u32, site: u32, time_ms: f64) {
        self.record(Kind::TaskBegin, 0, task, site, 0, time_ms.to_bits());
    }

    pub fn begin(&mut self, task: u32, time_ms: f64) {
        self.record(Kind::TaskBegin, 0, task, 0, 0, time_ms.to_bits());
    }

    pub fn resume(&mut self, task: u32, site: u32, invocation: u64, time_ms: f64) {
        self.record(Kind::AwaitResume, 0, task, site, invocation, time_ms.to_bits());
    }

    /// `task` calls async function `invocation` at `site`, which reaches its first `await`.
    pub fn call_and_suspend(&mut self, task: u32, site: u32, invocation: u64) {
        self.push(Kind::FnEnter, task, site, invocation);
        self.push(Kind::AwaitSuspend, task, site + 1, invocation);
    }

    /// `task` schedules callback `id` on `queue` (with `key`, and `delay` ms for timers).
    pub fn schedule(&mut self, task: u32, queue: Queue, id: u32, key: u32, delay: f64) {
        let a = u64::from(id) | (u64::from(key) << 32);
        self.record(Kind::Schedule, queue as u8, task, 0, a, delay.to_bits());
    }

    /// Callback `id` starts running in the new task `task`.
    pub fn run(&mut self, task: u32, id: u32, time_ms: f64) {
        self.record(Kind::CallbackBegin, 0, task, 0, u64::from(id), time_ms.to_bits());
    }

    /// A read of `location` at `site` that saw the number `value`.
    pub fn read(&mut self, task: u32, site: u32, location: u64, value: f64) {
        self.record(Kind::Read, ValueTag::Number as u8, task, site, location, value.to_bits());
    }

    /// A write of the number `value` to `location` at `site`.
    pub fn write(&mut self, task: u32, site: u32, location: u64, value: f64) {
        self.record(Kind::Write, ValueTag::Number as u8, task, site, location, value.to_bits());
    }

    /// A compound assignment (`location += ...`) that stored `value`.
    pub fn update(&mut self, task: u32, site: u32, location: u64, value: f64) {
        self.record(Kind::Write, FLAG_UPDATE | ValueTag::Number as u8, task, site, location, value.to_bits());
    }
}
