//! One trace's events, ingested batch by batch, and the causal graph built from them.

use crate::access::{Access, AccessKind, Location};
use crate::anomalies::AwaitTimes;
use crate::failures::FailureTracker;
use crate::graph::{CausalGraph, Edge, EdgeKind};
use crate::hash::{FastMap, StreamMap};
use crate::ids::{ChainIx, LocalTaskId, StreamId, TaskIx};
use crate::liveness::Liveness;
use crate::races::RaceDetector;
use crate::record::{self, DecodeError, Kind, Record, FLAG_CALLED, RECORD_SIZE};
use crate::schedule::Scheduler;
use crate::settle::SettleTracker;

/// What the core knows about a task besides its place in the graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskInfo {
    pub stream: StreamId,
    pub local: LocalTaskId,
    /// Sequence number of the task's first and last record.
    pub first_seq: u32,
    pub last_seq: u32,
    /// Number of records written in the task.
    pub records: u32,
    /// Site of the record that began the task (0 when it began without one).
    pub begin_site: u32,
    /// Start time in ms since the stream's epoch; NaN when the begin record was lost.
    pub begin_ms: f64,
}

/// Why a batch was refused. A refused batch changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestError {
    Decode(DecodeError),
    /// Record `index` has a sequence number lower than one already ingested for its stream.
    SeqWentBack {
        index: usize,
        seq: u32,
        expected: u32,
    },
}

impl From<DecodeError> for IngestError {
    fn from(e: DecodeError) -> IngestError {
        IngestError::Decode(e)
    }
}

/// Counters that say how complete the recording is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceStats {
    pub records: u64,
    /// Records the runtime could not write (gaps in sequence numbers).
    pub dropped: u64,
    /// Tasks whose first record was not a task-starting one (it was dropped).
    pub orphan_tasks: u32,
    /// Continuations whose `await` was not seen (its record was dropped).
    pub unmatched_resumes: u32,
    /// Callbacks that began without a known registration (its record was dropped, or a timer
    /// was refreshed): they get only the startup edge.
    pub unmatched_callbacks: u32,
}

#[derive(Default)]
struct StreamState {
    next_seq: Option<u32>,
    /// Position of the next record in the stream: its seq with wraps unwrapped, so that the
    /// order of two records of a stream is a comparison however long the stream runs.
    next_ord: u64,
    /// The stream's first task: the program's start, which precedes every event-loop callback.
    startup: Option<TaskIx>,
    /// The task of the stream's previous record (None after a gap: the record before was dropped).
    last_task: Option<TaskIx>,
}

/// Sequence numbers are u32 and wrap; a gap of more than half the range is a step back.
const SEQ_HALF_RANGE: u32 = 1 << 31;

#[derive(Default)]
pub struct Trace {
    graph: CausalGraph,
    tasks: Vec<TaskInfo>,
    by_local: FastMap<(StreamId, LocalTaskId), TaskIx>,
    /// The last `by_local` answer: a task's records come in a row (entries are never removed).
    last_local: Option<((StreamId, LocalTaskId), TaskIx)>,
    /// Invocation -> the task that suspended it at its pending `await`.
    suspended: FastMap<(StreamId, u64), TaskIx>,
    streams: StreamMap<StreamState>,
    stats: TraceStats,
    races: RaceDetector,
    liveness: Liveness,
    /// Chains that just ended, reused.
    ended: Vec<ChainIx>,
    settle: SettleTracker,
    failures: FailureTracker,
    await_times: AwaitTimes,
    /// Scratch list of a new task's causes, kept to avoid an allocation per task.
    causes: Vec<(TaskIx, EdgeKind)>,
    resolvers: Vec<TaskIx>,
    /// Tasks not ingested yet, and the task whose message they handle (see `expect_message`).
    messages: FastMap<(StreamId, LocalTaskId), TaskIx>,
    scheduler: Scheduler,
    /// Tasks not ingested yet, and the task that sent the response they continue after (see
    /// `expect_response`).
    responses: FastMap<(StreamId, LocalTaskId), TaskIx>,
}

impl Trace {
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Adds a batch of records from `stream`, in the order they were written.
    ///
    /// The whole batch is checked before anything is applied: on error the trace is unchanged.
    ///
    /// # Complexity
    /// O(records), plus O(clock width) per new task.
    pub fn ingest(&mut self, stream: StreamId, bytes: &[u8]) -> Result<usize, IngestError> {
        let count = record::check_length(bytes)?;
        let mut expected = self.streams.get(stream).and_then(|s| s.next_seq);
        for index in 0..count {
            let rec = record::decode_at(bytes, index * RECORD_SIZE, index)?;
            if let Some(want) = expected {
                if rec.seq.wrapping_sub(want) >= SEQ_HALF_RANGE {
                    return Err(IngestError::SeqWentBack { index, seq: rec.seq, expected: want });
                }
            }
            expected = Some(rec.seq.wrapping_add(1));
        }
        for index in 0..count {
            let rec = record::decode_at(bytes, index * RECORD_SIZE, index)?;
            self.apply(stream, &rec);
        }
        Ok(count)
    }

    fn apply(&mut self, stream: StreamId, rec: &Record) {
        let state = self.streams.get_or_default(stream);
        let mut previous = state.last_task;
        let ord = match state.next_seq {
            Some(want) => {
                let gap = u64::from(rec.seq.wrapping_sub(want));
                self.stats.dropped += gap;
                if gap > 0 {
                    previous = None;
                }
                state.next_ord + gap
            }
            None => u64::from(rec.seq),
        };
        state.next_seq = Some(rec.seq.wrapping_add(1));
        state.next_ord = ord + 1;
        self.stats.records += 1;

        let key = (stream, rec.task);
        let mut resumed_from = None;
        let known = match self.last_local {
            Some((last, task)) if last == key => Some(task),
            _ => self.by_local.get(&key).copied(),
        };
        let task = match known {
            Some(task) => task,
            None => {
                if rec.kind == Kind::AwaitResume {
                    resumed_from = self.suspended.get(&(stream, rec.a)).copied();
                }
                self.begin_task(stream, rec, ord, previous)
            }
        };
        if let Some(state) = self.streams.get_mut(stream) {
            state.last_task = Some(task);
        }
        self.last_local = Some((key, task));
        match rec.kind {
            Kind::Schedule => self.scheduler.on_schedule(&self.graph, stream, task, ord, rec),
            Kind::Cancel => self.scheduler.on_cancel(stream, rec),
            _ => {}
        }
        self.settle.on_record(stream, task, rec);
        self.failures.on_record(stream, task, rec);
        if let Some(from) = resumed_from {
            self.await_times.on_resume(stream, rec, task, self.tasks[from.index()].begin_ms);
        }
        let info = &mut self.tasks[task.index()];
        info.records += 1;
        info.last_seq = rec.seq;
        let mut replaced = None;
        if rec.kind == Kind::AwaitSuspend {
            replaced = self.suspended.insert((stream, rec.a), task);
        }
        self.liveness.on_record(&self.graph, stream, task, rec, resumed_from, replaced);
        self.liveness.take_ended(&mut self.ended);
        for &chain in &self.ended {
            self.races.end_chain(chain);
        }
        if let Some(kind) = AccessKind::of_record(rec.kind, rec.flags) {
            let access =
                Access { task, seq: rec.seq, ord, site: rec.site, kind, flags: rec.flags, value: rec.b };
            self.races.on_access(&self.graph, Location { stream, address: rec.a }, access);
        }
    }

    /// `previous` is the task of the stream's record just before `rec`, if it was not dropped.
    fn begin_task(&mut self, stream: StreamId, rec: &Record, ord: u64, previous: Option<TaskIx>) -> TaskIx {
        self.causes.clear();
        let startup = self.streams.get(stream).and_then(|s| s.startup);
        match rec.kind {
            Kind::CallbackBegin => {
                if !self.scheduler.causes(&self.graph, stream, rec.a as u32, &mut self.causes) {
                    self.stats.unmatched_callbacks += 1;
                    if let Some(startup) = startup {
                        self.causes.push((startup, EdgeKind::Startup));
                    }
                }
            }
            // A span's task follows its caller's; the caller's continuation follows the span's.
            Kind::SpanBegin | Kind::SpanEnd => {
                let from = if rec.kind == Kind::SpanBegin { rec.a >> 32 } else { rec.a & 0xffff_ffff };
                match self.by_local.get(&(stream, LocalTaskId(from as u32))) {
                    Some(&from) => self.causes.push((from, EdgeKind::Spawn)),
                    None => self.stats.orphan_tasks += 1,
                }
                // `causeway.continueTrace`: a span that handles a message sent out of band.
                if let Some(from) = self.messages.remove(&(stream, rec.task)) {
                    self.causes.push((from, EdgeKind::Message));
                }
            }
            Kind::AwaitResume => {
                match self.suspended.remove(&(stream, rec.a)) {
                    Some(from) => self.causes.push((from, EdgeKind::Await)),
                    None => self.stats.unmatched_resumes += 1,
                }
                // An async generator resumed at a yield by a `next()` or `throw()` call: the
                // calling task (the previous record's) caused the resumption too.
                if rec.flags & FLAG_CALLED != 0 {
                    if let Some(caller) = previous {
                        if !self.causes.iter().any(|&(c, _)| c == caller) {
                            self.causes.push((caller, EdgeKind::Spawn));
                        }
                    }
                }
                self.resolvers.clear();
                self.settle.resolvers(stream, rec.a, &mut self.resolvers);
                for &from in &self.resolvers {
                    if !self.causes.iter().any(|&(c, _)| c == from) {
                        self.causes.push((from, EdgeKind::Resolve));
                    }
                }
            }
            // A task begun at a site is an event-loop callback whose scheduling was not recorded;
            // a request's handling has no recorded cause in this stream either. Whatever caused
            // them, the event loop runs them after the program's start. A request's sender, in
            // another stream, may also have been declared (`expect_message`).
            Kind::TaskBegin | Kind::HttpRequest if rec.site != 0 || rec.kind == Kind::HttpRequest => {
                if let Some(startup) = startup {
                    self.causes.push((startup, EdgeKind::Startup));
                }
                if let Some(from) = self.messages.remove(&(stream, rec.task)) {
                    self.causes.push((from, EdgeKind::Message));
                }
            }
            Kind::TaskBegin => {}
            _ => self.stats.orphan_tasks += 1,
        }
        if let Some(from) = self.responses.remove(&(stream, rec.task)) {
            if !self.causes.iter().any(|&(c, _)| c == from) {
                self.causes.push((from, EdgeKind::Response));
            }
        }
        let task = self.graph.add_task(&self.causes);
        self.scheduler.task_begun(stream, task, rec);
        if rec.kind == Kind::CallbackBegin {
            self.scheduler.ran(stream, rec.a as u32, task, ord);
        }
        if rec.kind == Kind::TaskBegin && rec.site == 0 {
            let state = self.streams.get_or_default(stream);
            state.startup.get_or_insert(task);
        }
        let begins = rec.kind.begins_task();
        self.tasks.push(TaskInfo {
            stream,
            local: rec.task,
            first_seq: rec.seq,
            last_seq: rec.seq,
            records: 0,
            begin_site: if begins { rec.site } else { 0 },
            begin_ms: if begins { rec.time_ms() } else { f64::NAN },
        });
        self.by_local.insert((stream, rec.task), task);
        task
    }

    /// Declares that the HTTP request task `to` of stream `to_stream`, not ingested yet, handles a
    /// message sent by task `from_local` of `from_stream`, already ingested: when `to` begins,
    /// it gets a message edge from the sender. Returns false (and declares nothing) when the
    /// sender is not ingested or the receiver already is.
    pub fn expect_message(
        &mut self,
        from_stream: StreamId,
        from_local: LocalTaskId,
        to_stream: StreamId,
        to_local: LocalTaskId,
    ) -> bool {
        let Some(from) = self.task_by_local(from_stream, from_local) else { return false };
        if self.by_local.contains_key(&(to_stream, to_local)) {
            return false;
        }
        self.messages.insert((to_stream, to_local), from);
        true
    }

    /// Declares that task `to_local` of `to_stream`, not ingested yet, is the client's
    /// continuation after the response to the request that task `request_local` of
    /// `from_stream` handled, which names task `from_local` as the one that sent it: when `to`
    /// begins, it gets a response edge from the responder. The responder is the named task if it
    /// is the request's task or descends from it; otherwise the request's task itself (the named
    /// task was only the runtime's current task when an uninstrumented callback, such as a
    /// framework's promise reaction, wrote the response: possibly another request's). Returns
    /// false (and declares nothing) when a task of `from_stream` is not ingested or the
    /// continuation already is.
    pub fn expect_response(
        &mut self,
        from_stream: StreamId,
        from_local: LocalTaskId,
        request_local: LocalTaskId,
        to_stream: StreamId,
        to_local: LocalTaskId,
    ) -> bool {
        let Some(named) = self.task_by_local(from_stream, from_local) else { return false };
        let Some(request) = self.task_by_local(from_stream, request_local) else { return false };
        if self.by_local.contains_key(&(to_stream, to_local)) {
            return false;
        }
        let from =
            if named == request || self.graph.happens_before(request, named) { named } else { request };
        self.responses.insert((to_stream, to_local), from);
        true
    }

    pub fn graph(&self) -> &CausalGraph {
        &self.graph
    }

    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    pub fn edges(&self) -> &[Edge] {
        self.graph.edges()
    }

    pub fn stats(&self) -> TraceStats {
        self.stats
    }

    /// The race detector, with the findings of everything ingested so far.
    /// Await durations per site, for the anomaly detectors (anomalies.rs).
    pub fn anomalies(&self) -> &AwaitTimes {
        &self.await_times
    }

    pub fn failures(&self) -> &FailureTracker {
        &self.failures
    }

    pub fn races(&self) -> &RaceDetector {
        &self.races
    }

    pub fn task_by_local(&self, stream: StreamId, local: LocalTaskId) -> Option<TaskIx> {
        self.by_local.get(&(stream, local)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RecordWriter;

    const S: StreamId = StreamId(1);

    #[test]
    fn a_resume_is_caused_by_the_task_that_suspended_its_invocation() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        w.call_and_suspend(1, 10, 101);
        w.resume(2, 11, 101, 5.0);
        w.resume(3, 11, 100, 6.0);
        w.push(Kind::FnExit, 3, 10, 100);
        let mut trace = Trace::new();
        assert_eq!(trace.ingest(S, &w.bytes), Ok(8));

        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(trace.tasks().len(), 3);
        assert!(trace.graph().happens_before(t(1), t(2)));
        assert!(trace.graph().happens_before(t(1), t(3)));
        assert!(trace.graph().concurrent(t(2), t(3)));
        assert_eq!(trace.tasks()[t(3).index()].records, 2);
        assert_eq!(trace.tasks()[t(2).index()].begin_ms, 5.0);
        assert_eq!(trace.stats(), TraceStats { records: 8, ..TraceStats::default() });
    }

    #[test]
    fn event_loop_callbacks_come_after_the_start_of_the_program_and_nothing_else() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.callback(2, 20, 3.0);
        w.callback(3, 20, 4.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        // Another stream's callback is not after this stream's start.
        let mut other = RecordWriter::new();
        other.callback(1, 20, 1.0);
        trace.ingest(StreamId(2), &other.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert!(trace.graph().happens_before(t(1), t(2)));
        assert!(trace.graph().happens_before(t(1), t(3)));
        assert!(trace.graph().concurrent(t(2), t(3)));
        assert_eq!(trace.edges()[0], Edge { from: t(1), to: t(2), kind: EdgeKind::Startup });
        let foreign = trace.task_by_local(StreamId(2), LocalTaskId(1)).unwrap();
        assert!(trace.graph().concurrent(t(1), foreign));
    }

    #[test]
    fn a_continuation_is_also_caused_by_the_tasks_that_settled_what_it_awaited() {
        // await Promise.all([f(), g()]) at top level (invocation 9): f and g each await once and
        // settle in their continuations (tasks 2 and 3); the top level resumes in task 4.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, 10, 100);
        w.call_and_suspend(1, 10, 101);
        w.push(Kind::AwaitSuspend, 1, 12, 9);
        w.resume(2, 11, 100, 1.0);
        w.push(Kind::FnExit, 2, 10, 100);
        w.resume(3, 11, 101, 2.0);
        w.push(Kind::FnExit, 3, 10, 101);
        w.resume(4, 12, 9, 3.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();

        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        let into_4: Vec<_> =
            trace.edges().iter().filter(|e| e.to == t(4)).map(|e| (e.from, e.kind)).collect();
        assert_eq!(
            into_4,
            vec![(t(1), EdgeKind::Await), (t(2), EdgeKind::Resolve), (t(3), EdgeKind::Resolve)]
        );
        assert!(trace.graph().happens_before(t(2), t(4)) && trace.graph().happens_before(t(3), t(4)));
        assert!(trace.graph().concurrent(t(2), t(3)));
    }

    #[test]
    fn batches_of_one_stream_continue_each_other() {
        let mut first = RecordWriter::new();
        first.begin(1, 0.0);
        first.push(Kind::AwaitSuspend, 1, 11, 7);
        let mut second = RecordWriter::starting_at(first.next_seq);
        second.resume(2, 11, 7, 1.0);
        let mut trace = Trace::new();
        trace.ingest(S, &first.bytes).unwrap();
        trace.ingest(S, &second.bytes).unwrap();
        assert_eq!(trace.edges().len(), 1);
    }

    #[test]
    fn gaps_in_sequence_numbers_count_as_dropped_records() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.next_seq += 5;
        w.push(Kind::FnEnter, 1, 10, 0);
        w.next_seq += 2;
        w.resume(2, 11, 99, 1.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let stats = trace.stats();
        assert_eq!(stats.dropped, 7);
        assert_eq!(stats.unmatched_resumes, 1);
    }

    #[test]
    fn a_task_whose_start_was_dropped_becomes_an_orphan_without_causes() {
        let mut w = RecordWriter::new();
        w.push(Kind::FnEnter, 4, 10, 0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        assert_eq!(trace.stats().orphan_tasks, 1);
        assert!(trace.tasks()[0].begin_ms.is_nan());
    }

    #[test]
    fn a_refused_batch_leaves_the_trace_unchanged() {
        let mut good = RecordWriter::new();
        good.begin(1, 0.0);
        let mut trace = Trace::new();
        trace.ingest(S, &good.bytes).unwrap();

        let mut bad = RecordWriter::starting_at(good.next_seq);
        bad.push(Kind::FnEnter, 1, 10, 0);
        bad.bytes.extend_from_slice(&[0xff; RECORD_SIZE]);
        let err = trace.ingest(S, &bad.bytes).unwrap_err();
        assert_eq!(err, IngestError::Decode(DecodeError::UnknownKind { index: 1, kind: 0xff }));
        assert_eq!(trace.stats().records, 1);

        let mut stale = RecordWriter::starting_at(0);
        stale.push(Kind::FnEnter, 1, 10, 0);
        let err = trace.ingest(S, &stale.bytes).unwrap_err();
        assert_eq!(err, IngestError::SeqWentBack { index: 0, seq: 0, expected: 1 });
        assert_eq!(trace.stats().records, 1);
    }

    #[test]
    fn each_http_request_starts_a_task_of_its_own_and_exchange_steps_change_nothing() {
        use crate::findings::FindingClass;
        use crate::record::FLAG_FAILED;
        // Two requests (tasks 2 and 3) each read a balance, await, and write it (tasks 4 and 5),
        // interleaved; their responses and a query arrive in between.
        const BALANCE: u64 = 1 | (5 << 32);
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.record(Kind::HttpRequest, 0, 2, 0, 1 | (2 << 32), 1.0f64.to_bits());
        w.read(2, 20, BALANCE, 100.0);
        w.record(Kind::DbQuery, 0, 2, 0, 7, 1);
        w.push(Kind::AwaitSuspend, 2, 21, 100);
        w.record(Kind::HttpRequest, 0, 3, 0, 1 | (2 << 32), 2.0f64.to_bits());
        w.record(Kind::MessageReceived, 0, 3, 0, 4 | (12 << 32), 1);
        w.read(3, 20, BALANCE, 100.0);
        w.push(Kind::AwaitSuspend, 3, 21, 200);
        w.record(Kind::DbResult, FLAG_FAILED, 3, 0, 1 | (0xffff_ffff << 32), 0.5f64.to_bits());
        w.resume(4, 21, 100, 3.0);
        w.write(4, 22, BALANCE, 90.0);
        w.resume(5, 21, 200, 4.0);
        w.write(5, 22, BALANCE, 80.0);
        w.record(Kind::HttpRoute, 0, 5, 0, 2 | (9 << 32), 0);
        w.record(Kind::HttpResponse, 0, 5, 0, 2 | (200 << 32), 3.5f64.to_bits());
        w.record(Kind::HttpResponse, FLAG_FAILED, 5, 0, 3 | (200 << 32), 3.0f64.to_bits());
        let mut trace = Trace::new();
        assert_eq!(trace.ingest(S, &w.bytes), Ok(17));

        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(trace.tasks().len(), 5);
        assert_eq!(trace.stats().orphan_tasks, 0);
        assert!(trace.graph().concurrent(t(2), t(3)));
        assert!(
            trace.graph().happens_before(t(1), t(2)),
            "a request's only recorded cause is the program's start"
        );
        assert!(trace.graph().happens_before(t(2), t(4)) && trace.graph().happens_before(t(3), t(5)));
        assert_eq!(trace.tasks()[t(3).index()].begin_ms, 2.0);
        let lost: Vec<_> = trace
            .races()
            .findings()
            .all()
            .iter()
            .filter(|f| f.key.class == FindingClass::LostUpdate)
            .collect();
        assert_eq!(lost.len(), 1);
    }

    #[test]
    fn a_declared_message_orders_the_sender_before_the_request_it_sent() {
        const CLIENT: StreamId = StreamId(1);
        const SERVER: StreamId = StreamId(2);
        let mut client = RecordWriter::new();
        client.begin(1, 0.0);
        client.record(Kind::HttpClientRequest, 0, 1, 0, 1 | (2 << 32), 7);
        let mut server = RecordWriter::new();
        server.begin(1, 0.0);
        server.record(Kind::HttpRequest, 0, 2, 0, 1 | (2 << 32), 1.0f64.to_bits());
        server.record(Kind::HttpRequest, 0, 3, 0, 1 | (2 << 32), 2.0f64.to_bits());
        let mut trace = Trace::new();
        trace.ingest(CLIENT, &client.bytes).unwrap();
        assert!(!trace.expect_message(CLIENT, LocalTaskId(9), SERVER, LocalTaskId(2)), "no such sender");
        assert!(trace.expect_message(CLIENT, LocalTaskId(1), SERVER, LocalTaskId(2)));
        trace.ingest(SERVER, &server.bytes).unwrap();
        assert!(!trace.expect_message(CLIENT, LocalTaskId(1), SERVER, LocalTaskId(3)), "already ingested");

        let sender = trace.task_by_local(CLIENT, LocalTaskId(1)).unwrap();
        let handler = trace.task_by_local(SERVER, LocalTaskId(2)).unwrap();
        let other = trace.task_by_local(SERVER, LocalTaskId(3)).unwrap();
        assert!(trace.graph().happens_before(sender, handler));
        assert!(trace.graph().concurrent(sender, other));
        assert_eq!(trace.edges().iter().filter(|e| e.kind == EdgeKind::Message).count(), 1);
    }

    fn edges_into(trace: &Trace, to: TaskIx) -> Vec<(TaskIx, EdgeKind)> {
        trace.edges().iter().filter(|e| e.to == to).map(|e| (e.from, e.kind)).collect()
    }

    #[test]
    fn a_generator_resumed_by_a_next_call_is_caused_by_the_calling_task_too() {
        // An async generator (invocation 7) yields in task 1 (an `Await` site 30). A callback,
        // task 2, calls next(): the generator resumes synchronously in task 3 (flag Called).
        // Another callback, task 4, resumes it again without the flag, and a third, task 6,
        // with the flag but after a dropped record: neither gets an edge from its caller.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.push(Kind::AwaitSuspend, 1, 30, 7);
        w.callback(2, 20, 1.0);
        w.record(Kind::AwaitResume, FLAG_CALLED, 3, 30, 7, 1.5f64.to_bits());
        w.push(Kind::AwaitSuspend, 3, 30, 7);
        w.callback(4, 20, 2.0);
        w.resume(5, 30, 7, 2.5);
        w.push(Kind::AwaitSuspend, 5, 30, 7);
        w.callback(6, 20, 3.0);
        w.next_seq += 1;
        w.record(Kind::AwaitResume, FLAG_CALLED, 7, 30, 7, 3.5f64.to_bits());
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(edges_into(&trace, t(3)), vec![(t(1), EdgeKind::Await), (t(2), EdgeKind::Spawn)]);
        assert!(trace.graph().happens_before(t(2), t(3)));
        assert_eq!(edges_into(&trace, t(5)), vec![(t(3), EdgeKind::Await)]);
        assert!(trace.graph().concurrent(t(4), t(5)));
        assert_eq!(edges_into(&trace, t(7)), vec![(t(5), EdgeKind::Await)]);
    }

    #[test]
    fn a_callback_is_caused_by_its_scheduler_and_by_earlier_callbacks_of_its_queue() {
        use crate::record::Queue;
        // The start schedules two immediates (1, 2), a timeout of 1 ms (3) and one of 5 ms (4).
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.schedule(1, Queue::Immediate, 1, 0, 0.0);
        w.schedule(1, Queue::Immediate, 2, 0, 0.0);
        w.schedule(1, Queue::Timeout, 3, 0, 1.0);
        w.schedule(1, Queue::Timeout, 4, 0, 5.0);
        w.run(2, 1, 1.0);
        w.run(3, 2, 1.0);
        w.run(4, 3, 2.0);
        w.run(5, 4, 6.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(edges_into(&trace, t(2)), vec![(t(1), EdgeKind::Spawn)]);
        assert_eq!(edges_into(&trace, t(3)), vec![(t(1), EdgeKind::Spawn), (t(2), EdgeKind::Fifo)]);
        // Different delays: Node does not promise an order (see the format's "Scheduling").
        assert!(trace.graph().concurrent(t(4), t(5)));
        assert!(trace.graph().concurrent(t(2), t(4)), "immediates and timers are different queues");
        assert_eq!(trace.stats().unmatched_callbacks, 0);
    }

    #[test]
    fn callbacks_scheduled_by_concurrent_tasks_stay_concurrent() {
        use crate::record::Queue;
        // Two requests (2, 3) each schedule a nextTick and a 1 ms timeout.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.record(Kind::HttpRequest, 0, 2, 0, 0, 1.0f64.to_bits());
        w.schedule(2, Queue::NextTick, 1, 0, 0.0);
        w.schedule(2, Queue::Timeout, 2, 0, 1.0);
        w.record(Kind::HttpRequest, 0, 3, 0, 0, 1.0f64.to_bits());
        w.schedule(3, Queue::NextTick, 3, 0, 0.0);
        w.schedule(3, Queue::Timeout, 4, 0, 1.0);
        w.run(4, 1, 2.0);
        w.schedule(4, Queue::NextTick, 5, 0, 0.0);
        w.run(5, 3, 2.0);
        w.run(6, 5, 2.0);
        w.run(7, 2, 3.0);
        w.run(8, 4, 3.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert!(trace.graph().concurrent(t(4), t(5)));
        assert!(trace.graph().concurrent(t(7), t(8)));
        // Tick 5 was queued by tick 1's run, after tick 3 was queued by request 3, which is
        // concurrent with it: no order is promised.
        assert!(trace.graph().concurrent(t(5), t(6)));
        assert!(trace.graph().happens_before(t(4), t(6)));
        assert!(trace.graph().happens_before(t(2), t(7)) && trace.graph().happens_before(t(3), t(8)));
    }

    #[test]
    fn interval_firings_follow_each_other_and_cancelled_callbacks_are_forgotten() {
        use crate::record::Queue;
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.schedule(1, Queue::Interval, 1, 0, 10.0);
        w.schedule(1, Queue::Timeout, 2, 0, 10.0);
        w.run(2, 1, 10.0);
        w.run(3, 2, 10.0);
        w.run(4, 1, 20.0);
        w.push(Kind::Cancel, 4, 0, 1);
        w.run(5, 1, 30.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(edges_into(&trace, t(3)), vec![(t(1), EdgeKind::Spawn), (t(2), EdgeKind::Fifo)]);
        // The interval is re-registered when a firing ends, so after the timeout it preceded.
        assert_eq!(edges_into(&trace, t(4)), vec![(t(2), EdgeKind::Fifo), (t(3), EdgeKind::Fifo)]);
        assert_eq!(edges_into(&trace, t(5)), vec![(t(1), EdgeKind::Startup)]);
        assert_eq!(trace.stats().unmatched_callbacks, 1);
    }

    #[test]
    fn a_stream_s_emissions_follow_each_other_and_the_tasks_that_registered_or_emitted() {
        use crate::record::Queue;
        // Request 2 registers listeners on stream 50 (callback 1); the event loop emits twice
        // (3, 4). Request 5 reads stream 60 (callback 2), emitted once (6). Task 7 emits an event
        // of stream 50 itself, then the loop emits again (8); then the stream is forgotten (9).
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.record(Kind::HttpRequest, 0, 2, 0, 0, 1.0f64.to_bits());
        w.schedule(2, Queue::Emitter, 1, 50, 0.0);
        w.schedule(2, Queue::Emitter, 1, 50, 0.0);
        w.record(Kind::HttpRequest, 0, 5, 0, 0, 1.0f64.to_bits());
        w.schedule(5, Queue::Emitter, 2, 60, 0.0);
        w.run(3, 1, 2.0);
        w.run(6, 2, 2.0);
        w.run(4, 1, 3.0);
        w.callback(7, 9, 4.0);
        w.schedule(7, Queue::Emitter, 1, 50, 0.0);
        w.run(8, 1, 5.0);
        w.push(Kind::Cancel, 8, 0, 1);
        w.run(9, 1, 6.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(edges_into(&trace, t(3)), vec![(t(2), EdgeKind::Spawn)], "one edge per registering task");
        assert_eq!(edges_into(&trace, t(4)), vec![(t(3), EdgeKind::Fifo)]);
        assert_eq!(edges_into(&trace, t(6)), vec![(t(5), EdgeKind::Spawn)]);
        assert!(trace.graph().concurrent(t(3), t(6)) && trace.graph().concurrent(t(4), t(6)), "two streams");
        assert_eq!(edges_into(&trace, t(8)), vec![(t(4), EdgeKind::Fifo), (t(7), EdgeKind::Spawn)]);
        assert_eq!(edges_into(&trace, t(9)), vec![(t(1), EdgeKind::Startup)]);
        assert_eq!(trace.stats().unmatched_callbacks, 1);
    }

    #[test]
    fn reactions_of_one_promise_run_in_registration_order_and_others_do_not() {
        use crate::record::Queue;
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.schedule(1, Queue::Reaction, 1, 7, 0.0);
        w.schedule(1, Queue::Reaction, 2, 8, 0.0);
        w.schedule(1, Queue::Reaction, 3, 7, 0.0);
        w.run(2, 1, 1.0);
        w.run(3, 2, 1.0);
        w.run(4, 3, 1.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert!(trace.graph().happens_before(t(2), t(4)));
        assert!(trace.graph().concurrent(t(2), t(3)) && trace.graph().concurrent(t(3), t(4)));
    }

    #[test]
    fn a_span_runs_between_its_caller_and_the_callers_continuation() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.record(Kind::SpanBegin, 0, 2, 0, 5 | (1 << 32), 1.0f64.to_bits());
        w.record(Kind::SpanEnd, 0, 3, 0, 2, 2.0f64.to_bits());
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        let t = |local| trace.task_by_local(S, LocalTaskId(local)).unwrap();
        assert_eq!(edges_into(&trace, t(2)), vec![(t(1), EdgeKind::Spawn)]);
        assert_eq!(edges_into(&trace, t(3)), vec![(t(2), EdgeKind::Spawn)]);
        assert_eq!(trace.graph().chain_count(), 1);
        // A span declared to handle a message (causeway.continueTrace) is caused by its sender.
        let caller = t(3);
        let mut sender = RecordWriter::new();
        sender.begin(1, 0.0);
        sender.record(Kind::MessageSent, 0, 1, 0, 0, 1);
        trace.ingest(StreamId(2), &sender.bytes).unwrap();
        let from = trace.task_by_local(StreamId(2), LocalTaskId(1)).unwrap();
        assert!(trace.expect_message(StreamId(2), LocalTaskId(1), S, LocalTaskId(4)));
        let mut more = RecordWriter::starting_at(w.next_seq);
        more.record(Kind::SpanBegin, 0, 4, 0, 6 | (3 << 32), 3.0f64.to_bits());
        trace.ingest(S, &more.bytes).unwrap();
        let handler = trace.task_by_local(S, LocalTaskId(4)).unwrap();
        assert_eq!(edges_into(&trace, handler), vec![(caller, EdgeKind::Spawn), (from, EdgeKind::Message)]);
    }

    #[test]
    fn a_declared_response_orders_the_responder_before_the_client_continuation() {
        const CLIENT: StreamId = StreamId(1);
        const SERVER: StreamId = StreamId(2);
        // The client sends exchange 7 from task 1 and awaits (invocation 5); the server handles
        // it in task 2, awaits, and answers from task 3; the client resumes in task 2.
        let mut client = RecordWriter::new();
        client.begin(1, 0.0);
        client.record(Kind::HttpClientRequest, 0, 1, 0, 1 | (2 << 32), 7);
        client.push(Kind::AwaitSuspend, 1, 11, 5);
        let mut server = RecordWriter::new();
        server.begin(1, 0.0);
        server.record(Kind::HttpRequest, 0, 2, 0, 1 | (2 << 32), 1.0f64.to_bits());
        server.push(Kind::AwaitSuspend, 2, 11, 9);
        server.resume(3, 11, 9, 2.0);
        let mut after = RecordWriter::starting_at(client.next_seq);
        after.record(Kind::ResponseReceived, 0, 1, 0, 7 | (3 << 32), 2);
        after.resume(2, 11, 5, 3.0);
        let mut trace = Trace::new();
        trace.ingest(CLIENT, &client.bytes).unwrap();
        assert!(trace.expect_message(CLIENT, LocalTaskId(1), SERVER, LocalTaskId(2)));
        assert!(
            !trace.expect_response(SERVER, LocalTaskId(3), LocalTaskId(2), CLIENT, LocalTaskId(2)),
            "no responder yet"
        );
        trace.ingest(SERVER, &server.bytes).unwrap();
        assert!(trace.expect_response(SERVER, LocalTaskId(3), LocalTaskId(2), CLIENT, LocalTaskId(2)));
        trace.ingest(CLIENT, &after.bytes).unwrap();
        assert!(
            !trace.expect_response(SERVER, LocalTaskId(3), LocalTaskId(2), CLIENT, LocalTaskId(2)),
            "already ingested"
        );

        let sender = trace.task_by_local(CLIENT, LocalTaskId(1)).unwrap();
        let continuation = trace.task_by_local(CLIENT, LocalTaskId(2)).unwrap();
        let request = trace.task_by_local(SERVER, LocalTaskId(2)).unwrap();
        let responder = trace.task_by_local(SERVER, LocalTaskId(3)).unwrap();
        assert!(trace.graph().happens_before(responder, continuation));
        assert!(trace.graph().happens_before(request, continuation));
        assert!(trace.graph().happens_before(sender, responder));
        let into: Vec<_> =
            trace.edges().iter().filter(|e| e.to == continuation).map(|e| (e.from, e.kind)).collect();
        assert_eq!(into, vec![(sender, EdgeKind::Await), (responder, EdgeKind::Response)]);
        assert_eq!(trace.stats().orphan_tasks, 0);
    }

    #[test]
    fn a_response_named_by_a_task_outside_the_request_comes_from_the_request_task() {
        const CLIENT: StreamId = StreamId(1);
        const SERVER: StreamId = StreamId(2);
        // The server handles two requests (tasks 2 and 3); the response to the first names task
        // 3, the runtime's current task when a framework's callback wrote it.
        let mut server = RecordWriter::new();
        server.begin(1, 0.0);
        server.record(Kind::HttpRequest, 0, 2, 0, 1 | (2 << 32), 1.0f64.to_bits());
        server.record(Kind::HttpRequest, 0, 3, 0, 1 | (2 << 32), 2.0f64.to_bits());
        let mut client = RecordWriter::new();
        client.begin(1, 0.0);
        client.push(Kind::AwaitSuspend, 1, 11, 5);
        let mut after = RecordWriter::starting_at(client.next_seq);
        after.resume(2, 11, 5, 3.0);
        let mut trace = Trace::new();
        trace.ingest(SERVER, &server.bytes).unwrap();
        trace.ingest(CLIENT, &client.bytes).unwrap();
        assert!(trace.expect_response(SERVER, LocalTaskId(3), LocalTaskId(2), CLIENT, LocalTaskId(2)));
        trace.ingest(CLIENT, &after.bytes).unwrap();
        let first = trace.task_by_local(SERVER, LocalTaskId(2)).unwrap();
        let second = trace.task_by_local(SERVER, LocalTaskId(3)).unwrap();
        let continuation = trace.task_by_local(CLIENT, LocalTaskId(2)).unwrap();
        assert!(trace.graph().happens_before(first, continuation));
        assert!(trace.graph().concurrent(second, continuation), "no edge from the other request");
    }

    #[test]
    fn streams_number_their_tasks_independently() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        let mut trace = Trace::new();
        trace.ingest(StreamId(1), &w.bytes).unwrap();
        trace.ingest(StreamId(2), &w.bytes).unwrap();
        assert_eq!(trace.tasks().len(), 2);
        assert!(trace.graph().concurrent(TaskIx(0), TaskIx(1)));
    }
}
