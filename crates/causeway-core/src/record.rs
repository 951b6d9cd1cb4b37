//! The binary event record, version 1 (docs/event-format.md is the contract; this module and
//! `packages/core/src/format/event-format.ts` are its two owners and must change together).
//!
//! Every record is 32 bytes, little-endian:
//!
//! | offset | size | field                                                  |
//! |--------|------|--------------------------------------------------------|
//! | 0      | 1    | kind                                                   |
//! | 1      | 1    | flags (meaning depends on the kind)                    |
//! | 2      | 2    | reserved, zero                                         |
//! | 4      | 4    | seq: per-stream sequence number, gaps are dropped records |
//! | 8      | 4    | task: the task the record was written in               |
//! | 12     | 4    | site: global site id, 0 when none                      |
//! | 16     | 8    | a: kind-specific unsigned argument                     |
//! | 24     | 8    | b: kind-specific argument (an f64 time for task starts) |

use crate::ids::LocalTaskId;

/// Version of the record layout and kind table. Bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Size of one record in bytes.
pub const RECORD_SIZE: usize = 32;

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A task starts that has no recorded cause in this stream (process start, an entry point).
    /// `task` is the new task; `b` is the time in ms since the stream's epoch.
    TaskBegin = 1,
    /// A function starts running. `a` is the invocation id for async functions and generators, else 0.
    FnEnter = 2,
    /// A function returns (or an async function settles). `a` as for `FnEnter`.
    FnExit = 3,
    /// An exception leaves a function. `a` as for `FnEnter`.
    FnThrow = 4,
    /// An async function reaches an `await`; `a` is its invocation id.
    AwaitSuspend = 5,
    /// The continuation after an `await` starts: a new task `task`, caused by the task that
    /// suspended invocation `a`. `b` is the time. Flag bit 0: the awaited promise rejected.
    AwaitResume = 6,
    /// A property was read. `a` is the location (object id in the low 32 bits, key id in the
    /// high 32), `b` the value as the value tag in the flags' low three bits says.
    Read = 7,
    /// A property was written, updated (flag [`FLAG_UPDATE`]) or deleted ([`FLAG_DELETE`]).
    /// `a` and `b` as for `Read`.
    Write = 8,
    /// An incoming HTTP request starts being handled: a new task with no recorded cause, like
    /// `TaskBegin`. `a` is (method, target) as string ids; `b` the time.
    HttpRequest = 9,
    /// The request of task `a.low` matched the route whose string id is `a.high`.
    HttpRoute = 10,
    /// The response to the request of task `a.low` ended with status `a.high`; `b` the duration.
    HttpResponse = 11,
    /// The task sends an HTTP request: `a` is (method, url), `b` the exchange id.
    HttpClientRequest = 12,
    /// Exchange `a.low` got a response with status `a.high`; `b` the duration.
    HttpClientResponse = 13,
    /// Exchange `a.low` failed with the error named `a.high`; `b` the duration.
    HttpClientError = 14,
    /// The task sends a database query: `a` is the statement's string id, `b` the exchange id.
    DbQuery = 15,
    /// The query of exchange `a.low` completed with `a.high` rows; `b` the duration.
    DbResult = 16,
    /// The request that started the task carried propagation headers: `a` is (sender's trace id
    /// as a string id, sender's exchange id), `b` the sender's stream. Flag [`FLAG_MALFORMED`].
    MessageReceived = 17,
    /// The response to exchange `a.low` carried the responder's identity: the task `a.high` of
    /// stream `b` of the recording that handled the request sent the response.
    ResponseReceived = 18,
    /// The task scheduled callback `a.low` on the queue in `flags` ([`Queue`]); `a.high` is the
    /// queue's key (a promise's object id for reactions, a stream's for emitters, else 0); `b`
    /// the delay in ms (timers).
    Schedule = 20,
    /// Scheduled callback `a` starts running: a new task, caused by the task that scheduled it
    /// (and by earlier callbacks of its queue that Node runs first). `b` is the time.
    CallbackBegin = 21,
    /// The task cancelled scheduled callback `a` (clearTimeout, clearInterval, clearImmediate).
    Cancel = 22,
    /// `causeway.trace(name, fn)` starts: a new task caused by task `a.high`, in which fn's
    /// synchronous part runs; `a.low` is the name's string id; `b` the time.
    SpanBegin = 23,
    /// fn's synchronous part returned or threw: a new task continues the caller, caused by the
    /// span's task `a.low`; `b` the time.
    SpanEnd = 24,
    /// `causeway.event(name, data)`: `a.low` is the name's string id, `a.high` the data's (JSON,
    /// bounded and redacted; 0 when not captured).
    CustomEvent = 25,
    /// `causeway.serialize()`: the task hands its trace context to a message sent out of band
    /// (a queue); `b` is the exchange id the context names, as `HttpClientRequest`'s.
    MessageSent = 26,
}

/// The queue a `Schedule` record names (its flags): the ones whose order Node guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Queue {
    Timeout = 1,
    Interval = 2,
    Immediate = 3,
    NextTick = 4,
    Microtask = 5,
    Reaction = 6,
    /// A stream's listeners; the key is the stream's object id. Its `Schedule` records mark the
    /// tasks its next emission from the event loop follows (see `schedule.rs`).
    Emitter = 7,
}

impl Queue {
    pub fn try_from_u8(value: u8) -> Option<Queue> {
        Some(match value {
            1 => Queue::Timeout,
            2 => Queue::Interval,
            3 => Queue::Immediate,
            4 => Queue::NextTick,
            5 => Queue::Microtask,
            6 => Queue::Reaction,
            7 => Queue::Emitter,
            _ => return None,
        })
    }

    /// Timeouts and intervals share Node's timer lists; every other queue is its own.
    pub fn class(self) -> u8 {
        match self {
            Queue::Interval => Queue::Timeout as u8,
            other => other as u8,
        }
    }
}

impl Kind {
    /// The highest kind value this version knows.
    pub const MAX: u8 = Kind::MessageSent as u8;

    pub fn try_from_u8(value: u8) -> Option<Kind> {
        Some(match value {
            1 => Kind::TaskBegin,
            2 => Kind::FnEnter,
            3 => Kind::FnExit,
            4 => Kind::FnThrow,
            5 => Kind::AwaitSuspend,
            6 => Kind::AwaitResume,
            7 => Kind::Read,
            8 => Kind::Write,
            9 => Kind::HttpRequest,
            10 => Kind::HttpRoute,
            11 => Kind::HttpResponse,
            12 => Kind::HttpClientRequest,
            13 => Kind::HttpClientResponse,
            14 => Kind::HttpClientError,
            15 => Kind::DbQuery,
            16 => Kind::DbResult,
            17 => Kind::MessageReceived,
            18 => Kind::ResponseReceived,
            20 => Kind::Schedule,
            21 => Kind::CallbackBegin,
            22 => Kind::Cancel,
            23 => Kind::SpanBegin,
            24 => Kind::SpanEnd,
            25 => Kind::CustomEvent,
            26 => Kind::MessageSent,
            _ => return None,
        })
    }

    /// Is this an interceptor record that starts no task (an HTTP or database exchange's step)?
    /// Such records say nothing about calls, awaits or accesses.
    pub fn is_exchange_step(self) -> bool {
        matches!(
            self,
            Kind::HttpRoute
                | Kind::HttpResponse
                | Kind::HttpClientRequest
                | Kind::HttpClientResponse
                | Kind::HttpClientError
                | Kind::DbQuery
                | Kind::DbResult
                | Kind::MessageReceived
                | Kind::ResponseReceived
        )
    }

    /// Is this a record about scheduling or an annotation, that starts no task and says nothing
    /// about calls, awaits or accesses?
    pub fn is_annotation(self) -> bool {
        matches!(self, Kind::Schedule | Kind::Cancel | Kind::CustomEvent | Kind::MessageSent)
    }

    /// Does a record of this kind start a new task?
    pub fn begins_task(self) -> bool {
        matches!(
            self,
            Kind::TaskBegin
                | Kind::AwaitResume
                | Kind::HttpRequest
                | Kind::CallbackBegin
                | Kind::SpanBegin
                | Kind::SpanEnd
        )
    }
}

/// Flag bit of `AwaitResume`: the continuation runs because the awaited promise rejected.
pub const FLAG_REJECTED: u8 = 1;
/// Flag bit of `AwaitResume`: an async generator suspended at a `yield` was resumed synchronously
/// by a `next()` or `throw()` called in the task of the stream's previous record.
pub const FLAG_CALLED: u8 = 2;

/// Flag bit of `Write`: `delete o.p`.
pub const FLAG_DELETE: u8 = 8;
/// Flag bit of `Write`: a compound assignment or `++`/`--`, a read and a write in one expression.
pub const FLAG_UPDATE: u8 = 16;

/// Flag bit of `HttpResponse` and `DbResult`: the exchange ended without completing.
pub const FLAG_FAILED: u8 = 1;
/// Flag bit of `HttpClientError`: a timeout fired.
pub const FLAG_TIMEOUT: u8 = 2;
/// Flag bit of `MessageReceived`: a propagation header was malformed and ignored.
pub const FLAG_MALFORMED: u8 = 4;

/// The low three flag bits of `Read` and `Write`: what `b` holds (docs/event-format.md, "Value tag").
pub const VALUE_TAG_MASK: u8 = 7;

/// What the `b` field of a `Read` or `Write` record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ValueTag {
    None = 0,
    Number = 1,
    Undefined = 2,
    Null = 3,
    False = 4,
    True = 5,
    Object = 6,
    String = 7,
}

impl ValueTag {
    pub fn from_flags(flags: u8) -> ValueTag {
        match flags & VALUE_TAG_MASK {
            1 => ValueTag::Number,
            2 => ValueTag::Undefined,
            3 => ValueTag::Null,
            4 => ValueTag::False,
            5 => ValueTag::True,
            6 => ValueTag::Object,
            7 => ValueTag::String,
            _ => ValueTag::None,
        }
    }
}

/// Key ids at or above this are array indices, not string-table ids.
pub const ARRAY_INDEX_KEY: u32 = 0x8000_0000;

/// One decoded record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    pub kind: Kind,
    pub flags: u8,
    pub seq: u32,
    pub task: LocalTaskId,
    pub site: u32,
    pub a: u64,
    pub b: u64,
}

impl Record {
    /// `b` read as a time in milliseconds (task-starting kinds).
    pub fn time_ms(&self) -> f64 {
        f64::from_bits(self.b)
    }
}

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The byte length is not a multiple of [`RECORD_SIZE`].
    PartialRecord { len: usize },
    /// The record at `index` has a kind this version does not know.
    UnknownKind { index: usize, kind: u8 },
}

/// The little-endian `u32` at byte `at` of a record.
#[inline]
fn u32_of(record: &[u8; RECORD_SIZE], at: usize) -> u32 {
    u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
}

/// The little-endian `u64` at byte `at` of a record.
#[inline]
fn u64_of(record: &[u8; RECORD_SIZE], at: usize) -> u64 {
    u64::from(u32_of(record, at)) | (u64::from(u32_of(record, at + 4)) << 32)
}

/// Decodes the record starting at byte `at` of `bytes`; `index` names it in errors.
///
/// # Panics
/// If `bytes` holds fewer than `at + RECORD_SIZE` bytes.
///
/// # Complexity
/// One bounds check for the record, none per field (the fields are at constant offsets of a
/// fixed-size array: measured 430 instructions a record before, with a check per byte).
#[inline]
pub fn decode_at(bytes: &[u8], at: usize, index: usize) -> Result<Record, DecodeError> {
    let record: &[u8; RECORD_SIZE] =
        bytes[at..at + RECORD_SIZE].try_into().expect("a slice of RECORD_SIZE bytes");
    let kind = Kind::try_from_u8(record[0]).ok_or(DecodeError::UnknownKind { index, kind: record[0] })?;
    Ok(Record {
        kind,
        flags: record[1],
        seq: u32_of(record, 4),
        task: LocalTaskId(u32_of(record, 8)),
        site: u32_of(record, 12),
        a: u64_of(record, 16),
        b: u64_of(record, 24),
    })
}

/// Checks that `bytes` is a whole number of records.
pub fn check_length(bytes: &[u8]) -> Result<usize, DecodeError> {
    if !bytes.len().is_multiple_of(RECORD_SIZE) {
        return Err(DecodeError::PartialRecord { len: bytes.len() });
    }
    Ok(bytes.len() / RECORD_SIZE)
}

/// Encodes a record (used by tests and synthetic workloads; the runtime writes records in JS).
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    out.push(record.kind as u8);
    out.push(record.flags);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&record.seq.to_le_bytes());
    out.extend_from_slice(&record.task.0.to_le_bytes());
    out.extend_from_slice(&record.site.to_le_bytes());
    out.extend_from_slice(&record.a.to_le_bytes());
    out.extend_from_slice(&record.b.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            kind: Kind::AwaitResume,
            flags: FLAG_REJECTED,
            seq: 0xdead_beef,
            task: LocalTaskId(7),
            site: 42,
            a: 0x1_0000_0002,
            b: 12.5f64.to_bits(),
        }
    }

    #[test]
    fn a_record_round_trips_through_its_32_bytes() {
        let mut bytes = Vec::new();
        encode(&sample(), &mut bytes);
        assert_eq!(bytes.len(), RECORD_SIZE);
        assert_eq!(decode_at(&bytes, 0, 0), Ok(sample()));
        assert_eq!(decode_at(&bytes, 0, 0).unwrap().time_ms(), 12.5);
    }

    #[test]
    fn fields_sit_at_the_documented_offsets() {
        let mut bytes = Vec::new();
        encode(&sample(), &mut bytes);
        assert_eq!(bytes[0], 6);
        assert_eq!(bytes[1], 1);
        assert_eq!(&bytes[4..8], &0xdead_beefu32.to_le_bytes());
        assert_eq!(&bytes[8..12], &7u32.to_le_bytes());
        assert_eq!(&bytes[12..16], &42u32.to_le_bytes());
        assert_eq!(&bytes[16..24], &0x1_0000_0002u64.to_le_bytes());
    }

    #[test]
    fn an_unknown_kind_is_reported_with_its_index() {
        let mut bytes = vec![0u8; RECORD_SIZE * 2];
        bytes[0] = 2;
        bytes[RECORD_SIZE] = 200;
        assert!(decode_at(&bytes, 0, 0).is_ok());
        assert_eq!(decode_at(&bytes, RECORD_SIZE, 1), Err(DecodeError::UnknownKind { index: 1, kind: 200 }));
    }

    #[test]
    fn a_partial_record_is_refused() {
        assert_eq!(check_length(&[0u8; 33]), Err(DecodeError::PartialRecord { len: 33 }));
        assert_eq!(check_length(&[0u8; 64]), Ok(2));
    }

    #[test]
    fn every_kind_up_to_max_decodes_and_nothing_beyond() {
        // 18 and 19 are reserved for another change.
        for value in (1..=Kind::MAX).filter(|v| !(18..=19).contains(v)) {
            assert_eq!(Kind::try_from_u8(value).map(|k| k as u8), Some(value));
        }
        assert_eq!(Kind::try_from_u8(0), None);
        assert_eq!(Kind::try_from_u8(Kind::MAX + 1), None);
    }
}
