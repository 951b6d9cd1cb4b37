//! The contract the incremental race detector is held to: a naive search over the whole trace,
//! every pair and every triple of accesses, with happens-before by plain reachability over the
//! recorded edges, written straight from the definitions in docs/detectors.md. Far too slow for
//! real traces; the property tests below run both on many random small ones and demand the same
//! findings, evidence, occurrence counts and folding.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::{Access, AccessKind, Location};
use crate::findings::{Evidence, Finding, FindingClass, FindingKey, Role};
use crate::graph::{CausalGraph, Edge, EdgeKind};
use crate::ids::{ChainIx, StreamId, TaskIx};
use crate::races::RaceDetector;
use crate::record::{self, Kind, ValueTag, FLAG_DELETE, RECORD_SIZE};
use crate::testing::{RecordWriter, Rng};
use crate::trace::Trace;

/// An access as the reference sees it, in arrival order.
#[derive(Clone, Copy, Debug)]
struct Arrived {
    location: Location,
    access: Access,
}

/// `hb[a][b]`: task `a` happens strictly before task `b`, by reachability over the edges.
struct Reachability(Vec<Vec<bool>>);

impl Reachability {
    fn from_edges(tasks: usize, edges: &[Edge]) -> Reachability {
        let mut hb = vec![vec![false; tasks]; tasks];
        for (from, row) in hb.iter_mut().enumerate() {
            let mut stack = vec![from];
            while let Some(t) = stack.pop() {
                for e in edges.iter().filter(|e| e.from.index() == t) {
                    if !row[e.to.index()] {
                        row[e.to.index()] = true;
                        stack.push(e.to.index());
                    }
                }
            }
        }
        Reachability(hb)
    }

    fn hb(&self, a: TaskIx, b: TaskIx) -> bool {
        self.0[a.index()][b.index()]
    }

    fn concurrent(&self, a: TaskIx, b: TaskIx) -> bool {
        a != b && !self.hb(a, b) && !self.hb(b, a)
    }
}

/// The definition of a pair race.
fn is_pair_race(a: &Access, b: &Access, hb: &Reachability) -> bool {
    hb.concurrent(a.task, b.task) && (a.kind.writes() || b.kind.writes()) && !a.race_is_harmless(b)
}

/// The definition of an atomicity violation's tasks: x before y, z unordered with y and
/// neither x's task nor before it.
fn is_pattern(x: &Access, z: &Access, y: &Access, hb: &Reachability) -> bool {
    hb.hb(x.task, y.task) && hb.concurrent(z.task, y.task) && z.task != x.task && !hb.hb(z.task, x.task)
}

fn pattern_classes<'a>(
    x: &'a Access,
    z: &'a Access,
    y: &'a Access,
) -> impl Iterator<Item = FindingClass> + 'a {
    FindingClass::PATTERNS.into_iter().filter(move |class| class.fits(x.kind, z.kind, y.kind))
}

#[derive(Debug, Default, PartialEq)]
struct Expected {
    /// Best evidence of each finding.
    evidence: BTreeMap<FindingKey, Evidence>,
    /// Distinct (arrival of the instance's last access, its role) per finding.
    completions: BTreeMap<FindingKey, BTreeSet<(usize, u8)>>,
}

impl Expected {
    fn add(&mut self, key: FindingKey, evidence: Evidence, last: usize, role: Role) {
        let best = self.evidence.entry(key).or_insert(evidence);
        *best = (*best).min(evidence);
        self.completions.entry(key).or_default().insert((last, role as u8));
    }

    fn occurrences(&self) -> BTreeMap<FindingKey, u64> {
        self.completions.iter().map(|(k, c)| (*k, c.len() as u64)).collect()
    }

    /// The report after folding: (key, evidence, related). A pair is folded when a pattern on
    /// its location has both its sites (as a multiset: a write-write pair of one site needs the
    /// site twice).
    fn folded(&self) -> BTreeSet<(FindingKey, Evidence, u32)> {
        let within = |pair: &FindingKey, pattern: &FindingKey| {
            let [p, q, _] = pair.sites;
            let count = |s| pattern.sites.iter().filter(|&&t| t == s).count();
            pattern.location == pair.location
                && if p == q { count(p) >= 2 } else { count(p) >= 1 && count(q) >= 1 }
        };
        let patterns: Vec<_> = self.evidence.keys().filter(|k| k.class.is_pattern()).collect();
        let mut out = BTreeSet::new();
        for (key, &evidence) in &self.evidence {
            if key.class.is_pattern() {
                let related =
                    self.evidence.keys().filter(|p| !p.class.is_pattern() && within(p, key)).count();
                out.insert((*key, evidence, related as u32));
            } else if !patterns.iter().any(|p| within(key, p)) {
                out.insert((*key, evidence, 0));
            }
        }
        out
    }
}

/// Every pair and every triple. Evidence and completion order come from the arrival order
/// (which, within a stream, is the recorded order), not from the accesses' `ord`.
fn naive(arrived: &[Arrived], hb: &Reachability) -> Expected {
    let mut expected = Expected::default();
    let n = arrived.len();
    for j in 0..n {
        for i in 0..j {
            let (a, b) = (&arrived[i], &arrived[j]);
            if a.location == b.location && is_pair_race(&a.access, &b.access, hb) {
                let key = FindingKey::pair(a.location, &a.access, &b.access);
                expected.add(key, key.class.pair_evidence(), j, Role::Second);
            }
        }
    }
    for ix in 0..n {
        for iz in 0..n {
            for iy in 0..n {
                let (x, z, y) = (&arrived[ix], &arrived[iz], &arrived[iy]);
                if x.location != y.location || z.location != y.location {
                    continue;
                }
                let (xa, za, ya) = (&x.access, &z.access, &y.access);
                if !is_pattern(xa, za, ya, hb) {
                    continue;
                }
                let evidence = if ix < iz && iz < iy { Evidence::Observed } else { Evidence::Possible };
                let last = ix.max(iz).max(iy);
                let role = if last == iy {
                    Role::Second
                } else if last == iz {
                    Role::Remote
                } else {
                    Role::First
                };
                for class in pattern_classes(xa, za, ya) {
                    let key = FindingKey::pattern(class, y.location, xa.site, za.site, ya.site);
                    expected.add(key, evidence, last, role);
                }
            }
        }
    }
    expected
}

/// Is the finding's example an instance of its key, with its evidence?
fn check_example(finding: &Finding, hb: &Reachability) {
    let accesses: Vec<_> = finding.example.accesses().map(|(_, a)| *a).collect();
    let key = finding.key;
    if let [x, z, y] = accesses[..] {
        assert!(is_pattern(&x, &z, &y, hb), "{finding:?}");
        assert!(pattern_classes(&x, &z, &y).any(|c| c == key.class), "{finding:?}");
        assert_eq!(key, FindingKey::pattern(key.class, key.location, x.site, z.site, y.site));
        let observed = x.ord < z.ord && z.ord < y.ord;
        assert_eq!(finding.evidence == Evidence::Observed, observed, "{finding:?}");
    } else if let [a, b] = accesses[..] {
        assert!(is_pair_race(&a, &b, hb), "{finding:?}");
        assert!(a.ord < b.ord, "{finding:?}");
        assert_eq!(key, FindingKey::pair(key.location, &a, &b));
    } else {
        panic!("an example has two or three accesses: {finding:?}");
    }
}

/// Compares the detector with the reference: exactly when `exact`, else only that everything
/// the detector reports is true (what late accesses allow).
fn compare(detector: &RaceDetector, arrived: &[Arrived], hb: &Reachability, exact: bool, what: &str) {
    let expected = naive(arrived, hb);
    let findings = detector.findings();
    for finding in findings.all() {
        check_example(finding, hb);
    }
    let got: BTreeMap<FindingKey, Evidence> = findings.all().iter().map(|f| (f.key, f.evidence)).collect();
    if exact {
        assert_eq!(got, expected.evidence, "finding keys and evidence differ on {what}");
        let occurrences: BTreeMap<FindingKey, u64> =
            findings.all().iter().map(|f| (f.key, f.occurrences)).collect();
        assert_eq!(occurrences, expected.occurrences(), "occurrences differ on {what}");
        let folded: BTreeSet<_> =
            findings.report().iter().map(|r| (r.finding.key, r.finding.evidence, r.related)).collect();
        assert_eq!(folded, expected.folded(), "folded reports differ on {what}");
    } else {
        for (key, evidence) in &got {
            let best =
                expected.evidence.get(key).unwrap_or_else(|| panic!("{key:?} is not a race on {what}"));
            assert!(best <= evidence, "{key:?}: {evidence:?} claimed, {best:?} at best, on {what}");
        }
    }
}

const READ_SITES: [u32; 3] = [1, 2, 3];
const WRITE_SITES: [u32; 2] = [11, 12];
const UPDATE_SITE: u32 = 21;

/// An access record's (kind, flags, site, value).
type AccessFields = (Kind, u8, u32, u64);

/// A random access record's fields; values repeat often, so same-value writes happen, some are
/// not captured, and some reads see `undefined` (order violations, when a write of a value races).
fn random_access(rng: &mut Rng) -> AccessFields {
    let (tag, value) = match rng.below(7) {
        0 => (ValueTag::None, 0),
        1 => (ValueTag::True, 0),
        6 => (ValueTag::Undefined, 0),
        2 => (ValueTag::Number, 2f64.to_bits()),
        _ => (ValueTag::Number, 1f64.to_bits()),
    };
    let tag = tag as u8;
    match rng.below(10) {
        0..=3 => (Kind::Read, tag, READ_SITES[rng.below(3) as usize], value),
        4..=7 => (Kind::Write, tag, WRITE_SITES[rng.below(2) as usize], value),
        8 => (Kind::Write, FLAG_DELETE, WRITE_SITES[1], 0),
        _ => (Kind::Write, crate::record::FLAG_UPDATE | tag, UPDATE_SITE, value),
    }
}

/// Runs the detector on a random DAG of tasks (with joins) and returns it with what arrived and
/// the graph's reachability.
///
/// Tasks start once their causes have finished, running tasks' accesses interleave at random, and
/// a chain is ended as soon as no unfinished task has or will have it in its clock. When `late`,
/// tasks start once their causes merely started (so they may have accesses after their
/// successors' accesses), and random chains are ended whether or not they have.
fn random_dag_run(
    rng: &mut Rng,
    late: bool,
    scan_all_below: usize,
) -> (RaceDetector, Vec<Arrived>, Reachability) {
    let count = 2 + rng.below(9) as usize;
    let locations = 1 + rng.below(3);
    let mut causes: Vec<Vec<usize>> = Vec::new();
    let mut plans: Vec<Vec<(u64, AccessFields)>> = Vec::new();
    for i in 0..count {
        let mut mine = Vec::new();
        if i > 0 && rng.below(5) != 0 {
            for _ in 0..1 + rng.below(2) {
                let cause = rng.below(i as u64) as usize;
                if !mine.contains(&cause) {
                    mine.push(cause);
                }
            }
        }
        causes.push(mine);
        plans.push((0..rng.below(5)).map(|_| (1 + rng.below(locations), random_access(rng))).collect());
    }

    let mut graph = CausalGraph::new();
    let mut detector = RaceDetector::scanning_all_below(scan_all_below);
    let mut arrived = Vec::new();
    let mut task_of: Vec<Option<TaskIx>> = vec![None; count];
    let mut done = vec![false; count];
    let mut next = vec![0usize; count];
    let mut ord = 0u64;
    loop {
        if late {
            if rng.below(4) == 0 && graph.chain_count() > 0 {
                detector.end_chain(ChainIx(rng.below(graph.chain_count() as u64) as u32));
            }
        } else {
            end_chains(&mut detector, &graph, &causes, &task_of, &done);
        }
        let startable = (0..count).filter(|&i| {
            task_of[i].is_none()
                && causes[i].iter().all(|&c| if late { task_of[c].is_some() } else { done[c] })
        });
        let running = (0..count).filter(|&i| task_of[i].is_some() && !done[i]);
        let choices: Vec<usize> = startable.chain(running).collect();
        let Some(&i) = choices.get(rng.below(choices.len().max(1) as u64) as usize) else { break };
        match task_of[i] {
            None => {
                let edges: Vec<_> =
                    causes[i].iter().map(|&c| (task_of[c].unwrap(), EdgeKind::Await)).collect();
                task_of[i] = Some(graph.add_task(&edges));
            }
            Some(task) => match plans[i].get(next[i]) {
                None => done[i] = true,
                Some(&(address, (kind, flags, site, value))) => {
                    next[i] += 1;
                    ord += 1 + if rng.below(4) == 0 { rng.below(3) } else { 0 };
                    let access = Access {
                        task,
                        seq: ord as u32,
                        ord,
                        site,
                        kind: AccessKind::of_record(kind, flags).unwrap(),
                        flags,
                        value,
                    };
                    let location = Location { stream: StreamId(1), address };
                    detector.on_access(&graph, location, access);
                    arrived.push(Arrived { location, access });
                }
            },
        }
    }
    let hb = Reachability::from_edges(graph.task_count(), graph.edges());
    (detector, arrived, hb)
}

/// Ends every chain that no unfinished task (running, or not started) has or will have in its
/// clock: a started task's clock covers its ancestors, an unstarted one inherits its causes'.
fn end_chains(
    detector: &mut RaceDetector,
    graph: &CausalGraph,
    causes: &[Vec<usize>],
    task_of: &[Option<TaskIx>],
    done: &[bool],
) {
    let mut live = vec![false; graph.chain_count()];
    for unfinished in (0..causes.len()).filter(|&i| !done[i]) {
        let mut stack = vec![unfinished];
        while let Some(t) = stack.pop() {
            match task_of[t] {
                Some(task) => {
                    graph.clock_of(task).entries().iter().for_each(|&(c, _)| live[c.index()] = true)
                }
                None => stack.extend(&causes[t]),
            }
        }
    }
    for (chain, live) in live.into_iter().enumerate() {
        if !live {
            detector.end_chain(ChainIx(chain as u32));
        }
    }
}

/// Even runs use the indexed scan for every access that is not late, odd runs read every group.
fn both_scans(run: usize) -> usize {
    if run.is_multiple_of(2) {
        0
    } else {
        usize::MAX
    }
}

#[test]
fn the_detector_finds_what_the_naive_search_finds_on_random_dags() {
    let mut rng = Rng::new(0xdec0de);
    let (mut findings, mut patterns, mut observed, mut ended) = (0, 0, 0, 0);
    for run in 0..3000 {
        let (detector, arrived, hb) = random_dag_run(&mut rng, false, both_scans(run));
        assert_eq!(detector.stats().late_accesses, 0);
        ended += detector.stats().ended_chains;
        compare(&detector, &arrived, &hb, true, &format!("DAG run {run}: {arrived:#?}"));
        findings += detector.findings().len();
        patterns += detector.findings().all().iter().filter(|f| f.key.class.is_pattern()).count();
        observed += detector.findings().all().iter().filter(|f| f.evidence == Evidence::Observed).count();
    }
    // The generator must exercise what it tests.
    assert!(findings > 5000 && patterns > 2000 && observed > 500, "{findings} {patterns} {observed}");
    assert!(ended > 3000, "{ended}");
}

#[test]
fn late_accesses_never_make_up_a_race() {
    let mut rng = Rng::new(0x1a7e);
    let mut late = 0;
    for run in 0..2000 {
        let (detector, arrived, hb) = random_dag_run(&mut rng, true, both_scans(run));
        late += detector.stats().late_accesses;
        compare(&detector, &arrived, &hb, false, &format!("late run {run}: {arrived:#?}"));
    }
    assert!(late > 1000, "{late}");
}

/// One stream as a JavaScript runtime writes it: tasks one after another, each a program start
/// or an await continuation, doing a few accesses and calling async functions that suspend; a
/// continuation then awaits again (what it called, if anything) or settles its invocation.
fn js_like_stream(rng: &mut Rng, first_seq: u32) -> Vec<u8> {
    const FN: u32 = 50;
    let tasks = 2 + rng.below(10) as u32;
    let mut w = RecordWriter::starting_at(first_seq);
    let mut pending: Vec<u64> = Vec::new();
    let mut next_invocation = 1;
    let locations = 1 + rng.below(3);
    for task in 1..=tasks {
        let resumed = if pending.is_empty() || rng.below(5) == 0 {
            w.begin(task, 0.0);
            None
        } else {
            let invocation = pending.swap_remove(rng.below(pending.len() as u64) as usize);
            w.resume(task, FN + 1, invocation, 0.0);
            Some(invocation)
        };
        for _ in 0..rng.below(4) {
            let (kind, flags, site, value) = random_access(rng);
            w.record(kind, flags, task, site, 1 + rng.below(locations), value);
            if rng.below(8) == 0 {
                w.next_seq = w.next_seq.wrapping_add(2); // dropped records
            }
        }
        for _ in 0..rng.below(3) {
            w.call_and_suspend(task, FN, next_invocation);
            pending.push(next_invocation);
            next_invocation += 1;
        }
        // The resumed invocation awaits again (what it just called, if anything), or settles.
        if let Some(invocation) = resumed {
            if rng.below(2) == 0 {
                w.push(Kind::AwaitSuspend, task, FN + 1, invocation);
                pending.push(invocation);
            } else {
                w.push(Kind::FnExit, task, FN, invocation);
            }
        }
    }
    w.bytes
}

#[test]
fn the_detector_finds_what_the_naive_search_finds_on_recorded_streams() {
    let mut rng = Rng::new(0x57ea);
    let (mut findings, mut ended) = (0, 0);
    for run in 0..1000 {
        // Stream 2 starts near the end of the sequence space, so its numbers wrap.
        let streams = [
            (StreamId(1), js_like_stream(&mut rng, 0)),
            (StreamId(2), js_like_stream(&mut rng, u32::MAX - 8)),
        ];
        let mut trace = Trace::new();
        let mut at = [0usize; 2];
        let mut ingested: Vec<(StreamId, Vec<u8>)> = Vec::new();
        while at.iter().zip(&streams).any(|(&a, s)| a < s.1.len()) {
            let which = rng.below(2) as usize;
            let (stream, bytes) = (&streams[which].0, &streams[which].1);
            let records = (bytes.len() - at[which]) / RECORD_SIZE;
            if records == 0 {
                continue;
            }
            let take = (1 + rng.below(records as u64) as usize) * RECORD_SIZE;
            let batch = bytes[at[which]..at[which] + take].to_vec();
            trace.ingest(*stream, &batch).unwrap();
            ingested.push((*stream, batch));
            at[which] += take;
        }

        let mut arrived = Vec::new();
        for (stream, batch) in &ingested {
            for index in 0..batch.len() / RECORD_SIZE {
                let rec = record::decode_at(batch, index * RECORD_SIZE, index).unwrap();
                if let Some(kind) = AccessKind::of_record(rec.kind, rec.flags) {
                    let task = trace.task_by_local(*stream, rec.task).unwrap();
                    let access = Access {
                        task,
                        seq: rec.seq,
                        ord: 0,
                        site: rec.site,
                        kind,
                        flags: rec.flags,
                        value: rec.b,
                    };
                    arrived.push(Arrived { location: Location { stream: *stream, address: rec.a }, access });
                }
            }
        }
        let races = trace.races();
        assert_eq!(races.stats().late_accesses, 0);
        assert_eq!(races.stats().accesses, arrived.len() as u64);
        let hb = Reachability::from_edges(trace.tasks().len(), trace.edges());
        compare(races, &arrived, &hb, true, &format!("stream run {run}"));
        findings += races.findings().len();
        ended += races.stats().ended_chains;
    }
    assert!(findings > 2000 && ended > 1000, "{findings} {ended}");
}
