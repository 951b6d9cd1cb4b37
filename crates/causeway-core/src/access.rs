//! Property accesses as the race detector sees them: a `Read` or `Write` record, resolved to its
//! task and to its place in the stream.

use crate::ids::{StreamId, TaskIx};
use crate::record::{Kind, ValueTag, FLAG_DELETE, FLAG_UPDATE};

/// What an access did to its location.
///
/// An update (`x.n += 1`, `x.n++`) is one record that both reads and writes: it is a write for
/// pair races, and may play either the read or the write role of an atomicity pattern
/// (docs/detectors.md, "Definitions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum AccessKind {
    Read = 1,
    /// A plain assignment or a `delete`.
    Write = 2,
    /// A compound assignment or `++`/`--`: a read immediately followed by a write.
    Update = 3,
}

impl AccessKind {
    /// The access kind of a record, or `None` for records that are not accesses.
    pub fn of_record(kind: Kind, flags: u8) -> Option<AccessKind> {
        match kind {
            Kind::Read => Some(AccessKind::Read),
            Kind::Write if flags & FLAG_UPDATE != 0 => Some(AccessKind::Update),
            Kind::Write => Some(AccessKind::Write),
            _ => None,
        }
    }

    /// Can the access play the read role of a pattern?
    pub fn reads(self) -> bool {
        self != AccessKind::Write
    }

    /// Does the access write (for pair races and the write role of patterns)?
    pub fn writes(self) -> bool {
        self != AccessKind::Read
    }

    /// Can the access play a role that needs `view`?
    pub fn can(self, view: View) -> bool {
        match view {
            View::Read => self.reads(),
            View::Write => self.writes(),
        }
    }
}

/// The part an access plays in a pattern: its read or its write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Read,
    Write,
}

/// A location: one property of one object, in one stream (ids are per stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub stream: StreamId,
    /// The record's `a` field: object id in the low 32 bits, key id in the high 32.
    pub address: u64,
}

impl Location {
    pub fn object_id(self) -> u32 {
        self.address as u32
    }

    pub fn key_id(self) -> u32 {
        (self.address >> 32) as u32
    }
}

/// One recorded access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub task: TaskIx,
    /// The record's sequence number, as written (it wraps).
    pub seq: u32,
    /// The record's position in its stream: `seq` with wraps unwrapped. Accesses of one location
    /// share a stream, so comparing `ord` says which happened first in the recorded run.
    pub ord: u64,
    pub site: u32,
    pub kind: AccessKind,
    /// The record's flags: value tag in the low three bits, `FLAG_DELETE`, `FLAG_UPDATE`.
    pub flags: u8,
    /// The record's `b`: the value read or written, as the value tag says.
    pub value: u64,
}

impl Access {
    pub fn value_tag(&self) -> ValueTag {
        ValueTag::from_flags(self.flags)
    }

    /// Did both accesses carry the same captured value? Never when either value was not
    /// captured: an unknown value cannot be shown to be the same.
    pub fn same_value(&self, other: &Access) -> bool {
        let tag = self.value_tag();
        tag != ValueTag::None && tag == other.value_tag() && self.value == other.value
    }

    /// A read that saw `undefined`.
    pub fn reads_undefined(&self) -> bool {
        self.kind == AccessKind::Read && self.value_tag() == ValueTag::Undefined
    }

    /// A plain write (not an update, not a delete) of a captured value other than `undefined`:
    /// what initialises a location.
    pub fn stores_value(&self) -> bool {
        self.kind == AccessKind::Write
            && self.flags & FLAG_DELETE == 0
            && !matches!(self.value_tag(), ValueTag::Undefined | ValueTag::None)
    }

    /// Do two writes leave the same result in either order, so that their race is harmless? The
    /// same value written twice, or two updates (`x.n += d`), each a read and a write in one task,
    /// which JavaScript runs without interruption: neither can lose the other.
    pub fn commutes_with(&self, other: &Access) -> bool {
        self.same_value(other) || (self.kind == AccessKind::Update && other.kind == AccessKind::Update)
    }

    /// Is the race of two unordered accesses, at least one a write, harmless whichever runs first?
    /// Two writes that commute; or a read and an update: the update keeps every change whatever
    /// the read saw, so the order decides only the value read, and a read that a flow then writes
    /// back after an await is an atomicity violation, reported as such.
    pub fn race_is_harmless(&self, other: &Access) -> bool {
        match (self.kind.writes(), other.kind.writes()) {
            (true, true) => self.commutes_with(other),
            (true, false) => self.kind == AccessKind::Update,
            (false, true) => other.kind == AccessKind::Update,
            (false, false) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FLAG_DELETE;
    use crate::testing::access;

    fn write(flags: u8, value: u64) -> Access {
        Access { flags, value, ..access(0, 0, 1, AccessKind::Write) }
    }

    #[test]
    fn an_update_reads_and_writes_a_delete_only_writes() {
        assert_eq!(AccessKind::of_record(Kind::Write, FLAG_UPDATE | 1), Some(AccessKind::Update));
        assert_eq!(AccessKind::of_record(Kind::Write, FLAG_DELETE), Some(AccessKind::Write));
        assert_eq!(AccessKind::of_record(Kind::Read, 1), Some(AccessKind::Read));
        assert_eq!(AccessKind::of_record(Kind::FnEnter, 0), None);
        assert!(AccessKind::Update.can(View::Read) && AccessKind::Update.can(View::Write));
        assert!(!AccessKind::Write.can(View::Read) && !AccessKind::Read.can(View::Write));
    }

    #[test]
    fn only_captured_equal_values_are_the_same() {
        let five = 5f64.to_bits();
        assert!(write(ValueTag::Number as u8, five).same_value(&write(ValueTag::Number as u8, five)));
        assert!(!write(ValueTag::Number as u8, five).same_value(&write(ValueTag::Object as u8, five)));
        assert!(!write(ValueTag::None as u8, 0).same_value(&write(ValueTag::None as u8, 0)));
        assert!(write(ValueTag::True as u8, 0).same_value(&write(ValueTag::True as u8, 0)));
    }

    #[test]
    fn a_location_splits_into_object_and_key() {
        let loc = Location { stream: StreamId(1), address: 0x8000_0002_0000_0007 };
        assert_eq!((loc.object_id(), loc.key_id()), (7, 0x8000_0002));
    }
}
