//! The WebAssembly face of the core: `extern "C"` functions over integer handles.
//!
//! JavaScript (packages/core/src/wasm/) owns the other side of this contract. Bulk data moves
//! through linear memory: JS copies a batch into a buffer from [`cw_alloc`], and results come back
//! as u32 words in one result buffer read through [`cw_result_ptr`] until the next call.
//!
//! All `unsafe` of the crate is here: turning the (pointer, length) pairs JS passes into slices.

use std::cell::RefCell;

use crate::ids::{StreamId, TaskIx};
use crate::record::{DecodeError, FORMAT_VERSION, RECORD_SIZE};
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

/// Fills the result buffer with the clock of `task`, one word per chain. Returns the number of words.
#[no_mangle]
pub extern "C" fn cw_clock(handle: u32, task: u32) -> i32 {
    with_trace(handle, |trace, result| {
        result.clear();
        if task as usize >= trace.tasks().len() {
            return status::BAD_ARGUMENT;
        }
        let graph = trace.graph();
        result.extend_from_slice(graph.clock_of(TaskIx(task)).components());
        result.resize(graph.chain_count(), 0);
        result.len() as i32
    })
    .unwrap_or(status::BAD_HANDLE)
}

/// Fills the result buffer with
/// `[records lo, records hi, dropped lo, dropped hi, orphan tasks, unmatched resumes, tasks, chains]`.
#[no_mangle]
pub extern "C" fn cw_stats(handle: u32) -> i32 {
    with_trace(handle, |trace, result| {
        let stats = trace.stats();
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
        ]);
        result.len() as i32
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

    fn cw_ingest_handle_zero() -> i32 {
        unsafe { cw_ingest(0, 1, std::ptr::null(), 0) }
    }
}
