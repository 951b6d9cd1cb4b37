//! The incremental race detector: each access is checked, as it arrives, against the bounded
//! shadow state of its location (shadow.rs), and the races it completes are recorded as
//! findings (findings.rs). docs/detectors.md defines the classes; this comment says why the
//! detector finds exactly what an all-pairs, all-triples search over the whole trace finds.
//!
//! # What a new access can complete
//!
//! An instance is completed by whichever of its accesses arrives last. For a pair (x, y) that is
//! the later one. For a pattern (x, z, y), where the task of x happens before the task of y,
//! it is y (the access plays *second*) or z (it plays *remote*), never x: see "Arrival order".
//!
//! # Why first and last per (chain, slot) suffice
//!
//! Let `a` be the new access, in task T, and `C` any chain. The tasks of C are totally ordered,
//! so the accesses a group (C, slot) summarises are too, and with T's clock `c`:
//! an entry at position `p` of C happens before T iff `p <= c[C]` (and it is not T itself).
//! Nothing that arrived before `a` happens after T (see "Arrival order"), so every other entry
//! is concurrent with T. Hence "happens before `a`" is a prefix of the group, witnessed by the
//! group's *first* access, which also has the smallest stream position; "concurrent with `a`"
//! is a suffix, witnessed by its *last* access, which has the largest.
//!
//! * Pairs. A racing partner exists in a group iff its last access is concurrent with `a`,
//!   except for the same-value rule: if that last write stored what `a` stores, an earlier write
//!   in the suffix with another value still races. `last_differing` (the latest write whose value
//!   differs from the last's) is in the suffix iff such a write exists there.
//! * `a` as second. (x, z, a) is an instance iff x happens before T, z is concurrent with T, and
//!   z is not x's task nor before it. The last condition follows from the other two (z before or
//!   in x's task, and x before T, would put z before T), so x and z can be chosen independently:
//!   some x at a slot exists iff some group's first happens before T, and some z iff some group's
//!   last is concurrent with T. The interleaving was observed iff some such x was recorded before
//!   some such z (`a` is the newest): the smallest-position x and the largest-position z decide.
//! * `a` as remote. (x, a, y) is an instance iff y is concurrent with T and x happens before y
//!   (x in T or before T would then put T before y). Take y's group: its last access is
//!   concurrent with T whenever y is, and everything before y is before the last too; each
//!   group remembers, in `seen`, the slots with an access before its last, and the earliest
//!   such access (computed when the last arrived, from the same first-access test). The evidence
//!   is never observed: `a` was recorded after y.
//!
//! # Ended chains
//!
//! When the trace says a chain has ended (liveness.rs: no task that may still run or cause
//! another has it in its clock), no access to come has it in its clock either: every entry of
//! the chain is concurrent with every access to come, and none happens before one. Its groups
//! then answer only "the latest-recorded concurrent access", "a concurrent write of another
//! value" and "the slots seen before a concurrent last access", which fold across groups into one
//! summary per slot (shadow.rs, `EndedSlot`). So a location touched by one short flow after
//! another (a request handler each) costs work per access for the flows in flight, not for every
//! flow so far.
//!
//! # Indexed scan
//!
//! Reading every group of a location costs work per access in proportion to the chains that
//! touched it. Past a few groups the detector answers the same questions from indexes instead
//! (`scan_indexed`). A group happens before, or is not concurrent with, the new access of task T
//! only if its chain has a component in T's clock: every other chain has position 0 there, and
//! a group's positions start at 1. T's clock is sparse and usually holds one to three chains, so
//! the groups of those chains at the location (`chain_heads`, a list per chain through
//! `Group::next_of_chain`) give every "happens before" witness and every group that is *not*
//! concurrent. Each slot keeps its groups in order of their last access, latest first
//! (`SlotState::front`, `Group::next`): the latest concurrent access is the first concurrent
//! group in that order, reached after skipping only non-concurrent ones. The union of the
//! concurrent groups' `seen` is the slots whose count in `seen_counts` exceeds their count among
//! the non-concurrent groups.
//! A pair partner is looked for in the same order and found at once unless concurrent groups
//! wrote the value the new access writes. The answers are the same as a full scan's, so the
//! arguments above hold unchanged; late accesses still read every group, and the reference tests
//! run both scans.
//!
//! # Arrival order
//!
//! The argument needs one property of the order accesses arrive in: when an access of task T
//! arrives, no access of a task after T has arrived. A JavaScript task runs to completion before
//! anything it causes can start, so a recording where each task's records are contiguous in its
//! stream has it, and a location's accesses all come from one stream. The detector does not
//! assume it: an access whose task already has successors in the graph, or whose clock has an
//! ended chain, is *late*; for a late access the concurrency test also asks the graph whether T
//! happens before the entry, and ended summaries are tested like live entries, so every reported
//! instance is still a true one. A late access can hide a finding (a first or last entry
//! may then be after the accesses the argument assumed it stands for); `RaceStats::late_accesses`
//! counts them, so a report can say so.

use crate::access::{Access, AccessKind, Location};
use crate::clock::Clock;
use crate::findings::{Evidence, Finding, FindingClass, FindingKey, FindingReport, Findings, Instance, Role};
use crate::graph::CausalGraph;
use crate::hash::FastMap;
use crate::ids::{ChainIx, TaskIx};
use crate::shadow::{EndedSlot, Entry, Group, LocationShadow, Seen, SlotIx, SlotSet, NONE};

/// Counters of what the detector has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaceStats {
    pub accesses: u64,
    pub locations: u32,
    /// Groups of live chains over all locations: the part of the detector's memory, and of its
    /// work per access, that grows with concurrency.
    pub live_groups: u64,
    /// Chains the trace said had ended, whose groups were folded into per-slot summaries.
    pub ended_chains: u64,
    /// Accesses whose task already had successors, or had an ended chain in its clock, when they
    /// arrived (see "Arrival order"): when not zero, findings are still true races but some may
    /// be missing.
    pub late_accesses: u64,
}

/// What one scan of a location learnt about one slot, relative to the new access.
#[derive(Clone, Debug, Default)]
struct SlotScan {
    /// The earliest-recorded access that happens before the new one.
    before: Option<Access>,
    /// The latest-recorded access concurrent with the new one.
    concurrent: Option<Access>,
    /// An access that races with the new one, if the slot has one.
    pair: Option<Access>,
    /// Union of what the concurrent groups' last accesses saw.
    linked: SlotSet,
}

impl SlotScan {
    fn reset(&mut self) {
        self.before = None;
        self.concurrent = None;
        self.pair = None;
        self.linked.clear();
    }

    fn offer_before(&mut self, access: Access) {
        if self.before.is_none_or(|b| b.ord > access.ord) {
            self.before = Some(access);
        }
    }

    fn offer_concurrent(&mut self, access: Access, seen: &SlotSet) {
        if self.concurrent.is_none_or(|c| c.ord < access.ord) {
            self.concurrent = Some(access);
        }
        self.linked.union_with(seen);
    }
}

/// The access being added, with what the graph says about its task.
struct Arrival<'g> {
    graph: &'g CausalGraph,
    access: Access,
    chain: ChainIx,
    position: u32,
    clock: Clock<'g>,
    /// The task already has successors, or an ended chain in its clock: entries after it may
    /// exist, and ended summaries may hold entries before it.
    late: bool,
}

impl Arrival<'_> {
    /// Are `entry` and the new access in distinct, unordered tasks?
    fn is_concurrent(&self, entry: &Entry) -> bool {
        self.unordered(entry.access.task, entry.position, || self.clock.get(entry.chain))
    }

    /// Is an access of `task`, at `position` of a chain whose positions up to `horizon()` happen
    /// before (or are) the new access's task, in a distinct task unordered with it? `horizon` is
    /// asked only for another task's access (asking it first measured 4% more instructions).
    fn unordered(&self, task: TaskIx, position: u32, horizon: impl FnOnce() -> u32) -> bool {
        task != self.access.task
            && position > horizon()
            && !(self.late && self.graph.happens_before(self.access.task, task))
    }

    /// Do the new access and one of `last` / `other` race, given `last` is concurrent with it?
    /// `other` is an earlier write (of `last`'s group or slot) whose value differs from `last`'s:
    /// when `last` wrote what the new access writes, it is the one that may still race.
    fn racing(&self, last: &Entry, other: Option<Entry>) -> Option<Access> {
        let (mine, theirs) = (self.access.kind.writes(), last.access.kind.writes());
        if !mine && !theirs {
            return None;
        }
        if !last.access.race_is_harmless(&self.access) {
            return Some(last.access);
        }
        other.filter(|e| self.is_concurrent(e) && !e.access.race_is_harmless(&self.access)).map(|e| e.access)
    }
}

pub struct RaceDetector {
    by_location: FastMap<Location, u32>,
    shadows: Vec<LocationShadow>,
    /// For each live chain with groups: (location, group index) of each, so that the chain's
    /// groups can be folded away when it ends. A group's `member` is its index here.
    chain_groups: FastMap<ChainIx, Vec<(u32, u32)>>,
    /// For each (location, live chain) with groups there: the first of the chain's groups at the
    /// location, a list through `Group::next_of_chain` (see "Indexed scan").
    chain_heads: FastMap<(u32, ChainIx), u32>,
    /// Groups of the new access's location that are not concurrent with it, reused from access
    /// to access.
    ordered: Vec<u32>,
    /// Locations with fewer live groups than this are scanned group by group (see "Indexed scan").
    scan_all_below: usize,
    /// Chains that have ended, by index.
    ended: Vec<bool>,
    /// (task, ended chains then, answer) of the last `sees_ended` question.
    sees_ended_cache: Option<(TaskIx, u64, bool)>,
    findings: Findings,
    /// Per-slot scan results, reused from access to access.
    scan: Vec<SlotScan>,
    /// What the new access saw, reused likewise.
    seen: Seen,
    stats: RaceStats,
}

/// Below this many live groups at a location, reading every group's head is faster than the
/// index (measured with `race_bench` at widths 2 and 10).
const SCAN_ALL_BELOW: usize = 16;

impl Default for RaceDetector {
    fn default() -> RaceDetector {
        RaceDetector {
            by_location: FastMap::default(),
            shadows: Vec::new(),
            chain_groups: FastMap::default(),
            chain_heads: FastMap::default(),
            ordered: Vec::new(),
            scan_all_below: SCAN_ALL_BELOW,
            ended: Vec::new(),
            sees_ended_cache: None,
            findings: Findings::default(),
            scan: Vec::new(),
            seen: Seen::default(),
            stats: RaceStats::default(),
        }
    }
}

impl RaceDetector {
    pub fn new() -> RaceDetector {
        RaceDetector::default()
    }

    /// A detector that uses the indexed scan from `groups` live groups at a location on (the
    /// tests run both scans against the reference).
    #[cfg(test)]
    pub fn scanning_all_below(groups: usize) -> RaceDetector {
        RaceDetector { scan_all_below: groups, ..RaceDetector::default() }
    }

    /// Checks `access` to `location` against what the location has seen, records the races it
    /// completes, and adds it to the location's shadow. The access's task must be in `graph`.
    ///
    /// # Complexity
    /// O(live groups and slots of the location + slot pairs with a candidate); no allocation
    /// unless the access brings a new location, slot or group, or a finding is new.
    pub fn on_access(&mut self, graph: &CausalGraph, location: Location, access: Access) {
        let task = access.task;
        let chain = graph.chain_of(task);
        let clock = graph.clock_of(task);
        let arrival = Arrival {
            graph,
            access,
            chain,
            position: graph.position_of(task),
            clock,
            late: graph.has_successors(task) || self.sees_ended(task, clock),
        };
        let RaceDetector {
            by_location,
            shadows,
            chain_groups,
            chain_heads,
            ordered,
            scan_all_below,
            findings,
            scan,
            seen,
            stats,
            ..
        } = self;
        stats.accesses += 1;
        stats.late_accesses += u64::from(arrival.late);
        let ix = *by_location.entry(location).or_insert_with(|| {
            shadows.push(LocationShadow::new(location));
            (shadows.len() - 1) as u32
        });
        stats.locations = shadows.len() as u32;
        let shadow = &mut shadows[ix as usize];
        shadow.lock.observe(graph, &access);
        let slot = shadow.slot_of(&access);
        let slots = shadow.slots.len();
        if scan.len() < slots {
            scan.resize_with(slots, SlotScan::default);
        }
        let scan = &mut scan[..slots];
        scan.iter_mut().for_each(SlotScan::reset);

        let own = if arrival.late || shadow.heads.len() < *scan_all_below {
            scan_live(&arrival, shadow, slot, scan)
        } else {
            scan_indexed(&arrival, shadow, slot, scan, chain_heads, ix, ordered)
        };
        scan_ended(&arrival, shadow, scan);
        complete_as_second(&arrival, shadow, scan, findings);
        complete_as_remote(&arrival, shadow, scan, findings);
        complete_pairs(&arrival, shadow, scan, findings);

        seen.clear();
        for (ix, s) in scan.iter().enumerate() {
            if let Some(first) = s.before {
                seen.insert(ix as SlotIx, first);
            }
        }
        let entry = Entry { access, chain, position: arrival.position };
        let member = match own {
            Some(_) => 0, // unused: the group exists
            None => chain_groups.get(&chain).map_or(0, |m| m.len() as u32),
        };
        let next_of_chain =
            if own.is_some() { NONE } else { chain_heads.get(&(ix, chain)).copied().unwrap_or(NONE) };
        if let Some(group) = shadow.add(own, slot, entry, seen, member, next_of_chain) {
            chain_groups.entry(chain).or_default().push((ix, group as u32));
            chain_heads.insert((ix, chain), group as u32);
            stats.live_groups += 1;
        }
    }

    /// Tells the detector that no task to come will have `chain` in its clock: no task that can
    /// still run or cause another descends from it. Its groups fold into per-slot summaries.
    ///
    /// # Complexity
    /// O(the chain's groups).
    pub fn end_chain(&mut self, chain: ChainIx) {
        if self.ended.len() <= chain.index() {
            self.ended.resize(chain.index() + 1, false);
        }
        if std::mem::replace(&mut self.ended[chain.index()], true) {
            return;
        }
        self.stats.ended_chains += 1;
        let Some(mut members) = self.chain_groups.remove(&chain) else { return };
        for i in 0..members.len() {
            let (location, group) = members[i];
            self.chain_heads.remove(&(location, chain));
            let shadow = &mut self.shadows[location as usize];
            let moved = shadow.end_group(group as usize);
            self.stats.live_groups -= 1;
            // The location's last group took the ended group's index: update its records.
            if let Some((moved_chain, member, from)) = moved {
                if moved_chain != chain {
                    if let Some(head) = self.chain_heads.get_mut(&(location, moved_chain)) {
                        if *head == from {
                            *head = group;
                        } else {
                            let mut at = *head;
                            while at != NONE {
                                let next = shadow.groups[at as usize].next_of_chain;
                                if next == from {
                                    shadow.groups[at as usize].next_of_chain = group;
                                    break;
                                }
                                at = next;
                            }
                        }
                    }
                }
                let list = if moved_chain == chain {
                    &mut members
                } else {
                    self.chain_groups.get_mut(&moved_chain).expect("a live group's chain has a member list")
                };
                list[member as usize].1 = group;
            }
        }
    }

    /// Does `task`'s clock have a chain that has ended? Then the task runs after it was known
    /// that nothing would (a malformed recording), and its accesses are late. Remembered for the
    /// last task asked about, whose accesses usually come in a row.
    fn sees_ended(&mut self, task: TaskIx, clock: Clock<'_>) -> bool {
        let ended = self.stats.ended_chains;
        if let Some((last, at, answer)) = self.sees_ended_cache {
            if last == task && at == ended {
                return answer;
            }
        }
        let answer =
            ended > 0 && clock.entries().iter().any(|&(c, _)| self.ended.get(c.index()) == Some(&true));
        self.sees_ended_cache = Some((task, ended, answer));
        answer
    }

    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    /// The findings to show (`Findings::report`), without the benign shapes of a flag lock
    /// (locks.rs, docs/detectors.md "Benign shapes"): the races of the lock's own location, and
    /// races whose example's accesses were made in different critical sections of one lock (a
    /// pair), or whose first and second accesses were made in one critical section and the
    /// remote access in another (a pattern).
    ///
    /// # Complexity
    /// O(findings x locks x sections) on top of `Findings::report`; no extra work without locks.
    pub fn report<'a>(&'a self, graph: &CausalGraph) -> Vec<FindingReport<'a>> {
        let locks: Vec<&LocationShadow> = self.shadows.iter().filter(|s| s.lock.is_lock()).collect();
        if locks.is_empty() {
            return self.findings.report();
        }
        self.findings.report_where(|finding| !guarded_by_a_lock(graph, &locks, finding))
    }

    pub fn stats(&self) -> RaceStats {
        self.stats
    }
}

/// Is `finding` one of a flag lock's benign shapes (`RaceDetector::report`)?
fn guarded_by_a_lock(graph: &CausalGraph, locks: &[&LocationShadow], finding: &Finding) -> bool {
    let location = finding.key.location;
    if locks.iter().any(|l| l.location == location) {
        return true;
    }
    let example: Vec<&Access> = finding.example.accesses().map(|(_, a)| a).collect();
    locks.iter().filter(|l| l.location.stream == location.stream).any(|l| {
        let section = |a: &Access| l.lock.section_of(graph, a);
        match example[..] {
            [first, remote, second] => {
                let (x, z, y) = (section(first), section(remote), section(second));
                x.is_some() && z.is_some() && x == y && x != z
            }
            [a, b] => {
                let (x, y) = (section(a), section(b));
                x.is_some() && y.is_some() && x != y
            }
            _ => false,
        }
    })
}

/// One pass over the location's live groups: fills `scan` and returns the new access's own group.
/// Reads each group's head; the group itself only when it happens before the new access, or
/// is concurrent with it and is the latest-recorded or the first such of its slot so far.
fn scan_live(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    slot: SlotIx,
    scan: &mut [SlotScan],
) -> Option<usize> {
    let task = arrival.access.task;
    let mut own = None;
    for (gi, head) in shadow.heads.iter().enumerate() {
        // Positions of the head's chain up to the horizon happen before (or are) the new task.
        let horizon = arrival.clock.get(head.chain);
        if head.slot == slot && head.chain == arrival.chain {
            own = Some(gi);
        }
        let s = &mut scan[head.slot as usize];
        if head.first_task != task && head.first_position <= horizon {
            s.offer_before(shadow.groups[gi].first.access);
        }
        if arrival.unordered(head.last_task, head.last_position, || horizon) {
            // `offer_concurrent`, reading the group only for what the head does not have.
            // Written out: passing it the group's parts lazily measured 10% slower at 300 flows.
            if s.concurrent.is_none_or(|c| c.ord < head.last_ord) {
                s.concurrent = Some(shadow.groups[gi].last.access);
            }
            s.linked.union_low(head.seen_low);
            if head.seen_high {
                s.linked.union_with(&shadow.groups[gi].seen.slots);
            }
            if s.pair.is_none() {
                let group = &shadow.groups[gi];
                s.pair = arrival.racing(&group.last, group.last_differing);
            }
        }
    }
    own
}

/// Can accesses of these kinds race at all, whatever their values (`Access::race_is_harmless`)?
fn kinds_can_race(a: AccessKind, b: AccessKind) -> bool {
    match (a.writes(), b.writes()) {
        (false, false) => false,
        (true, true) => !(a == AccessKind::Update && b == AccessKind::Update),
        (true, false) => a != AccessKind::Update,
        (false, true) => b != AccessKind::Update,
    }
}

/// `scan_live`'s answers from the location's indexes instead of from every group ("Indexed
/// scan"): the groups of the chains in the new access's clock, each chain's list at the location
/// found in `chain_heads`, give every "happens before" answer and every group that is not
/// concurrent; each slot's groups in order of last access give the latest concurrent one after
/// skipping only such groups; `seen_counts` less the non-concurrent groups' `seen` give the
/// union of what the concurrent ones saw; a racing partner is looked for in the same order.
///
/// # Complexity
/// O(clock width x slots + slots x (slots + non-concurrent groups)) per access, plus, for a pair
/// partner, the concurrent groups skipped because they wrote the same value as the new access.
fn scan_indexed(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    slot: SlotIx,
    scan: &mut [SlotScan],
    chain_heads: &FastMap<(u32, ChainIx), u32>,
    location: u32,
    ordered: &mut Vec<u32>,
) -> Option<usize> {
    let task = arrival.access.task;
    let mut own = None;
    ordered.clear();
    for &(chain, horizon) in arrival.clock.entries() {
        let Some(&head) = chain_heads.get(&(location, chain)) else { continue };
        let mut gi = head;
        while gi != NONE {
            let g = &shadow.groups[gi as usize];
            if g.slot == slot && chain == arrival.chain {
                own = Some(gi as usize);
            }
            if g.first.access.task != task && g.first.position <= horizon {
                scan[g.slot as usize].offer_before(g.first.access);
            }
            if !arrival.unordered(g.last.access.task, g.last.position, || horizon) {
                ordered.push(gi);
            }
            gi = g.next_of_chain;
        }
    }
    for (si, s) in scan.iter_mut().enumerate() {
        let mut gi = shadow.per_slot[si].front;
        while gi != NONE && !arrival.is_concurrent(&shadow.groups[gi as usize].last) {
            gi = shadow.groups[gi as usize].next;
        }
        if gi == NONE {
            continue;
        }
        let latest = &shadow.groups[gi as usize];
        s.concurrent = Some(latest.last.access);
        for (seen_slot, &count) in shadow.per_slot[si].seen_counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let seen_slot = seen_slot as SlotIx;
            let excluded = ordered
                .iter()
                .filter(|&&o| {
                    let g = &shadow.groups[o as usize];
                    g.slot as usize == si && g.seen.slots.contains(seen_slot)
                })
                .count();
            if count as usize > excluded {
                s.linked.insert(seen_slot);
            }
        }
        if kinds_can_race(shadow.slots[si].kind, arrival.access.kind) {
            while gi != NONE {
                let g = &shadow.groups[gi as usize];
                if arrival.is_concurrent(&g.last) {
                    s.pair = arrival.racing(&g.last, g.last_differing);
                    if s.pair.is_some() {
                        break;
                    }
                }
                gi = g.next;
            }
        }
    }
    own
}

/// The ended chains' summaries: concurrent with every access to come (checked all the same, so
/// that a late access cannot make up a race).
fn scan_ended(arrival: &Arrival<'_>, shadow: &LocationShadow, scan: &mut [SlotScan]) {
    for (ended, s) in shadow.per_slot.iter().map(|p| &p.ended).zip(scan.iter_mut()) {
        let Some(last) = ended.last else { continue };
        if arrival.is_concurrent(&last) {
            s.offer_concurrent(last.access, &ended.seen);
            if s.pair.is_none() {
                s.pair = arrival.racing(&last, ended.other);
            }
        }
    }
}

/// Patterns (x, z, new): x before the new access, z concurrent with it.
fn complete_as_second(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    scan: &[SlotScan],
    findings: &mut Findings,
) {
    let access = arrival.access;
    for (sx, xs) in scan.iter().enumerate() {
        let Some(x) = xs.before else { continue };
        for (sz, zs) in scan.iter().enumerate() {
            let Some(z) = zs.concurrent else { continue };
            let fitting = FindingClass::fitting(shadow.slots[sx].kind, shadow.slots[sz].kind, access.kind);
            if fitting == 0 {
                continue;
            }
            let evidence = if x.ord < z.ord { Evidence::Observed } else { Evidence::Possible };
            for class in FindingClass::PATTERNS {
                if fitting & (1 << class as u8) != 0 {
                    let key = FindingKey::pattern(class, shadow.location, x.site, z.site, access.site);
                    findings.record(key, evidence, access.ord, Role::Second, || {
                        Some(Instance::pattern(x, z, access))
                    });
                }
            }
        }
    }
}

/// Patterns (x, new, y): y concurrent with the new access, x before y.
fn complete_as_remote(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    scan: &[SlotScan],
    findings: &mut Findings,
) {
    let access = arrival.access;
    for (sy, ys) in scan.iter().enumerate() {
        if ys.concurrent.is_none() {
            continue;
        }
        for sx in ys.linked.iter() {
            let (slot_x, slot_y) = (shadow.slots[sx as usize], shadow.slots[sy]);
            let fitting = FindingClass::fitting(slot_x.kind, access.kind, slot_y.kind);
            if fitting == 0 {
                continue;
            }
            for class in FindingClass::PATTERNS {
                if fitting & (1 << class as u8) != 0 {
                    let key =
                        FindingKey::pattern(class, shadow.location, slot_x.site, access.site, slot_y.site);
                    findings.record(key, Evidence::Possible, access.ord, Role::Remote, || {
                        remote_instance(arrival, shadow, sx, sy as SlotIx)
                    });
                }
            }
        }
    }
}

/// An instance (x, new, y) with x at slot `sx` and y at slot `sy`, which the scan showed exists:
/// a live group or the ended summary of `sy` is concurrent with the new access and saw an access
/// at `sx` before its last, which it kept.
fn remote_instance(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    sx: SlotIx,
    sy: SlotIx,
) -> Option<Instance> {
    let live = shadow.groups.iter().filter(|g: &&Group| g.slot == sy && arrival.is_concurrent(&g.last));
    let from_live = live.filter_map(|g| Some((g.seen.first_at(sx)?, g.last)));
    let ended: &EndedSlot = &shadow.per_slot[sy as usize].ended;
    let from_ended =
        ended.witnesses.iter().filter(|w| w.0 == sx && arrival.is_concurrent(&w.2)).map(|w| (w.1, w.2));
    let (x, y) = from_live.chain(from_ended).next()?;
    Some(Instance::pattern(x, arrival.access, y.access))
}

/// Pairs (earlier, new).
fn complete_pairs(
    arrival: &Arrival<'_>,
    shadow: &LocationShadow,
    scan: &[SlotScan],
    findings: &mut Findings,
) {
    let access = arrival.access;
    for s in scan {
        if let Some(earlier) = s.pair {
            let key = FindingKey::pair(shadow.location, &earlier, &access);
            findings.record(key, key.class.pair_evidence(), access.ord, Role::Second, || {
                Some(Instance::pair(earlier, access))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::AccessKind;
    use crate::graph::EdgeKind;
    use crate::ids::{LocalTaskId, StreamId};
    use crate::record::{Kind, ValueTag, FLAG_DELETE};
    use crate::testing::{allocations, number, RecordWriter};
    use crate::trace::Trace;

    const S: StreamId = StreamId(1);
    /// `account.balance`: object 1, key 5.
    const BALANCE: u64 = 1 | (5 << 32);
    const FN: u32 = 10;
    const READ_SITE: u32 = 30;
    const WRITE_SITE: u32 = 31;
    const OTHER_SITE: u32 = 32;

    fn ingest(w: &RecordWriter) -> Trace {
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        assert_eq!(trace.races().stats().late_accesses, 0);
        trace
    }

    fn reported(trace: &Trace) -> Vec<FindingReport<'_>> {
        trace.races().report(trace.graph())
    }

    /// The example's accesses as (role, local task, seq, site, value).
    fn example(trace: &Trace, finding: &Finding) -> Vec<(Role, u32, u32, u32, f64)> {
        finding
            .example
            .accesses()
            .map(|(role, a)| {
                let local = trace.tasks()[a.task.index()].local.0;
                (role, local, a.seq, a.site, f64::from_bits(a.value))
            })
            .collect()
    }

    /// Two `withdraw` calls from the program's first task, each reading the balance, awaiting,
    /// then writing it. Flow A runs as tasks 2 (read) and 4 (write), flow B as 3 and 5; the
    /// order of the four continuations is `order` (A read, B read, A write, B write = "abAB").
    fn withdrawals(order: &str) -> RecordWriter {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 200);
        let mut balance = 100.0;
        let mut read = [0.0, 0.0];
        for step in order.chars() {
            let (flow, task, invocation, amount) = match step.to_ascii_lowercase() {
                'a' => (0, if step == 'a' { 2 } else { 4 }, 100, 30.0),
                _ => (1, if step == 'b' { 3 } else { 5 }, 200, 50.0),
            };
            w.resume(task, FN + 1, invocation, 1.0);
            if step.is_lowercase() {
                w.read(task, READ_SITE, BALANCE, balance);
                read[flow] = balance;
                w.push(Kind::AwaitSuspend, task, FN + 1, invocation);
            } else {
                balance = read[flow] - amount;
                w.write(task, WRITE_SITE, BALANCE, balance);
                w.push(Kind::FnExit, task, FN, invocation);
            }
        }
        w
    }

    #[test]
    fn two_concurrent_withdrawals_lose_an_update_and_the_pair_races_fold_into_it() {
        let trace = ingest(&withdrawals("abAB"));
        let report = reported(&trace);
        assert_eq!(report.len(), 1, "{report:#?}");
        let FindingReport { finding, related } = report[0];
        assert_eq!(finding.key.class, FindingClass::LostUpdate);
        assert_eq!(finding.key.location, Location { stream: S, address: BALANCE });
        assert_eq!(finding.key.sites, [READ_SITE, WRITE_SITE, WRITE_SITE]);
        assert_eq!(finding.evidence, Evidence::Observed);
        // Flow B read 100 (task 3), flow A wrote 70 (task 4), then flow B wrote 50 (task 5).
        assert_eq!(
            example(&trace, finding),
            vec![
                (Role::First, 3, 9, READ_SITE, 100.0),
                (Role::Remote, 4, 12, WRITE_SITE, 70.0),
                (Role::Second, 5, 15, WRITE_SITE, 50.0),
            ]
        );
        // B's write completed two instances: the observed one as second, and flow A's
        // (A read, B write, A write) as remote.
        assert_eq!(finding.occurrences, 2);
        // The read-write pairs (read site, write site) and the write-write pair.
        assert_eq!(related, 2);
        let unfolded: Vec<_> = trace.races().findings().all().iter().map(|f| f.key.class).collect();
        assert_eq!(unfolded.len(), 3);
        assert!(unfolded.contains(&FindingClass::ReadWrite) && unfolded.contains(&FindingClass::WriteWrite));
    }

    #[test]
    fn a_lost_update_whose_interleaving_was_not_recorded_is_possible() {
        // A ran to completion before B read: the balance was right this time.
        let trace = ingest(&withdrawals("aAbB"));
        let report = reported(&trace);
        let lost: Vec<_> =
            report.iter().filter(|r| r.finding.key.class == FindingClass::LostUpdate).collect();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].finding.evidence, Evidence::Possible);
        // The pairs are folded into it, and nothing observed or concurrent ranks above it.
        assert_eq!(report.len(), 1, "{report:#?}");
    }

    #[test]
    fn withdrawals_awaited_one_after_the_other_do_not_race() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.resume(2, FN + 1, 100, 1.0);
        w.read(2, READ_SITE, BALANCE, 100.0);
        w.push(Kind::AwaitSuspend, 2, FN + 1, 100);
        w.resume(3, FN + 1, 100, 2.0);
        w.write(3, WRITE_SITE, BALANCE, 70.0);
        w.push(Kind::FnExit, 3, FN, 100);
        // The caller awaited the first withdrawal before starting the second.
        w.call_and_suspend(3, FN, 200);
        w.resume(4, FN + 1, 200, 3.0);
        w.read(4, READ_SITE, BALANCE, 70.0);
        w.push(Kind::AwaitSuspend, 4, FN + 1, 200);
        w.resume(5, FN + 1, 200, 4.0);
        w.write(5, WRITE_SITE, BALANCE, 20.0);
        let trace = ingest(&w);
        assert!(trace.races().findings().is_empty());
        assert_eq!(trace.races().stats().accesses, 4);
    }

    #[test]
    fn accesses_in_one_task_never_race() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        for i in 0..20 {
            w.read(1, READ_SITE, BALANCE, f64::from(i));
            w.write(1, WRITE_SITE, BALANCE, f64::from(i + 1));
            w.update(1, OTHER_SITE, BALANCE, f64::from(i + 2));
        }
        let trace = ingest(&w);
        assert!(trace.races().findings().is_empty());
    }

    /// Flow A (invocation 100) does `first` in task 2 and `second` in task 4; flow B
    /// (invocation 200) does `remote` in task 3, which runs between them.
    fn pattern(
        first: impl Fn(&mut RecordWriter, u32),
        remote: impl Fn(&mut RecordWriter, u32),
        second: impl Fn(&mut RecordWriter, u32),
    ) -> Trace {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 200);
        w.resume(2, FN + 1, 100, 1.0);
        first(&mut w, 2);
        w.push(Kind::AwaitSuspend, 2, FN + 1, 100);
        w.resume(3, FN + 1, 200, 2.0);
        remote(&mut w, 3);
        w.resume(4, FN + 1, 100, 3.0);
        second(&mut w, 4);
        ingest(&w)
    }

    fn read_at(site: u32, value: f64) -> impl Fn(&mut RecordWriter, u32) {
        move |w, task| w.read(task, site, BALANCE, value)
    }

    fn write_at(site: u32, value: f64) -> impl Fn(&mut RecordWriter, u32) {
        move |w, task| w.write(task, site, BALANCE, value)
    }

    fn only(trace: &Trace) -> (FindingClass, Evidence, [u32; 3], u32) {
        let report = reported(trace);
        assert_eq!(report.len(), 1, "{report:#?}");
        let r = report[0];
        (r.finding.key.class, r.finding.evidence, r.finding.key.sites, r.related)
    }

    #[test]
    fn a_remote_write_between_two_reads_is_an_inconsistent_read() {
        let trace = pattern(read_at(1, 100.0), write_at(2, 70.0), read_at(3, 70.0));
        assert_eq!(only(&trace), (FindingClass::InconsistentRead, Evidence::Observed, [1, 2, 3], 2));
    }

    #[test]
    fn a_remote_read_between_two_writes_is_an_intermediate_read() {
        let trace = pattern(write_at(1, 0.0), read_at(2, 0.0), write_at(3, 1.0));
        assert_eq!(only(&trace), (FindingClass::IntermediateRead, Evidence::Observed, [1, 2, 3], 2));
    }

    #[test]
    fn a_remote_write_between_a_write_and_its_read_back_is_an_overwritten_write() {
        let trace = pattern(write_at(1, 5.0), write_at(2, 6.0), read_at(3, 6.0));
        assert_eq!(only(&trace), (FindingClass::OverwrittenWrite, Evidence::Observed, [1, 2, 3], 2));
    }

    #[test]
    fn an_update_plays_the_remote_write_of_a_lost_update() {
        let trace =
            pattern(read_at(1, 100.0), |w, task| w.update(task, 2, BALANCE, 101.0), write_at(3, 90.0));
        // Related: the update and the write race; the read and the update do not (harmless pair).
        assert_eq!(only(&trace), (FindingClass::LostUpdate, Evidence::Observed, [1, 2, 3], 1));
    }

    fn update_at(site: u32, value: f64) -> impl Fn(&mut RecordWriter, u32) {
        move |w, task| w.update(task, site, BALANCE, value)
    }

    #[test]
    fn an_update_after_the_await_reads_afresh_so_nothing_is_lost() {
        // `const old = a.balance; await x; a.balance += d`: the update does not write from `old`.
        let trace = pattern(read_at(1, 100.0), update_at(2, 70.0), update_at(3, 90.0));
        assert!(
            reported(&trace).iter().all(|r| !matches!(
                r.finding.key.class,
                FindingClass::LostUpdate | FindingClass::InconsistentRead
            )),
            "{:#?}",
            reported(&trace)
        );
        // The same flow writing plainly after the await loses the remote update.
        let trace = pattern(read_at(1, 100.0), update_at(2, 70.0), write_at(3, 90.0));
        assert_eq!(only(&trace).0, FindingClass::LostUpdate);
    }

    /// Two flows started by the first task each do one access, in tasks 2 and 3.
    fn two_flows(a: impl Fn(&mut RecordWriter, u32), b: impl Fn(&mut RecordWriter, u32)) -> Trace {
        pattern(a, b, |_, _| {})
    }

    #[test]
    fn concurrent_writes_of_different_values_race() {
        let trace = two_flows(write_at(1, 1.0), write_at(2, 2.0));
        assert_eq!(only(&trace), (FindingClass::WriteWrite, Evidence::Concurrent, [1, 2, 0], 0));
        let example = example(&trace, reported(&trace)[0].finding);
        assert_eq!(
            example.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>(),
            vec![(Role::First, 2), (Role::Second, 3)]
        );
    }

    #[test]
    fn concurrent_updates_commute_and_do_not_race() {
        let trace = two_flows(update_at(1, 1.0), update_at(2, 2.0));
        assert!(reported(&trace).is_empty(), "{:#?}", reported(&trace));
        // An update and a plain write do not commute.
        let trace = two_flows(update_at(1, 1.0), write_at(2, 2.0));
        assert_eq!(only(&trace).0, FindingClass::WriteWrite);
    }

    #[test]
    fn three_updates_are_an_accumulator_and_a_remote_read_between_two_still_races() {
        // `hits += 1; await x; hits++` in one flow, `hits += 1` in another between them.
        let trace = pattern(update_at(1, 1.0), update_at(2, 2.0), update_at(1, 3.0));
        assert!(reported(&trace).is_empty(), "{:#?}", reported(&trace));
        // A plain read between the flow's two updates saw a half-done count.
        let trace = pattern(update_at(1, 1.0), read_at(2, 1.0), update_at(1, 2.0));
        assert_eq!(only(&trace).0, FindingClass::IntermediateRead);
    }

    /// `account.flag`: object 1, key 6, the lock of a flag-lock test.
    const FLAG: u64 = 1 | (6 << 32);

    fn flag(w: &mut RecordWriter, kind: Kind, task: u32, site: u32, value: bool) {
        let tag = if value { ValueTag::True } else { ValueTag::False };
        w.record(kind, tag as u8, task, site, FLAG, 0);
    }

    /// Two withdrawals, each `read; await; write` of the balance. Flow A (tasks 2, 4) takes the
    /// flag lock around its withdrawal: `if (flag) ...; flag = true` before, `flag = false`
    /// after. Flow B tries the lock in task 3, finds it taken and waits, then withdraws in tasks
    /// 5 and 6, taking the lock the same way when `b_locks`, and without touching it otherwise.
    fn withdrawals_with_a_flag_lock(b_locks: bool) -> Trace {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 200);
        w.resume(2, FN + 1, 100, 1.0);
        flag(&mut w, Kind::Read, 2, 40, false);
        flag(&mut w, Kind::Write, 2, 41, true);
        w.read(2, READ_SITE, BALANCE, 100.0);
        w.push(Kind::AwaitSuspend, 2, FN + 1, 100);
        w.resume(3, FN + 1, 200, 2.0);
        if b_locks {
            flag(&mut w, Kind::Read, 3, 40, true);
        }
        w.push(Kind::AwaitSuspend, 3, FN + 1, 200);
        w.resume(4, FN + 1, 100, 3.0);
        w.write(4, WRITE_SITE, BALANCE, 70.0);
        flag(&mut w, Kind::Write, 4, 42, false);
        w.push(Kind::FnExit, 4, FN, 100);
        w.resume(5, FN + 1, 200, 4.0);
        if b_locks {
            flag(&mut w, Kind::Read, 5, 40, false);
            flag(&mut w, Kind::Write, 5, 41, true);
        }
        w.read(5, READ_SITE, BALANCE, 70.0);
        w.push(Kind::AwaitSuspend, 5, FN + 1, 200);
        w.resume(6, FN + 1, 200, 5.0);
        w.write(6, WRITE_SITE, BALANCE, 20.0);
        if b_locks {
            flag(&mut w, Kind::Write, 6, 42, false);
        }
        ingest(&w)
    }

    #[test]
    fn a_flag_lock_and_the_withdrawals_it_guards_do_not_race() {
        let trace = withdrawals_with_a_flag_lock(true);
        assert!(reported(&trace).is_empty(), "{:#?}", reported(&trace));
        // Unfolded and unfiltered, the detector did see the races the lock makes harmless.
        let classes: Vec<_> = trace.races().findings().all().iter().map(|f| f.key.class).collect();
        assert!(classes.contains(&FindingClass::LostUpdate), "{classes:?}");
        assert!(classes.contains(&FindingClass::IntermediateRead), "{classes:?}");
    }

    #[test]
    fn a_withdrawal_that_skips_the_flag_lock_still_loses_an_update() {
        let trace = withdrawals_with_a_flag_lock(false);
        let report = reported(&trace);
        assert_eq!(report.len(), 1, "{report:#?}");
        assert_eq!(report[0].finding.key.class, FindingClass::LostUpdate);
        assert_eq!(report[0].finding.key.location, Location { stream: S, address: BALANCE });
    }

    #[test]
    fn a_read_and_a_concurrent_update_do_not_race_but_a_read_and_a_plain_write_do() {
        let trace = two_flows(read_at(1, 100.0), update_at(2, 90.0));
        assert!(reported(&trace).is_empty(), "{:#?}", reported(&trace));
        let trace = two_flows(update_at(1, 90.0), read_at(2, 90.0));
        assert!(reported(&trace).is_empty(), "{:#?}", reported(&trace));
        let trace = two_flows(read_at(1, 100.0), write_at(2, 90.0));
        assert_eq!(only(&trace).0, FindingClass::ReadWrite);
    }

    #[test]
    fn a_read_of_undefined_before_a_concurrent_initialisation_is_an_observed_order_violation() {
        let undefined = |w: &mut RecordWriter, task| {
            w.record(Kind::Read, ValueTag::Undefined as u8, task, 1, BALANCE, 0);
        };
        let trace = two_flows(undefined, write_at(2, 5.0));
        assert_eq!(only(&trace), (FindingClass::OrderViolation, Evidence::Observed, [1, 2, 0], 0));
        // Initialised first, then read: only the plain read-write pair.
        let trace = two_flows(write_at(2, 5.0), read_at(1, 5.0));
        assert_eq!(only(&trace), (FindingClass::ReadWrite, Evidence::Concurrent, [1, 2, 0], 0));
        // Writing undefined initialises nothing.
        let undefined_write = |w: &mut RecordWriter, task| {
            w.record(Kind::Write, ValueTag::Undefined as u8, task, 2, BALANCE, 0);
        };
        let trace = two_flows(undefined, undefined_write);
        assert_eq!(only(&trace).0, FindingClass::ReadWrite);
    }

    #[test]
    fn concurrent_writes_of_the_same_captured_value_do_not_race() {
        let trace = two_flows(write_at(1, 1.0), write_at(2, 1.0));
        assert!(reported(&trace).is_empty());
        // A value that was not captured cannot be shown to be the same.
        let uncaptured =
            |w: &mut RecordWriter, task| w.record(Kind::Write, ValueTag::None as u8, task, 1, BALANCE, 0);
        let trace = two_flows(uncaptured, uncaptured);
        assert_eq!(only(&trace).0, FindingClass::WriteWrite);
    }

    #[test]
    fn an_earlier_write_of_another_value_still_races_when_the_last_one_matches() {
        // Flow A writes 1 then 2 (same task); flow B writes 2: A's first write races with it.
        let trace = two_flows(
            |w, task| {
                w.write(task, 1, BALANCE, 1.0);
                w.write(task, 1, BALANCE, 2.0);
            },
            write_at(1, 2.0),
        );
        assert_eq!(only(&trace), (FindingClass::WriteWrite, Evidence::Concurrent, [1, 1, 0], 0));
        assert_eq!(example(&trace, reported(&trace)[0].finding)[0].4, 1.0);
    }

    #[test]
    fn a_concurrent_read_and_write_race_in_either_order() {
        let trace = two_flows(read_at(1, 0.0), write_at(2, 1.0));
        assert_eq!(only(&trace), (FindingClass::ReadWrite, Evidence::Concurrent, [1, 2, 0], 0));
        let trace = two_flows(write_at(2, 1.0), read_at(1, 1.0));
        assert_eq!(only(&trace), (FindingClass::ReadWrite, Evidence::Concurrent, [1, 2, 0], 0));
    }

    #[test]
    fn a_delete_and_an_update_are_writes_for_pairs() {
        let delete = |w: &mut RecordWriter, task| w.record(Kind::Write, FLAG_DELETE, task, 1, BALANCE, 0);
        let trace = two_flows(delete, |w, task| w.update(task, 2, BALANCE, 1.0));
        assert_eq!(only(&trace), (FindingClass::WriteWrite, Evidence::Concurrent, [1, 2, 0], 0));
    }

    #[test]
    fn reads_do_not_race_with_reads_and_locations_do_not_mix() {
        let trace = two_flows(read_at(1, 0.0), read_at(2, 0.0));
        assert!(reported(&trace).is_empty());
        let other = |w: &mut RecordWriter, task| w.write(task, 2, BALANCE + 1, 0.0);
        let trace = two_flows(write_at(1, 1.0), other);
        assert!(reported(&trace).is_empty());
        assert_eq!(trace.races().stats().locations, 2);
    }

    #[test]
    fn observed_violations_rank_above_concurrent_pairs_above_possible_violations() {
        // Location 1: a lost update observed late in the stream. Location 2: a plain write-write
        // pair. Location 3: a lost update possible only, recorded first.
        let (l1, l2, l3) = (BALANCE, BALANCE + 1, BALANCE + 2);
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 200);
        w.resume(2, FN + 1, 100, 1.0);
        w.read(2, 1, l3, 0.0);
        w.push(Kind::AwaitSuspend, 2, FN + 1, 100);
        w.resume(3, FN + 1, 100, 1.0);
        w.write(3, 2, l3, 1.0);
        w.write(3, 3, l2, 1.0);
        w.read(3, 1, l1, 0.0);
        w.push(Kind::AwaitSuspend, 3, FN + 1, 100);
        w.resume(4, FN + 1, 200, 1.0);
        w.write(4, 2, l3, 2.0);
        w.write(4, 3, l2, 2.0);
        w.write(4, 2, l1, 2.0);
        w.resume(5, FN + 1, 100, 1.0);
        w.write(5, 2, l1, 1.0);
        let trace = ingest(&w);
        let order: Vec<_> = reported(&trace)
            .iter()
            .map(|r| (r.finding.key.location.address, r.finding.key.class, r.finding.evidence))
            .collect();
        assert_eq!(
            order,
            vec![
                (l1, FindingClass::LostUpdate, Evidence::Observed),
                (l2, FindingClass::WriteWrite, Evidence::Concurrent),
                (l3, FindingClass::LostUpdate, Evidence::Possible),
            ]
        );
    }

    #[test]
    fn shadow_memory_grows_with_chains_and_sites_not_accesses() {
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.call_and_suspend(1, FN, 200);
        let mut next_task = 2;
        for round in 0..500 {
            for invocation in [100, 200] {
                w.resume(next_task, FN + 1, invocation, 1.0);
                w.read(next_task, READ_SITE, BALANCE, f64::from(round));
                w.write(next_task, WRITE_SITE, BALANCE, f64::from(round + 1));
                w.push(Kind::AwaitSuspend, next_task, FN + 1, invocation);
                next_task += 1;
            }
        }
        let trace = ingest(&w);
        let stats = trace.races().stats();
        assert_eq!(stats.accesses, 2000);
        // Two chains (the first flow continues the first task's) times two sites.
        assert_eq!(trace.graph().chain_count(), 2);
        assert_eq!(stats.live_groups, 4);
        assert!(trace.races().findings().len() < 10);
    }

    #[test]
    fn an_access_after_its_continuation_started_is_late_and_never_makes_up_a_race() {
        // Task 1 suspends, its continuation (task 2) writes, then task 1 writes again: a
        // recording no JavaScript run makes. Task 2 is after task 1 whatever order they arrive in.
        let mut w = RecordWriter::new();
        w.begin(1, 0.0);
        w.call_and_suspend(1, FN, 100);
        w.resume(2, FN + 1, 100, 1.0);
        w.write(2, 1, BALANCE, 2.0);
        w.write(1, 2, BALANCE, 1.0);
        let mut trace = Trace::new();
        trace.ingest(S, &w.bytes).unwrap();
        assert_eq!(trace.races().stats().late_accesses, 1);
        assert!(trace.races().findings().is_empty());
        assert_eq!(trace.task_by_local(S, LocalTaskId(2)).map(|t| t.0), Some(1));
    }

    #[test]
    fn accesses_that_bring_no_new_location_slot_group_or_finding_do_not_allocate() {
        // Task 0 writes; then tasks 1 (continuing its chain) and 2 (a chain of its own) take
        // turns reading and updating. Every access moves its group's last access, and with it
        // what that access saw (task 0's write), which is copied into the group's memory.
        let location = Location { stream: S, address: BALANCE };
        let mut graph = CausalGraph::new();
        let mut races = RaceDetector::new();
        let first = graph.add_task(&[]);
        races.on_access(&graph, location, number(first.0, 0, WRITE_SITE, AccessKind::Write, 0.0));
        let flows =
            [graph.add_task(&[(first, EdgeKind::Await)]), graph.add_task(&[(first, EdgeKind::Await)])];
        let mut before = 0;
        for i in 0..200u32 {
            if i == 100 {
                before = allocations();
            }
            let (task, ord) = (flows[i as usize % 2].0, u64::from(2 * i) + 1);
            races.on_access(&graph, location, number(task, ord, READ_SITE, AccessKind::Read, f64::from(i)));
            let update = number(task, ord + 1, OTHER_SITE, AccessKind::Update, f64::from(i + 1));
            races.on_access(&graph, location, update);
        }
        assert_eq!(allocations() - before, 0);
        assert_eq!(races.stats().live_groups, 5);
        assert!(!races.findings().is_empty(), "the flows' accesses race");
    }
}
