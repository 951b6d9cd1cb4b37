//! The bounded state the race detector keeps per location: for each (chain, site, access kind)
//! that touched it, the first and the last access, and what the last one saw; and, per site and
//! kind, one summary of the chains that have ended.
//!
//! Accesses of one chain are totally ordered (its tasks happen one after another, and records of
//! one task are in program order), so along a chain "happens before a given task" holds for a
//! prefix of the accesses and "unordered with it" for the rest. The first access is therefore
//! the one most likely to happen before a new access, and the last the one most likely to be
//! concurrent with it; races.rs explains why these two, plus the last write of a different
//! value, answer every question the detector asks exactly. A chain that has ended (no task that
//! can still run or cause another has it in its clock) is concurrent with everything to come, so
//! its groups fold into a per-slot summary that keeps only what such a group can still answer.
//! Memory grows with the live chains and sites that touch a location, never with the number of
//! accesses.

use crate::access::{Access, AccessKind, Location};
use crate::ids::{ChainIx, TaskIx};
use crate::locks::FlagLock;

/// Index of a slot in its location's slot table.
pub type SlotIx = u32;

/// A (site, access kind) that touched a location. A site is one syntactic access, so it nearly
/// always has one kind; the kind is part of the slot so that nothing depends on that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub site: u32,
    pub kind: AccessKind,
    /// Whether the accesses read `undefined` or store a first value: a pair's class (an order
    /// violation or a plain read-write race) depends on it, so one slot never mixes the two.
    pub initialisation: Initialisation,
}

/// The part an access can play in a use before initialisation (findings.rs, `OrderViolation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Initialisation {
    /// A read that saw `undefined`.
    ReadsUndefined,
    /// A plain write of a captured value other than `undefined`.
    StoresValue,
    Neither,
}

impl Initialisation {
    pub fn of(access: &Access) -> Initialisation {
        if access.reads_undefined() {
            Initialisation::ReadsUndefined
        } else if access.stores_value() {
            Initialisation::StoresValue
        } else {
            Initialisation::Neither
        }
    }
}

/// An access with its task's chain and position on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub access: Access,
    pub chain: ChainIx,
    pub position: u32,
}

impl Entry {
    /// Order along a chain: by task, then by record order inside the task.
    pub fn rank(&self) -> (u32, u64) {
        (self.position, self.access.ord)
    }
}

/// What an access saw when it arrived: the slots with an access that happens before it, each
/// with the earliest-recorded such access (the first access a pattern ending here would pair
/// with).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub slots: SlotSet,
    pub firsts: Firsts,
}

/// Slots kept in a `Firsts` without a separate allocation: most locations have one or two.
const INLINE_FIRSTS: usize = 2;

/// Placeholder for the unused places of `Firsts::inline`; never read.
const NO_ACCESS: Access =
    Access { task: TaskIx(u32::MAX), seq: 0, ord: 0, site: 0, kind: AccessKind::Read, flags: 0, value: 0 };

/// `Seen::firsts`: the first `INLINE_FIRSTS` in place, more in a vector. A group copies what its
/// new last access saw every time it changes (`Group::add`): in place, that copy neither
/// allocates nor calls out to copy memory.
#[derive(Debug)]
pub struct Firsts {
    len: usize,
    inline: [(SlotIx, Access); INLINE_FIRSTS],
    /// All of them once there are more than `INLINE_FIRSTS`.
    spilled: Vec<(SlotIx, Access)>,
}

impl Default for Firsts {
    fn default() -> Firsts {
        Firsts { len: 0, inline: [(0, NO_ACCESS); INLINE_FIRSTS], spilled: Vec::new() }
    }
}

impl Firsts {
    pub fn as_slice(&self) -> &[(SlotIx, Access)] {
        if self.len <= INLINE_FIRSTS {
            &self.inline[..self.len]
        } else {
            &self.spilled
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.spilled.clear();
    }

    pub fn push(&mut self, first: (SlotIx, Access)) {
        if self.len < INLINE_FIRSTS {
            self.inline[self.len] = first;
        } else {
            if self.len == INLINE_FIRSTS {
                self.spilled.clear();
                self.spilled.extend_from_slice(&self.inline);
            }
            self.spilled.push(first);
        }
        self.len += 1;
    }

    pub fn iter(&self) -> std::slice::Iter<'_, (SlotIx, Access)> {
        self.as_slice().iter()
    }
}

impl PartialEq for Firsts {
    fn eq(&self, other: &Firsts) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Firsts {}

/// Written out so that `clone_from` reuses the target's memory.
impl Clone for Firsts {
    fn clone(&self) -> Firsts {
        Firsts { len: self.len, inline: self.inline, spilled: self.spilled.clone() }
    }

    fn clone_from(&mut self, source: &Firsts) {
        self.len = source.len;
        if source.len <= INLINE_FIRSTS {
            self.inline = source.inline;
            self.spilled.clear();
        } else {
            self.spilled.clone_from(&source.spilled);
        }
    }
}

/// Written out so that `clone_from` reuses the target's memory: a group copies what its new last
/// access saw each time it changes, and that must not allocate (races.rs, `on_access`).
impl Clone for Seen {
    fn clone(&self) -> Seen {
        Seen { slots: self.slots.clone(), firsts: self.firsts.clone() }
    }

    fn clone_from(&mut self, source: &Seen) {
        self.slots.clone_from(&source.slots);
        self.firsts.clone_from(&source.firsts);
    }
}

impl Seen {
    pub fn clear(&mut self) {
        self.slots.clear();
        self.firsts.clear();
    }

    pub fn insert(&mut self, slot: SlotIx, first: Access) {
        self.slots.insert(slot);
        self.firsts.push((slot, first));
    }

    /// The access before the owner at `slot`, if any.
    pub fn first_at(&self, slot: SlotIx) -> Option<Access> {
        self.firsts.iter().find(|&&(s, _)| s == slot).map(|&(_, a)| a)
    }
}

/// The accesses of one chain at one slot, summarised.
#[derive(Clone, Debug)]
pub struct Group {
    pub slot: SlotIx,
    pub first: Entry,
    pub last: Entry,
    /// For writing slots: the latest write whose value is not the same captured value as
    /// `last`'s. A same-value write pair is not a race, so when `last` wrote what a new write
    /// writes, this is the write that may still race with it.
    pub last_differing: Option<Entry>,
    /// What `last` saw when it arrived.
    pub seen: Seen,
    /// Index of this group in its chain's list of groups (races.rs, `chain_groups`).
    pub member: u32,
    /// The slot's groups in order of their last access, latest first (`SlotState::front`):
    /// the previous and the next group, or `NONE`.
    pub prev: u32,
    pub next: u32,
    /// The next group of the same chain at this location, or `NONE` (races.rs, `chain_heads`).
    pub next_of_chain: u32,
}

/// No group: the end of a list.
pub const NONE: u32 = u32::MAX;

impl Group {
    pub fn chain(&self) -> ChainIx {
        self.last.chain
    }

    /// Does the access become the group's last?
    fn takes_last(&self, entry: &Entry) -> bool {
        entry.rank() > self.last.rank()
    }

    /// Adds an access of this group's chain and slot. `seen` is what the access saw.
    fn add(&mut self, entry: Entry, seen: &Seen) {
        if self.takes_last(&entry) {
            if self.last.access.kind.writes() && !entry.access.same_value(&self.last.access) {
                self.last_differing = Some(self.last);
            }
            self.last = entry;
            self.seen.clone_from(seen);
        } else if entry.rank() < self.first.rank() {
            // Only a late access (races.rs, "Arrival order") lands before the first.
            self.first = entry;
        }
        // A late access between first and last changes no answer the group gives; the
        // detector stays sound, and may miss what only that access would have shown.
    }
}

/// What the scan reads of every group, kept apart from the rest and small, so that scanning the
/// thousands of groups of a location many flows touch stays in cache (the rest of a group is
/// read only for the few groups that turn out to matter to the new access).
#[derive(Clone, Copy, Debug)]
pub struct GroupHead {
    pub chain: ChainIx,
    pub slot: SlotIx,
    pub first_task: TaskIx,
    pub first_position: u32,
    pub last_task: TaskIx,
    pub last_position: u32,
    pub last_ord: u64,
    /// The first 64 slots of the group's `seen`.
    pub seen_low: u64,
    /// Whether `seen` has slots beyond the first 64 (then read the group itself).
    pub seen_high: bool,
}

impl GroupHead {
    fn of(group: &Group) -> GroupHead {
        GroupHead {
            chain: group.chain(),
            slot: group.slot,
            first_task: group.first.access.task,
            first_position: group.first.position,
            last_task: group.last.access.task,
            last_position: group.last.position,
            last_ord: group.last.access.ord,
            seen_low: group.seen.slots.low,
            seen_high: !group.seen.slots.high_is_empty(),
        }
    }
}

/// The groups of ended chains at one slot, folded together. Every access to come is concurrent
/// with all of them, so "is there a concurrent access" is answered by any, "the latest-recorded
/// one" by the latest, "one that wrote another value" by two of different values, and "which
/// slots had an access before one of them" by the union of what they saw.
#[derive(Clone, Debug, Default)]
pub struct EndedSlot {
    /// The latest-recorded last access of the folded groups.
    pub last: Option<Entry>,
    /// A folded write whose value is not the same captured value as `last`'s, if there is one.
    pub other: Option<Entry>,
    /// Union of the folded groups' `seen` slots.
    pub seen: SlotSet,
    /// For each slot of `seen`: one (first, last) pair, the first before the last.
    pub witnesses: Vec<(SlotIx, Access, Entry)>,
}

impl EndedSlot {
    fn fold(&mut self, group: &Group) {
        let candidates = [self.last, self.other, Some(group.last), group.last_differing];
        let last = match self.last {
            Some(mine) if mine.access.ord > group.last.access.ord => mine,
            _ => group.last,
        };
        self.other = if last.access.kind.writes() {
            candidates.into_iter().flatten().find(|e| *e != last && !e.access.same_value(&last.access))
        } else {
            None
        };
        self.last = Some(last);
        for &(slot, first) in group.seen.firsts.iter() {
            if !self.seen.contains(slot) {
                self.seen.insert(slot);
                // Exact growth: most locations see one or two slots, and a summary stays for the
                // rest of the trace (a doubling Vec kept room for four).
                self.witnesses.reserve_exact(1);
                self.witnesses.push((slot, first, group.last));
            }
        }
    }
}

/// Everything the detector keeps about one location.
#[derive(Clone, Debug)]
pub struct LocationShadow {
    pub location: Location,
    pub slots: Vec<Slot>,
    /// Per slot (same index): the groups of ended chains, and the slot's indexes.
    pub per_slot: Vec<SlotState>,
    /// The groups of live chains.
    pub groups: Vec<Group>,
    /// Their heads, same index.
    pub heads: Vec<GroupHead>,
    /// Whether the location is a flag lock, and its critical sections (locks.rs).
    pub lock: FlagLock,
}

/// What a location keeps per slot besides the slot itself (one vector of these rather than one
/// per field: a location touched by one request keeps it for the rest of the trace).
#[derive(Clone, Debug)]
pub struct SlotState {
    /// The groups of ended chains, folded.
    pub ended: EndedSlot,
    /// The group whose last access is the latest, first of a list through `Group::next` in order
    /// of last access, latest first; `NONE` when the slot has no live group. The latest
    /// concurrent access of a slot is the first concurrent group of its list, and only groups of
    /// chains in the new access's clock can come before it (races.rs, "Indexed scan").
    pub front: u32,
    /// Per slot `s`: how many of this slot's live groups have `s` in their `seen`.
    pub seen_counts: Vec<u32>,
}

impl LocationShadow {
    pub fn new(location: Location) -> LocationShadow {
        LocationShadow {
            location,
            slots: Vec::new(),
            per_slot: Vec::new(),
            groups: Vec::new(),
            heads: Vec::new(),
            lock: FlagLock::default(),
        }
    }

    /// The slot of an access (its site, kind and part in initialisation), added if new.
    pub fn slot_of(&mut self, access: &Access) -> SlotIx {
        let wanted =
            Slot { site: access.site, kind: access.kind, initialisation: Initialisation::of(access) };
        match self.slots.iter().position(|&s| s == wanted) {
            Some(ix) => ix as SlotIx,
            None => {
                // Exact growth, as for `EndedSlot::witnesses`: most locations have one or two
                // slots, and keep them for the rest of the trace.
                self.slots.reserve_exact(1);
                self.per_slot.reserve_exact(1);
                self.slots.push(wanted);
                self.per_slot.push(SlotState {
                    ended: EndedSlot::default(),
                    front: NONE,
                    seen_counts: Vec::new(),
                });
                (self.slots.len() - 1) as SlotIx
            }
        }
    }

    /// Adds an access to its group (`group` if the caller found it), or starts a group with it
    /// as member `member` of its chain, before `next_of_chain` in the chain's list at this
    /// location; returns the index of a new group.
    pub fn add(
        &mut self,
        group: Option<usize>,
        slot: SlotIx,
        entry: Entry,
        seen: &Seen,
        member: u32,
        next_of_chain: u32,
    ) -> Option<usize> {
        match group {
            Some(ix) => {
                if self.groups[ix].takes_last(&entry) {
                    let old = &self.groups[ix].seen.slots;
                    if *old != seen.slots {
                        let counts = &mut self.per_slot[slot as usize].seen_counts;
                        if old.high.is_empty() && seen.slots.high.is_empty() {
                            // Only the slots that changed (the usual case: at most 64 slots).
                            count_low(counts, old.low & !seen.slots.low, false);
                            count_low(counts, seen.slots.low & !old.low, true);
                        } else {
                            count_seen(counts, old, false);
                            count_seen(counts, &seen.slots, true);
                        }
                    }
                    // The slot's latest group stays first: a chain's accesses in a row.
                    if self.per_slot[slot as usize].front != ix as u32 {
                        self.unlink(ix as u32);
                        self.push_front(ix as u32);
                    }
                }
                self.groups[ix].add(entry, seen);
                self.heads[ix] = GroupHead::of(&self.groups[ix]);
                None
            }
            None => {
                let ix = self.groups.len() as u32;
                let group = Group {
                    slot,
                    first: entry,
                    last: entry,
                    last_differing: None,
                    seen: seen.clone(),
                    member,
                    prev: NONE,
                    next: NONE,
                    next_of_chain,
                };
                if self.groups.capacity() == 0 {
                    // A location touched by one flow usually has a group or two, given back when
                    // the flow ends: room for two, not the four a first push would make.
                    self.groups.reserve_exact(2);
                    self.heads.reserve_exact(2);
                }
                self.heads.push(GroupHead::of(&group));
                self.groups.push(group);
                count_seen(&mut self.per_slot[slot as usize].seen_counts, &seen.slots, true);
                self.push_front(ix);
                Some(ix as usize)
            }
        }
    }

    /// Takes group `ix` out of its slot's list.
    fn unlink(&mut self, ix: u32) {
        let (slot, prev, next) = {
            let g = &self.groups[ix as usize];
            (g.slot, g.prev, g.next)
        };
        if prev == NONE {
            self.per_slot[slot as usize].front = next;
        } else {
            self.groups[prev as usize].next = next;
        }
        if next != NONE {
            self.groups[next as usize].prev = prev;
        }
    }

    /// Puts group `ix` first in its slot's list.
    fn push_front(&mut self, ix: u32) {
        let slot = self.groups[ix as usize].slot as usize;
        let front = self.per_slot[slot].front;
        if front != NONE {
            self.groups[front as usize].prev = ix;
        }
        let g = &mut self.groups[ix as usize];
        g.prev = NONE;
        g.next = front;
        self.per_slot[slot].front = ix;
    }

    /// Folds the group at `ix`, whose chain has ended, into its slot's summary and removes it.
    /// The last group takes its index; returns that group's chain, member index and former
    /// index, so the caller can update its records of where the group is.
    pub fn end_group(&mut self, ix: usize) -> Option<(ChainIx, u32, u32)> {
        let slot = self.groups[ix].slot;
        count_seen(&mut self.per_slot[slot as usize].seen_counts, &self.groups[ix].seen.slots, false);
        self.unlink(ix as u32);
        let group = self.groups.swap_remove(ix);
        self.heads.swap_remove(ix);
        self.per_slot[group.slot as usize].ended.fold(&group);
        if self.groups.is_empty() {
            // No live chain touches the location any more: give back the room its groups took
            // (a location of one request would otherwise keep it for the rest of the trace).
            self.groups = Vec::new();
            self.heads = Vec::new();
            for state in &mut self.per_slot {
                state.seen_counts = Vec::new(); // all zero now
            }
            return None;
        }
        let moved = self.groups.get(ix)?;
        let from = self.groups.len() as u32;
        let (prev, next, moved_slot) = (moved.prev, moved.next, moved.slot);
        if prev == NONE {
            self.per_slot[moved_slot as usize].front = ix as u32;
        } else {
            self.groups[prev as usize].next = ix as u32;
        }
        if next != NONE {
            self.groups[next as usize].prev = ix as u32;
        }
        let moved = &self.groups[ix];
        Some((moved.chain(), moved.member, from))
    }
}

/// Counts (or uncounts) a group whose `seen` is `slots` in its slot's `seen_counts`.
/// `count_seen` for the slots of the bits of `low` (slots 0 to 63).
fn count_low(counts: &mut Vec<u32>, low: u64, add: bool) {
    if low == 0 {
        return;
    }
    let top = 64 - low.leading_zeros() as usize;
    if counts.len() < top {
        counts.resize(top, 0);
    }
    let mut rest = low;
    while rest != 0 {
        let s = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        if add {
            counts[s] += 1;
        } else {
            counts[s] -= 1;
        }
    }
}

fn count_seen(counts: &mut Vec<u32>, slots: &SlotSet, add: bool) {
    for s in slots.iter() {
        if counts.len() <= s as usize {
            counts.resize(s as usize + 1, 0);
        }
        if add {
            counts[s as usize] += 1;
        } else {
            counts[s as usize] -= 1;
        }
    }
}

/// A set of slot indices: one inline word for the first 64 slots of a location (all of them,
/// nearly always), more words only for locations touched from more sites.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SlotSet {
    low: u64,
    high: Vec<u64>,
}

/// Written out so that `clone_from` reuses the target's memory, as for `Seen`.
impl Clone for SlotSet {
    fn clone(&self) -> SlotSet {
        SlotSet { low: self.low, high: self.high.clone() }
    }

    fn clone_from(&mut self, source: &SlotSet) {
        self.low = source.low;
        self.high.clone_from(&source.high);
    }
}

impl SlotSet {
    /// Adds the first 64 slots of another set, given as its low word.
    pub fn union_low(&mut self, low: u64) {
        self.low |= low;
    }

    fn high_is_empty(&self) -> bool {
        self.high.iter().all(|&w| w == 0)
    }

    pub fn insert(&mut self, slot: SlotIx) {
        let slot = slot as usize;
        if slot < 64 {
            self.low |= 1 << slot;
        } else {
            let word = slot / 64 - 1;
            if self.high.len() <= word {
                self.high.resize(word + 1, 0);
            }
            self.high[word] |= 1 << (slot % 64);
        }
    }

    pub fn contains(&self, slot: SlotIx) -> bool {
        let slot = slot as usize;
        if slot < 64 {
            self.low & (1 << slot) != 0
        } else {
            self.high.get(slot / 64 - 1).is_some_and(|w| w & (1 << (slot % 64)) != 0)
        }
    }

    pub fn union_with(&mut self, other: &SlotSet) {
        self.low |= other.low;
        if self.high.len() < other.high.len() {
            self.high.resize(other.high.len(), 0);
        }
        for (mine, theirs) in self.high.iter_mut().zip(&other.high) {
            *mine |= theirs;
        }
    }

    /// Empties the set, keeping its memory for reuse.
    pub fn clear(&mut self) {
        self.low = 0;
        self.high.iter_mut().for_each(|w| *w = 0);
    }

    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.high.iter().all(|&w| w == 0)
    }

    pub fn iter(&self) -> SlotSetIter<'_> {
        SlotSetIter { rest: self.low, base: 0, high: &self.high }
    }
}

/// The slots of a `SlotSet`, in order: bit by bit through one word, then the next.
pub struct SlotSetIter<'a> {
    /// Bits of the current word not returned yet.
    rest: u64,
    /// Slot of the current word's bit 0.
    base: u32,
    /// The words after the current one.
    high: &'a [u64],
}

impl Iterator for SlotSetIter<'_> {
    type Item = SlotIx;

    #[inline]
    fn next(&mut self) -> Option<SlotIx> {
        while self.rest == 0 {
            let (&word, more) = self.high.split_first()?;
            self.rest = word;
            self.high = more;
            self.base += 64;
        }
        let bit = self.rest.trailing_zeros();
        self.rest &= self.rest - 1;
        Some(self.base + bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StreamId;
    use crate::testing::number;

    #[test]
    fn a_slot_set_holds_small_and_large_indices() {
        let mut set = SlotSet::default();
        for slot in [0, 3, 63, 64, 200] {
            set.insert(slot);
        }
        assert!(set.contains(200) && set.contains(64) && !set.contains(65) && !set.contains(1000));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 3, 63, 64, 200]);
        let mut other = SlotSet::default();
        other.insert(5);
        other.union_with(&set);
        assert_eq!(other.iter().count(), 6);
        other.clear();
        assert!(other.is_empty());
    }

    fn write(position: u32, ord: u64, value: f64) -> Entry {
        let access = number(position, ord, 1, AccessKind::Write, value);
        Entry { access, chain: ChainIx(position % 2), position }
    }

    #[test]
    fn a_group_keeps_first_last_and_the_last_write_of_another_value() {
        let mut shadow = LocationShadow::new(Location { stream: StreamId(1), address: 1 });
        let slot = shadow.slot_of(&write(0, 0, 5.0).access);
        assert_eq!(shadow.slot_of(&write(0, 0, 5.0).access), slot);
        let none = Seen::default();
        assert_eq!(shadow.add(None, slot, write(2, 1, 5.0), &none, 0, NONE), Some(0));
        assert_eq!(shadow.add(Some(0), slot, write(4, 2, 7.0), &none, 0, NONE), None);
        shadow.add(Some(0), slot, write(6, 3, 7.0), &none, 0, NONE);
        let group = &shadow.groups[0];
        assert_eq!((group.first.access.ord, group.last.access.ord), (1, 3));
        assert_eq!(group.last_differing.map(|e| e.access.ord), Some(1));
    }

    #[test]
    fn ended_groups_fold_into_the_latest_access_and_one_of_another_value() {
        let mut shadow = LocationShadow::new(Location { stream: StreamId(1), address: 1 });
        let slot = shadow.slot_of(&write(0, 0, 5.0).access);
        let mut seen = Seen::default();
        seen.insert(3, write(0, 0, 1.0).access);
        // Chain 0 wrote 5 then 5; chain 1 wrote 5 later.
        shadow.add(None, slot, write(2, 1, 5.0), &Seen::default(), 0, NONE);
        shadow.add(Some(0), slot, write(4, 3, 5.0), &Seen::default(), 0, NONE);
        shadow.add(None, slot, write(1, 4, 5.0), &seen, 0, NONE);
        assert_eq!(shadow.end_group(0), Some((ChainIx(1), 0, 1)));
        assert_eq!(shadow.end_group(0), None);
        let ended = &shadow.per_slot[slot as usize].ended;
        assert_eq!(ended.last.map(|e| e.access.ord), Some(4));
        assert_eq!(ended.other, None, "every write stored 5");
        assert!(ended.seen.contains(3) && ended.witnesses.len() == 1);

        // A later chain that wrote 6 gives the summary a write of another value.
        shadow.add(None, slot, write(3, 5, 6.0), &Seen::default(), 0, NONE);
        shadow.end_group(0);
        let ended = &shadow.per_slot[slot as usize].ended;
        assert_eq!(ended.last.map(|e| e.access.ord), Some(5));
        assert_eq!(ended.other.map(|e| e.access.ord), Some(4));
        assert!(shadow.groups.is_empty());
    }
}
