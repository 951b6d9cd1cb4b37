//! The bounded state the race detector keeps per location: for each (chain, site, access kind)
//! that touched it, the first and the last access, and what the last one saw.
//!
//! Accesses of one chain are totally ordered (its tasks happen one after another, and records of
//! one task are in program order), so along a chain "happens before a given task" holds for a
//! prefix of the accesses and "unordered with it" for the rest. The first access is therefore
//! the one most likely to happen before a new access, and the last the one most likely to be
//! concurrent with it; races.rs explains why these two, plus the last write of a different
//! value, answer every question the detector asks exactly. Memory grows with the chains and
//! sites that touch a location, never with the number of accesses.

use crate::access::{Access, AccessKind, Location};
use crate::ids::ChainIx;

/// Index of a slot in its location's slot table.
pub type SlotIx = u32;

/// A (site, access kind) that touched a location. A site is one syntactic access, so it nearly
/// always has one kind; the kind is part of the slot so that nothing depends on that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub site: u32,
    pub kind: AccessKind,
}

/// An access with its task's position on the task's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub access: Access,
    pub position: u32,
}

impl Entry {
    /// Order along a chain: by task, then by record order inside the task.
    pub fn rank(&self) -> (u32, u64) {
        (self.position, self.access.ord)
    }
}

/// The accesses of one chain at one slot, summarised.
#[derive(Clone, Debug)]
pub struct Group {
    pub chain: ChainIx,
    pub slot: SlotIx,
    pub first: Entry,
    pub last: Entry,
    /// For writing slots: the latest write whose value is not the same captured value as
    /// `last`'s. A same-value write pair is not a race, so when `last` wrote what a new write
    /// writes, this is the write that may still race with it.
    pub last_differing: Option<Entry>,
    /// The slots of this location with an access that happens before `last` (computed when
    /// `last` arrived): the first accesses a pattern could pair with `last`.
    pub linked: SlotSet,
}

impl Group {
    fn new(chain: ChainIx, slot: SlotIx, entry: Entry, linked: &SlotSet) -> Group {
        Group { chain, slot, first: entry, last: entry, last_differing: None, linked: linked.clone() }
    }

    /// Adds an access of this group's chain and slot. `linked` is what the access saw.
    fn add(&mut self, entry: Entry, linked: &SlotSet) {
        if entry.rank() > self.last.rank() {
            if self.last.access.kind.writes() && !entry.access.same_value(&self.last.access) {
                self.last_differing = Some(self.last);
            }
            self.last = entry;
            self.linked.clone_from(linked);
        } else if entry.rank() < self.first.rank() {
            // Only a late access (races.rs, "Arrival order") lands before the first.
            self.first = entry;
        }
        // A late access between first and last changes no answer the group gives; the
        // detector stays sound, and may miss what only that access would have shown.
    }
}

/// Everything the detector keeps about one location.
#[derive(Clone, Debug)]
pub struct LocationShadow {
    pub location: Location,
    pub slots: Vec<Slot>,
    pub groups: Vec<Group>,
}

impl LocationShadow {
    pub fn new(location: Location) -> LocationShadow {
        LocationShadow { location, slots: Vec::new(), groups: Vec::new() }
    }

    /// The slot of (site, kind), added if new.
    pub fn slot_of(&mut self, site: u32, kind: AccessKind) -> SlotIx {
        let wanted = Slot { site, kind };
        match self.slots.iter().position(|&s| s == wanted) {
            Some(ix) => ix as SlotIx,
            None => {
                self.slots.push(wanted);
                (self.slots.len() - 1) as SlotIx
            }
        }
    }

    /// Adds an access to its group (`group` if the caller found it, else a new one). Returns
    /// whether a group was created.
    pub fn add(
        &mut self,
        group: Option<usize>,
        chain: ChainIx,
        slot: SlotIx,
        entry: Entry,
        linked: &SlotSet,
    ) -> bool {
        match group {
            Some(ix) => {
                self.groups[ix].add(entry, linked);
                false
            }
            None => {
                self.groups.push(Group::new(chain, slot, entry, linked));
                true
            }
        }
    }
}

/// A set of slot indices: one inline word for the first 64 slots of a location (all of them,
/// nearly always), more words only for locations touched from more sites.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotSet {
    low: u64,
    high: Vec<u64>,
}

impl SlotSet {
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

    pub fn iter(&self) -> impl Iterator<Item = SlotIx> + '_ {
        std::iter::once(self.low).chain(self.high.iter().copied()).enumerate().flat_map(|(word, bits)| {
            (0..64u32).filter(move |b| bits & (1 << b) != 0).map(move |b| word as u32 * 64 + b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{StreamId, TaskIx};
    use crate::record::ValueTag;

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
        let access = Access {
            task: TaskIx(position),
            seq: ord as u32,
            ord,
            site: 1,
            kind: AccessKind::Write,
            flags: ValueTag::Number as u8,
            value: value.to_bits(),
        };
        Entry { access, position }
    }

    #[test]
    fn a_group_keeps_first_last_and_the_last_write_of_another_value() {
        let mut shadow = LocationShadow::new(Location { stream: StreamId(1), address: 1 });
        let slot = shadow.slot_of(1, AccessKind::Write);
        assert_eq!(shadow.slot_of(1, AccessKind::Write), slot);
        let none = SlotSet::default();
        shadow.add(None, ChainIx(0), slot, write(1, 1, 5.0), &none);
        shadow.add(Some(0), ChainIx(0), slot, write(2, 2, 7.0), &none);
        shadow.add(Some(0), ChainIx(0), slot, write(3, 3, 7.0), &none);
        let group = &shadow.groups[0];
        assert_eq!((group.first.access.ord, group.last.access.ord), (1, 3));
        assert_eq!(group.last_differing.map(|e| e.access.ord), Some(1));
    }
}
