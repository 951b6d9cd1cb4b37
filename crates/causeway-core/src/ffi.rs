//! The WebAssembly face of the core: `extern "C"` functions over integer handles.
//!
//! JavaScript (packages/core/src/wasm/) owns the other side of this contract. Bulk data moves
//! through linear memory: JS copies a batch into a buffer from [`cw_alloc`], and results come back
//! as u32 words in one result buffer read through [`cw_result_ptr`] until the next call.
//!
//! All `unsafe` of the crate is here: turning the (pointer, length) pairs JS passes into slices.

use std::cell::RefCell;

use crate::findings::FindingReport;
use crate::ids::{LocalTaskId, StreamId, TaskIx};
use crate::queries::{self, Direction};
use crate::record::{DecodeError, Kind, FORMAT_VERSION, RECORD_SIZE};
use crate::trace::{IngestError, Trace};

/// Status codes returned by `cw_*` functions (negative = error). packages/core maps them to
/// `CW_*` error codes; keep both lists in step.
pub mod status {
    pub const OK: i32 = 0;
    pub const BAD_HANDLE: i32 = -1;
    pub const PARTIAL_RECORD: i32 = -2;
    pub const UNKNOWN_KIND: i32 = -3;
    pub const SEQ_WENT_BACK: i32 = -4;
    pub const BAD_ARGUMENT: i32 = -5;
    /// No chain of causes leads from the first task to the second.
    pub const NO_PATH: i32 = -6;
}

#[derive(Default)]
struct State {
    traces: Vec<Option<Trace>>,
    result: Vec<u32>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_trace<R>(handle: u32, f: impl FnOnce(&mut Trace, &mut Vec<u32>) -> R) -> Option<R> {
    STATE.with(|cell| {
        let state = &mut *cell.borrow_mut();
        let trace = state.traces.get_mut(handle.checked_sub(1)? as usize)?.as_mut()?;
        Some(f(trace, &mut state.result))
    })
}

#[no_mangle]
pub extern "C" fn cw_format_version() -> u32 {
    FORMAT_VERSION
}

#[no_mangle]
pub extern "C" fn cw_record_size() -> u32 {
    RECORD_SIZE as u32
}

/// Reserves `len` bytes of linear memory for JS to fill; release with [`cw_free`].
#[no_mangle]
pub extern "C" fn cw_alloc(len: u32) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len as usize);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// Releases a buffer from [`cw_alloc`] of the same `len`.
///
/// # Safety
/// `ptr` must come from `cw_alloc(len)` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn cw_free(ptr: *mut u8, len: u32) {
    if !ptr.is_null() {
        // SAFETY: the caller passes back a pointer and capacity that cw_alloc produced.
        drop(unsafe { Vec::from_raw_parts(ptr, 0, len as usize) });
    }
}

/// Creates an empty trace; returns its handle (never 0).
#[no_mangle]
pub extern "C" fn cw_trace_new() -> u32 {
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        state.traces.push(Some(Trace::new()));
        state.traces.len() as u32
    })
}

#[no_mangle]
pub extern "C" fn cw_trace_free(handle: u32) -> i32 {
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        match handle.checked_sub(1).and_then(|i| state.traces.get_mut(i as usize)) {
            Some(slot @ Some(_)) => {
                *slot = None;
                status::OK
            }
            _ => status::BAD_HANDLE,
        }
    })
}

/// Ingests `len` bytes of records at `ptr` from `stream`. On error nothing is applied and the
/// result buffer holds `[record index, offending value, expected value]`.
///
/// # Safety
/// `ptr..ptr+len` must be readable linear memory (a buffer from [`cw_alloc`]).
#[no_mangle]
pub unsafe extern "C" fn cw_ingest(handle: u32, stream: u32, ptr: *const u8, len: u32) -> i32 {
    let bytes: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: JS passes a buffer it filled, of this length, from cw_alloc.
        unsafe { std::slice::from_raw_parts(ptr, len as usize) }
    };
    with_trace(handle, |trace, result| {
        result.clear();
        match trace.ingest(StreamId(stream), bytes) {
            Ok(_) => status::OK,
            Err(IngestError::Decode(DecodeError::PartialRecord { len })) => {
                result.extend_from_slice(&[(len / RECORD_SIZE) as u32, len as u32, 0]);
                status::PARTIAL_RECORD
            }
            Err(IngestError::Decode(DecodeError::UnknownKind { index, kind })) => {
                result.extend_from_slice(&[index as u32, u32::from(kind), 0]);
                status::UNKNOWN_KIND
            }
            Err(IngestError::SeqWentBack { index, seq, expected }) => {
                result.extend_from_slice(&[index as u32, seq, expected]);
                status::SEQ_WENT_BACK
            }
        }
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Number of u32 words in each task row of [`cw_tasks`].
pub const TASK_ROW_WORDS: u32 = 10;

/// Fills the result buffer with one row per task, in task order:
/// `[stream, local id, chain, position, first seq, last seq, records, begin site, begin ms (f64 bits: low, high)]`.
/// Returns the number of words, or a negative status.
#[no_mangle]
pub extern "C" fn cw_tasks(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        let graph = trace.graph();
        for (i, info) in trace.tasks().iter().enumerate() {
            let task = TaskIx(i as u32);
            result.extend_from_slice(&[
                info.stream.0,
                info.local.0,
                graph.chain_of(task).0,
                graph.position_of(task),
                info.first_seq,
                info.last_seq,
                info.records,
                info.begin_site,
                info.begin_ms.to_bits() as u32,
                (info.begin_ms.to_bits() >> 32) as u32,
            ]);
        }
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with `[from, to, kind]` per edge. Returns the number of words.
#[no_mangle]
pub extern "C" fn cw_edges(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        for edge in trace.edges() {
            result.extend_from_slice(&[edge.from.0, edge.to.0, edge.kind as u32]);
        }
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Declares that HTTP request task `to_local` of `to_stream` (not ingested yet) handles a message
/// sent by task `from_local` of `from_stream` (already ingested): see `Trace::expect_message`.
/// Returns 1 if declared, 0 if not (unknown sender, receiver already ingested).
#[no_mangle]
pub extern "C" fn cw_expect_message(
    handle: u32,
    from_stream: u32,
    from_local: u32,
    to_stream: u32,
    to_local: u32,
) -> i32 {
    with_trace(handle, |trace, _| {
        i32::from(trace.expect_message(
            StreamId(from_stream),
            LocalTaskId(from_local),
            StreamId(to_stream),
            LocalTaskId(to_local),
        ))
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Declares that task `to_local` of `to_stream` (not ingested yet) is the client's continuation
/// after the response to the request task `request_local` of `from_stream`, which named task
/// `from_local` as its sender (both already ingested): see `Trace::expect_response`. Returns 1 if
/// declared, 0 if not.
#[no_mangle]
pub extern "C" fn cw_expect_response(
    handle: u32,
    from_stream: u32,
    from_local: u32,
    request_local: u32,
    to_stream: u32,
    to_local: u32,
) -> i32 {
    with_trace(handle, |trace, _| {
        i32::from(trace.expect_response(
            StreamId(from_stream),
            LocalTaskId(from_local),
            LocalTaskId(request_local),
            StreamId(to_stream),
            LocalTaskId(to_local),
        ))
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with the clock of `task`, one word per chain. Returns the number of words.
#[no_mangle]
pub extern "C" fn cw_clock(handle: u32, task: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        if task as usize >= trace.tasks().len() {
            return status::BAD_ARGUMENT;
        }
        let graph = trace.graph();
        result.extend_from_slice(&graph.clock_of(TaskIx(task)).to_dense(graph.chain_count()));
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with
/// `[records lo, records hi, dropped lo, dropped hi, orphan tasks, unmatched resumes, tasks, chains,
///   accesses lo, accesses hi, locations, late accesses lo, late accesses hi]`.
#[no_mangle]
pub extern "C" fn cw_stats(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        let stats = trace.stats();
        let races = trace.races().stats();
        result.clear();
        result.extend_from_slice(&[
            stats.records as u32,
            (stats.records >> 32) as u32,
            stats.dropped as u32,
            (stats.dropped >> 32) as u32,
            stats.orphan_tasks,
            stats.unmatched_resumes,
            trace.tasks().len() as u32,
            trace.graph().chain_count() as u32,
            races.accesses as u32,
            (races.accesses >> 32) as u32,
            races.locations,
            races.late_accesses as u32,
            (races.late_accesses >> 32) as u32,
        ]);
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Number of u32 words in each row of [`cw_findings`].
pub const FINDING_ROW_WORDS: u32 = 9 + 3 * ACCESS_WORDS;
/// Number of u32 words of each access inside a finding row.
pub const ACCESS_WORDS: u32 = 8;

/// Fills the result buffer with one row per reported finding (pair races folded into the
/// atomicity violations that cover them; most convincing first), [`FINDING_ROW_WORDS`] each:
///
/// | word | meaning                                                                      |
/// |------|------------------------------------------------------------------------------|
/// | 0    | class: 1 lost update, 2 inconsistent read, 3 intermediate read, 4 overwritten write, 5 write-write, 6 read-write, 7 order violation |
/// | 1    | evidence: 1 observed, 2 concurrent, 3 possible                               |
/// | 2    | stream                                                                       |
/// | 3, 4 | object id, key id (the location)                                             |
/// | 5, 6 | occurrences, low and high word                                               |
/// | 7    | related: pair-race findings folded into this one                             |
/// | 8    | number of accesses in the example: 3 for atomicity violations, 2 for pairs   |
/// | 9..  | three access slots of [`ACCESS_WORDS`] words, unused ones zero               |
///
/// Each access slot: `[role (1 first, 2 remote, 3 second), task index, seq, site, record kind
/// (7 read, 8 write), record flags, value low word, value high word]`. Returns the number of
/// words, or a negative status.
#[no_mangle]
pub extern "C" fn cw_findings(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        for FindingReport { finding, related } in trace.races().report(trace.graph()) {
            let key = finding.key;
            result.extend_from_slice(&[
                key.class as u32,
                finding.evidence as u32,
                key.location.stream.0,
                key.location.object_id(),
                key.location.key_id(),
                finding.occurrences as u32,
                (finding.occurrences >> 32) as u32,
                related,
                finding.example.accesses().count() as u32,
            ]);
            let row_end = result.len() + 3 * ACCESS_WORDS as usize;
            for (role, access) in finding.example.accesses() {
                let kind = if access.kind.writes() { Kind::Write } else { Kind::Read };
                result.extend_from_slice(&[
                    role as u32,
                    access.task.0,
                    access.seq,
                    access.site,
                    kind as u32,
                    u32::from(access.flags),
                    access.value as u32,
                    (access.value >> 32) as u32,
                ]);
            }
            result.resize(row_end, 0);
        }
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// u32 words in the fixed head of each [`cw_failures`] row.
pub const FAILURE_HEAD_WORDS: u32 = 14;

/// Means "none" in a task or site word of [`cw_failures`].
pub const NONE: u32 = u32::MAX;

/// Fills the result buffer with the steps of every failure cascade (failures.rs), surfaced
/// failure first, then each call down to the root cause. Rows have a 14-word head and a tail:
///
/// | word | meaning                                                                  |
/// | ---: | ------------------------------------------------------------------------ |
/// | 0, 1 | failure index, depth (0 = where the error surfaced)                      |
/// | 2, 3 | stream, function site                                                    |
/// | 4, 5 | invocation id, low and high word                                         |
/// | 6, 7 | task entered in, task ended in (NONE if it never ended)                  |
/// | 8    | rejected await site (0 = none: the call threw by itself)                 |
/// | 9    | continuation task of the rejected await (NONE if none)                   |
/// | 10   | task that suspended at that await (NONE if unknown)                      |
/// | 11   | task recorded just before the continuation (NONE if none)                |
/// | 12   | the first function site that task entered (0 if none)                    |
/// | 13   | n: function sites returned runs of this function called and this one did not |
/// | 14.. | those n sites                                                            |
///
/// Returns the number of words, or a negative status.
#[no_mangle]
pub extern "C" fn cw_failures(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        let failures = trace.failures();
        let task = |t: Option<TaskIx>| t.map_or(NONE, |t| t.0);
        for step in failures.cascades() {
            let inv = &failures.invocations()[step.invocation as usize];
            let rejected = inv.rejected;
            result.extend_from_slice(&[
                step.failure,
                step.depth,
                inv.stream.0,
                inv.site,
                inv.id as u32,
                (inv.id >> 32) as u32,
                inv.entered_in.0,
                task(inv.ended_in),
                rejected.map_or(0, |r| r.site),
                task(rejected.map(|r| r.task)),
                task(rejected.and_then(|r| r.suspended_in)),
                task(rejected.and_then(|r| r.after)),
                rejected.map_or(0, |r| r.after_entered),
                step.never_called.len() as u32,
            ]);
            result.extend_from_slice(&step.never_called);
        }
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// u32 words per row of [`cw_anomalies`].
pub const ANOMALY_ROW_WORDS: u32 = 11;

/// Fills the result buffer with the anomalies (anomalies.rs), one row of [`ANOMALY_ROW_WORDS`]:
///
/// - a slow await: `[1, stream, await site, continuation task, duration ms (f64: low, high),
///   site median ms (f64), site MAD ms (f64), samples]`;
/// - an await that never resumed: `[2, stream, await site, task that suspended, function site,
///   0, 0, 0, 0, 0, 0]`.
///
/// Returns the number of words, or a negative status.
#[no_mangle]
pub extern "C" fn cw_anomalies(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        let f64_words = |x: f64| [x.to_bits() as u32, (x.to_bits() >> 32) as u32];
        for slow in trace.anomalies().slow() {
            result.extend_from_slice(&[1, slow.stream.0, slow.site, slow.task.0]);
            result.extend_from_slice(&f64_words(slow.duration_ms));
            result.extend_from_slice(&f64_words(slow.median_ms));
            result.extend_from_slice(&f64_words(slow.mad_ms));
            result.push(slow.samples);
        }
        for pending in crate::anomalies::never_resumed(trace.failures()) {
            result.extend_from_slice(&[
                2,
                pending.stream.0,
                pending.await_site,
                pending.task.0,
                pending.function_site,
            ]);
            result.extend_from_slice(&[0; 6]);
        }
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with the tasks that happen before `task` (`direction` 1) or after it
/// (`direction` 0), in index order (a topological order). Returns the number of words, or a
/// negative status.
#[no_mangle]
pub extern "C" fn cw_related(handle: u32, task: u32, direction: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        if task as usize >= trace.tasks().len() || direction > 1 {
            return status::BAD_ARGUMENT;
        }
        let direction = if direction == 1 { Direction::Backward } else { Direction::Forward };
        result.extend(queries::reachable(trace.graph(), TaskIx(task), direction).iter().map(|t| t.0));
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with the shortest chain of direct causes from task `a` to task `b`,
/// one `[from, to, kind]` row per edge (as [`cw_edges`]). Returns the number of words (0 when
/// `a` is `b`), -6 when `a` does not happen before `b`, or another negative status.
#[no_mangle]
pub extern "C" fn cw_causal_path(handle: u32, a: u32, b: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        let count = trace.tasks().len() as u32;
        if a >= count || b >= count {
            return status::BAD_ARGUMENT;
        }
        match queries::causal_path(trace.graph(), TaskIx(a), TaskIx(b)) {
            Some(path) => {
                for edge in path {
                    result.extend_from_slice(&[edge.from.0, edge.to.0, edge.kind as u32]);
                }
                result.len() as i32
            }
            None => status::NO_PATH,
        }
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// 1 if task `a` happens before task `b`, 0 if not, negative on a bad handle or task.
#[no_mangle]
pub extern "C" fn cw_happens_before(handle: u32, a: u32, b: u32) -> i32 {
    with_trace(handle, |trace, _| {
        let count = trace.tasks().len() as u32;
        if a >= count || b >= count {
            return status::BAD_ARGUMENT;
        }
        i32::from(trace.graph().happens_before(TaskIx(a), TaskIx(b)))
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Address of the result buffer filled by the last call.
#[no_mangle]
pub extern "C" fn cw_result_ptr() -> *const u32 {
    STATE.with(|cell| cell.borrow().result.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;
    use crate::testing::RecordWriter;

    fn result() -> Vec<u32> {
        STATE.with(|cell| cell.borrow().result.clone())
    }

    #[test]
    fn a_batch_goes_in_and_tasks_and_edges_come_out() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.push(Kind::AwaitSuspend, 1, 3, 9);
        w.resume(2, 3, 9, 2.0);
        let handle = cw_trace_new();
        let ptr = cw_alloc(w.bytes.len() as u32);
        unsafe {
            std::ptr::copy_nonoverlapping(w.bytes.as_ptr(), ptr, w.bytes.len());
            assert_eq!(cw_ingest(handle, 1, ptr, w.bytes.len() as u32), status::OK);
            cw_free(ptr, w.bytes.len() as u32);
        }
        assert_eq!(cw_tasks(handle), 2 * TASK_ROW_WORDS as i32);
        assert_eq!(cw_edges(handle), 3);
        assert_eq!(result(), vec![0, 1, 1]);
        assert_eq!(cw_happens_before(handle, 0, 1), 1);
        assert_eq!(cw_happens_before(handle, 1, 0), 0);
        assert_eq!(cw_happens_before(handle, 0, 2), status::BAD_ARGUMENT);
        assert_eq!(cw_trace_free(handle), status::OK);
        assert_eq!(cw_tasks(handle), status::BAD_HANDLE);
        assert_eq!(cw_trace_free(handle), status::BAD_HANDLE);
    }

    #[test]
    fn a_refused_batch_reports_where_and_why() {
        let handle = cw_trace_new();
        let bytes = [0xffu8; RECORD_SIZE];
        let status = unsafe { cw_ingest(handle, 1, bytes.as_ptr(), bytes.len() as u32) };
        assert_eq!(status, status::UNKNOWN_KIND);
        assert_eq!(result(), vec![0, 0xff, 0]);
        let status = unsafe { cw_ingest(handle, 1, bytes.as_ptr(), 5) };
        assert_eq!(status, status::PARTIAL_RECORD);
        assert_eq!(cw_ingest_handle_zero(), status::BAD_HANDLE);
    }

    #[test]
    fn findings_come_out_as_fixed_rows() {
        const BALANCE: u64 = 3 | (9 << 32);
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        w.call_and_suspend(1, 10, 200);
        w.resume(2, 11, 100, 1.0);
        w.read(2, 30, BALANCE, 100.0);
        w.push(Kind::AwaitSuspend, 2, 11, 100);
        w.resume(3, 11, 200, 1.0);
        w.read(3, 30, BALANCE, 100.0);
        w.push(Kind::AwaitSuspend, 3, 11, 200);
        w.resume(4, 11, 100, 1.0);
        w.write(4, 31, BALANCE, 70.0);
        w.resume(5, 11, 200, 1.0);
        w.write(5, 31, BALANCE, 50.0);
        let handle = cw_trace_new();
        let status = unsafe { cw_ingest(handle, 7, w.bytes.as_ptr(), w.bytes.len() as u32) };
        assert_eq!(status, status::OK);
        assert_eq!(cw_findings(handle), FINDING_ROW_WORDS as i32);
        let row = result();
        assert_eq!(&row[..9], &[1, 1, 7, 3, 9, 2, 0, 2, 3]);
        let bits = |v: f64| [v.to_bits() as u32, (v.to_bits() >> 32) as u32];
        let number = 1; // ValueTag::Number
        let expected_accesses = [
            [1, 2, 9, 30, 7, number, bits(100.0)[0], bits(100.0)[1]],
            [2, 3, 12, 31, 8, number, bits(70.0)[0], bits(70.0)[1]],
            [3, 4, 14, 31, 8, number, bits(50.0)[0], bits(50.0)[1]],
        ];
        assert_eq!(&row[9..], expected_accesses.concat().as_slice());
        assert_eq!(cw_stats(handle), 13);
        assert_eq!(&result()[8..], &[4, 0, 1, 0, 0]);
        assert_eq!(cw_findings(0), status::BAD_HANDLE);
        assert_eq!(cw_trace_free(handle), status::OK);
    }

    fn cw_ingest_handle_zero() -> i32 {
        unsafe { cw_ingest(0, 1, std::ptr::null(), 0) }
    }
}
