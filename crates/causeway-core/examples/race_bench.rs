//! Throughput of the core on synthetic traces: ingest (decoding, task table), clocks (the causal
//! graph) and race detection together, in events per second.
//!
//!     cargo run --release --example race_bench [events] [width ...]
//!
//! Two shapes of program, at each concurrency width (flows in flight at once):
//!
//! * `workers`: `width` async loops started by the program's first task, each awaiting in a loop
//!   (one chain per loop). Every iteration reads and writes its own object, reads a shared
//!   configuration object, and reads then updates a shared counter: a hot location touched by
//!   every chain.
//! * `requests`: request handlers, each a task with no recorded cause (an I/O callback) that
//!   awaits twice, at most `width` in flight; every request is a new chain. Each touches its own
//!   object and reads then updates the same shared counter.
//!
//! Records are generated before timing and ingested in batches of 4,096, as the drain does; each
//! trace is ingested three times into a fresh `Trace` and the fastest run is reported.

use std::time::Instant;

use causeway_core::ids::{LocalTaskId, StreamId};
use causeway_core::record::{encode, Kind, Record, ValueTag, FLAG_UPDATE, RECORD_SIZE};
use causeway_core::trace::Trace;

const BATCH_RECORDS: usize = 4096;
const NUMBER: u8 = ValueTag::Number as u8;

const COUNTER: u64 = 1 | (1 << 32);
const CONFIG: u64 = 2 | (1 << 32);
/// The private object of flow `n` is object `PRIVATE_BASE + n`.
const PRIVATE_BASE: u64 = 1000;

/// xorshift64*: deterministic, so every run measures the same trace.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound as u64) as usize
    }
}

/// Writes records of one stream.
struct Writer {
    bytes: Vec<u8>,
    seq: u32,
}

impl Writer {
    fn records(&self) -> usize {
        self.bytes.len() / RECORD_SIZE
    }

    fn push(&mut self, kind: Kind, flags: u8, task: u32, site: u32, a: u64, b: u64) {
        let record = Record { kind, flags, seq: self.seq, task: LocalTaskId(task), site, a, b };
        encode(&record, &mut self.bytes);
        self.seq = self.seq.wrapping_add(1);
    }

    fn number(&mut self, kind: Kind, flags: u8, task: u32, site: u32, location: u64, value: u64) {
        self.push(kind, flags | NUMBER, task, site, location, (value as f64).to_bits());
    }

    /// A flow's work in one task: its own object, then the shared counter (read, then update).
    fn iteration(&mut self, task: u32, flow: u64, round: u64) {
        let private = (PRIVATE_BASE + flow) | (1 << 32);
        self.push(Kind::FnEnter, 0, task, 20, 0, 0);
        self.number(Kind::Read, 0, task, 10, private, round);
        self.number(Kind::Write, 0, task, 11, private, round + 1);
        self.number(Kind::Read, 0, task, 12, COUNTER, round);
        self.number(Kind::Write, FLAG_UPDATE, task, 13, COUNTER, round + 1);
        self.push(Kind::FnExit, 0, task, 20, 0, 0);
    }
}

fn workers(width: usize, events: usize, rng: &mut Rng) -> Vec<u8> {
    let mut w = Writer { bytes: Vec::with_capacity(events * RECORD_SIZE), seq: 0 };
    w.push(Kind::TaskBegin, 0, 1, 0, 0, 0);
    // Invocation ids start at 1: 0 means a synchronous function (docs/event-format.md).
    let mut suspended: Vec<u64> = (1..=width as u64).collect();
    for &invocation in &suspended {
        w.push(Kind::FnEnter, 0, 1, 30, invocation, 0);
        w.push(Kind::AwaitSuspend, 0, 1, 31, invocation, 0);
    }
    let mut task = 1;
    let mut round = 0;
    while w.records() < events {
        let invocation = suspended.swap_remove(rng.below(suspended.len()));
        task += 1;
        round += 1;
        w.push(Kind::AwaitResume, 0, task, 31, invocation, 0);
        w.iteration(task, invocation, round);
        w.number(Kind::Read, 0, task, 14, CONFIG, 7);
        w.push(Kind::AwaitSuspend, 0, task, 31, invocation, 0);
        suspended.push(invocation);
    }
    w.bytes
}

fn requests(width: usize, events: usize, rng: &mut Rng) -> Vec<u8> {
    const AWAITS: u32 = 2;
    let mut w = Writer { bytes: Vec::with_capacity(events * RECORD_SIZE), seq: 0 };
    // (invocation, awaits left) of the requests in flight.
    let mut in_flight: Vec<(u64, u32)> = Vec::new();
    let mut task = 0;
    let mut next_request = 1u64;
    while w.records() < events {
        task += 1;
        if in_flight.len() < width && (in_flight.is_empty() || rng.below(2) == 0) {
            let invocation = next_request;
            next_request += 1;
            w.push(Kind::TaskBegin, 0, task, 40, 0, 0);
            w.push(Kind::FnEnter, 0, task, 30, invocation, 0);
            w.iteration(task, invocation, 0);
            w.push(Kind::AwaitSuspend, 0, task, 31, invocation, 0);
            in_flight.push((invocation, AWAITS));
        } else {
            let at = rng.below(in_flight.len());
            let (invocation, left) = in_flight[at];
            w.push(Kind::AwaitResume, 0, task, 31, invocation, 0);
            w.iteration(task, invocation, u64::from(AWAITS - left + 1));
            if left > 1 {
                w.push(Kind::AwaitSuspend, 0, task, 31, invocation, 0);
                in_flight[at].1 -= 1;
            } else {
                w.push(Kind::FnExit, 0, task, 30, invocation, 0);
                in_flight.swap_remove(at);
            }
        }
    }
    w.bytes
}

/// Runs of each measurement; the fastest is reported, since the slower ones measure the machine's
/// other work.
const RUNS: usize = 3;

fn measure(shape: &str, width: usize, bytes: &[u8]) {
    let mut best = f64::INFINITY;
    let mut trace = Trace::new();
    for _ in 0..RUNS {
        trace = Trace::new();
        let started = Instant::now();
        for batch in bytes.chunks(BATCH_RECORDS * RECORD_SIZE) {
            trace.ingest(StreamId(1), batch).expect("synthetic records are valid");
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let records = trace.stats().records;
    let races = trace.races();
    let stats = races.stats();
    println!(
        "| {shape:<8} | {width:>5} | {records:>9} | {best:>7.3} | {:>12.0} | {:>8} | {:>9} | {:>8} | {:>11} | {:>8} |",
        records as f64 / best,
        stats.accesses,
        stats.locations,
        trace.graph().chain_count(),
        stats.live_groups,
        races.findings().len(),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map_or(1_000_000, |a| a.parse().expect("events: a number"));
    let widths: Vec<usize> = args.map(|a| a.parse().expect("width: a number")).collect();
    let widths = if widths.is_empty() { vec![2, 10, 100, 1000] } else { widths };
    println!(
        "| shape    | width |    events | seconds |     events/s | accesses | locations |   chains | live groups | findings |"
    );
    println!(
        "| -------- | ----: | --------: | ------: | -----------: | -------: | --------: | -------: | ----------: | -------: |"
    );
    for shape in ["workers", "requests"] {
        for &width in &widths {
            let mut rng = Rng(0x5eed_0000 + width as u64);
            let bytes = match shape {
                "workers" => workers(width, events, &mut rng),
                _ => requests(width, events, &mut rng),
            };
            measure(shape, width, &bytes);
        }
    }
}
