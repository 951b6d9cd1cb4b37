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

use crate::ids::LocalTaskId;
use crate::record::{encode, Kind, Record, ValueTag, FLAG_UPDATE};

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
