//! Race findings: what the detector reports, grouped by class, location and sites, and how the
//! report folds plain pair races into the atomicity violations that explain them.
//!
//! docs/detectors.md is the catalogue; the definitions there and here must agree.

use crate::access::{Access, AccessKind, Location, View};
use crate::hash::FastMap;

/// What kind of race a finding is. Values are the FFI's (ffi.rs, `cw_findings`); only add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum FindingClass {
    /// Read, then (after an await) write, with a remote write in between: the remote write is lost.
    LostUpdate = 1,
    /// Read, then read again, with a remote write in between: the two reads disagree.
    InconsistentRead = 2,
    /// Write, then write again, with a remote read in between: the remote read saw a state the
    /// flow meant to be temporary.
    IntermediateRead = 3,
    /// Write, then read back, with a remote write in between: the flow reads something other
    /// than what it wrote.
    OverwrittenWrite = 4,
    /// Two concurrent writes.
    WriteWrite = 5,
    /// A read and a concurrent write, in either order.
    ReadWrite = 6,
    /// A read that saw `undefined`, then a concurrent write of a value: a use before
    /// initialisation (order violation) that happened in this run.
    OrderViolation = 7,
}

impl FindingClass {
    /// The atomicity-violation classes, each a triple of accesses (first, remote, second).
    pub const PATTERNS: [FindingClass; 4] = [
        FindingClass::LostUpdate,
        FindingClass::InconsistentRead,
        FindingClass::IntermediateRead,
        FindingClass::OverwrittenWrite,
    ];

    /// What the first, remote and second access of a pattern class do; `None` for pair classes.
    pub const fn views(self) -> Option<[View; 3]> {
        use View::{Read as R, Write as W};
        match self {
            FindingClass::LostUpdate => Some([R, W, W]),
            FindingClass::InconsistentRead => Some([R, W, R]),
            FindingClass::IntermediateRead => Some([W, R, W]),
            FindingClass::OverwrittenWrite => Some([W, W, R]),
            FindingClass::WriteWrite | FindingClass::ReadWrite | FindingClass::OrderViolation => None,
        }
    }

    /// Can accesses of these kinds play this pattern's first, remote and second roles?
    ///
    /// # Complexity
    /// One table read (the detector asks for every pair of slots at every access).
    #[inline]
    pub fn fits(self, first: AccessKind, remote: AccessKind, second: AccessKind) -> bool {
        FindingClass::fitting(first, remote, second) & (1 << self as u8) != 0
    }

    /// The pattern classes that fit (`fits`), as bits `1 << class`: one table read for all four.
    #[inline]
    pub fn fitting(first: AccessKind, remote: AccessKind, second: AccessKind) -> u8 {
        FITS[first as usize][remote as usize][second as usize]
    }

    /// `fits`, worked out (the table `FITS` is built from it at compile time).
    const fn fits_by_rule_const(self, first: AccessKind, remote: AccessKind, second: AccessKind) -> bool {
        const fn can(kind: AccessKind, view: View) -> bool {
            match view {
                View::Read => !matches!(kind, AccessKind::Write),
                View::Write => !matches!(kind, AccessKind::Read),
            }
        }
        let Some([vx, vz, vy]) = self.views() else { return false };
        // An update reads afresh the value it writes, in one uninterrupted task: as the second
        // access it neither writes from the first access's stale read (lost update), nor puts two
        // reads side by side (inconsistent read), nor expects to read back its flow's write
        // (overwritten write).
        let fresh_update = matches!(second, AccessKind::Update)
            && matches!(
                self,
                FindingClass::LostUpdate | FindingClass::InconsistentRead | FindingClass::OverwrittenWrite
            );
        // Three updates are an accumulator (`hits += 1` in two flows): every order keeps every
        // change, and a value seen between two of one flow's updates is a count like any other.
        let accumulator = matches!(first, AccessKind::Update)
            && matches!(remote, AccessKind::Update)
            && matches!(second, AccessKind::Update);
        can(first, vx) && can(remote, vz) && can(second, vy) && !fresh_update && !accumulator
    }

    pub fn is_pattern(self) -> bool {
        self.views().is_some()
    }
}

const KINDS: [AccessKind; 3] = [AccessKind::Read, AccessKind::Write, AccessKind::Update];

/// For (first, remote, second) kinds, indexed by their values: a bit `1 << class` for each
/// pattern class they fit (`FindingClass::fits`).
static FITS: [[[u8; 4]; 4]; 4] = {
    let mut table = [[[0u8; 4]; 4]; 4];
    let mut i = 0;
    while i < 27 {
        let (x, z, y) = (KINDS[i / 9], KINDS[i / 3 % 3], KINDS[i % 3]);
        let mut c = 0;
        while c < 4 {
            let class = FindingClass::PATTERNS[c];
            if class.fits_by_rule_const(x, z, y) {
                table[x as usize][z as usize][y as usize] |= 1 << class as u8;
            }
            c += 1;
        }
        i += 1;
    }
    table
};

/// Why the detector believes a finding, most convincing first. Values are the FFI's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Evidence {
    /// The harmful interleaving of an atomicity violation happened in the recorded run.
    Observed = 1,
    /// Two accesses of a pair race that nothing orders.
    Concurrent = 2,
    /// An atomicity violation whose harmful interleaving was not recorded, but which nothing
    /// in the recorded causality prevents.
    Possible = 3,
}

/// The part an access plays in an instance. Values are the FFI's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Role {
    /// A pattern's first access (x), or the earlier-recorded access of a pair.
    First = 1,
    /// A pattern's remote access (z), from a task that could run between first and second.
    Remote = 2,
    /// A pattern's second access (y), or the later-recorded access of a pair.
    Second = 3,
}

/// What groups instances into one finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub class: FindingClass,
    pub location: Location,
    /// Patterns: the sites of (first, remote, second). `ReadWrite`: (read site, write site, 0).
    /// `WriteWrite`: (lower site, higher site, 0).
    pub sites: [u32; 3],
}

impl FindingKey {
    pub fn pattern(
        class: FindingClass,
        location: Location,
        first: u32,
        remote: u32,
        second: u32,
    ) -> FindingKey {
        FindingKey { class, location, sites: [first, remote, second] }
    }

    /// The key of a race between a read (or write) at `a` and a write at `b`.
    pub fn pair(location: Location, a: &Access, b: &Access) -> FindingKey {
        let (class, sites) = if !a.kind.writes() {
            let class = if used_before_initialised(a, b) {
                FindingClass::OrderViolation
            } else {
                FindingClass::ReadWrite
            };
            (class, [a.site, b.site, 0])
        } else if !b.kind.writes() {
            (FindingClass::ReadWrite, [b.site, a.site, 0])
        } else {
            (FindingClass::WriteWrite, [a.site.min(b.site), a.site.max(b.site), 0])
        };
        FindingKey { class, location, sites }
    }
}

/// Did `read`, recorded before the concurrent `write`, see `undefined` where `write` then stored
/// a value? Then the reader used the location before it was initialised.
fn used_before_initialised(read: &Access, write: &Access) -> bool {
    read.reads_undefined() && write.stores_value()
}

impl FindingClass {
    /// The evidence of a pair race of this class: an order violation's harmful order happened;
    /// other pairs were merely unordered.
    pub fn pair_evidence(self) -> Evidence {
        if self == FindingClass::OrderViolation {
            Evidence::Observed
        } else {
            Evidence::Concurrent
        }
    }
}

/// One concrete instance: the accesses, in role order (first, remote, second; pairs have no
/// remote).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    accesses: [Access; 3],
    len: u8,
}

impl Instance {
    pub fn pattern(first: Access, remote: Access, second: Access) -> Instance {
        Instance { accesses: [first, remote, second], len: 3 }
    }

    pub fn pair(first: Access, second: Access) -> Instance {
        Instance { accesses: [first, second, second], len: 2 }
    }

    /// The accesses with their roles, in role order.
    pub fn accesses(&self) -> impl Iterator<Item = (Role, &Access)> {
        let roles: &[Role] = if self.len == 3 {
            &[Role::First, Role::Remote, Role::Second]
        } else {
            &[Role::First, Role::Second]
        };
        roles.iter().copied().zip(self.accesses.iter())
    }

    /// The position in its stream of the instance's earliest access.
    pub fn first_ord(&self) -> u64 {
        self.accesses().map(|(_, a)| a.ord).min().unwrap_or(0)
    }
}

/// One finding: a class of race at one location between the same sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    pub key: FindingKey,
    /// The best evidence of any instance detected.
    pub evidence: Evidence,
    /// How many times an arriving access completed an instance, counted once per access and
    /// role it played (docs/detectors.md, "Occurrences").
    pub occurrences: u64,
    /// The first instance detected with the best evidence.
    pub example: Instance,
    /// The `ord` and role of the access that last counted an occurrence, so that an access
    /// counts once per role even when several shadow entries complete the same finding.
    last_counted: (u64, Role),
}

/// A finding as reported: after folding pair races into the atomicity violations that cover them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindingReport<'a> {
    pub finding: &'a Finding,
    /// For a pattern finding: how many pair-race findings it covers and hides.
    pub related: u32,
}

/// Every finding of a trace, by key.
#[derive(Default)]
pub struct Findings {
    index: FastMap<FindingKey, u32>,
    /// The last keys recorded, with their index: an access to a racy location completes the same
    /// few findings as the one before it, and comparing a key costs less than hashing it.
    recent: [Option<(FindingKey, u32)>; 4],
    /// Where the next key goes in `recent`.
    recent_next: usize,
    list: Vec<Finding>,
}

impl Findings {
    /// Counts an instance of `key` completed by the access at `ord` playing `role`. `instance`
    /// is only called when the finding is new or the evidence is better than any before; if it
    /// finds no instance (which would be a detector bug), nothing is recorded.
    pub fn record(
        &mut self,
        key: FindingKey,
        evidence: Evidence,
        ord: u64,
        role: Role,
        instance: impl FnOnce() -> Option<Instance>,
    ) {
        let cached = self.recent.iter().flatten().find(|(k, _)| *k == key).map(|&(_, ix)| ix);
        let known = cached.or_else(|| {
            let ix = self.index.get(&key).copied()?;
            self.recent[self.recent_next] = Some((key, ix));
            self.recent_next = (self.recent_next + 1) % self.recent.len();
            Some(ix)
        });
        match known {
            Some(ix) => {
                let finding = &mut self.list[ix as usize];
                if finding.last_counted != (ord, role) {
                    finding.last_counted = (ord, role);
                    finding.occurrences += 1;
                }
                if evidence < finding.evidence {
                    if let Some(example) = instance() {
                        finding.evidence = evidence;
                        finding.example = example;
                    }
                }
            }
            None => {
                let Some(example) = instance() else { return };
                self.index.insert(key, self.list.len() as u32);
                self.list.push(Finding { key, evidence, occurrences: 1, example, last_counted: (ord, role) });
            }
        }
    }

    /// Every finding, unfolded, in the order first detected.
    pub fn all(&self) -> &[Finding] {
        &self.list
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The findings to show: pair races covered by a pattern finding are left out and counted in
    /// its `related`; sorted most convincing first (observed violations, concurrent pairs,
    /// possible violations), then by the stream position of the example's earliest access.
    pub fn report(&self) -> Vec<FindingReport<'_>> {
        self.report_where(|_| true)
    }

    /// `report`, of the findings `keep` accepts only: a finding left out neither shows nor folds
    /// a pair race into itself.
    pub fn report_where(&self, keep: impl Fn(&Finding) -> bool) -> Vec<FindingReport<'_>> {
        let kept: Vec<bool> = self.list.iter().map(keep).collect();
        let mut patterns_at: FastMap<Location, Vec<usize>> = FastMap::default();
        for (ix, finding) in self.list.iter().enumerate() {
            if !kept[ix] {
                continue;
            }
            if finding.key.class.is_pattern() {
                patterns_at.entry(finding.key.location).or_default().push(ix);
            }
        }
        let mut related = vec![0u32; self.list.len()];
        let mut shown = Vec::with_capacity(self.list.len());
        for (ix, finding) in self.list.iter().enumerate() {
            if !kept[ix] {
                continue;
            }
            if finding.key.class.is_pattern() {
                shown.push(ix);
                continue;
            }
            let pair = [finding.key.sites[0], finding.key.sites[1]];
            let mut folded = false;
            for &p in patterns_at.get(&finding.key.location).map_or(&[][..], Vec::as_slice) {
                if covers(self.list[p].key.sites, pair) {
                    related[p] += 1;
                    folded = true;
                }
            }
            if !folded {
                shown.push(ix);
            }
        }
        let mut reports: Vec<FindingReport<'_>> = shown
            .into_iter()
            .map(|ix| FindingReport { finding: &self.list[ix], related: related[ix] })
            .collect();
        reports.sort_by_key(|r| (r.finding.evidence, r.finding.example.first_ord(), r.finding.key));
        reports
    }
}

/// Do two different roles of a pattern with sites `pattern` have the pair's two sites?
pub fn covers(pattern: [u32; 3], pair: [u32; 2]) -> bool {
    (0..3).any(|i| (0..3).any(|j| i != j && pattern[i] == pair[0] && pattern[j] == pair[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::AccessKind;
    use crate::ids::StreamId;
    use crate::testing;

    const LOC: Location = Location { stream: StreamId(1), address: 9 };

    /// An access in a task of its own, numbered like its record.
    fn access(ord: u64, site: u32, kind: AccessKind) -> Access {
        testing::access(ord as u32, ord, site, kind)
    }

    #[test]
    fn an_access_counts_once_per_role_and_better_evidence_replaces_the_example() {
        let mut findings = Findings::default();
        let key = FindingKey::pattern(FindingClass::LostUpdate, LOC, 1, 2, 2);
        let possible = Instance::pattern(
            access(1, 1, AccessKind::Read),
            access(5, 2, AccessKind::Write),
            access(4, 2, AccessKind::Write),
        );
        let observed = Instance::pattern(
            access(2, 1, AccessKind::Read),
            access(3, 2, AccessKind::Write),
            access(6, 2, AccessKind::Write),
        );
        findings.record(key, Evidence::Possible, 5, Role::Remote, || Some(possible));
        findings.record(key, Evidence::Possible, 5, Role::Remote, || Some(possible));
        findings.record(key, Evidence::Observed, 6, Role::Second, || Some(observed));
        findings.record(key, Evidence::Possible, 6, Role::Remote, || Some(possible));
        let finding = findings.all()[0];
        assert_eq!(finding.occurrences, 3);
        assert_eq!(finding.evidence, Evidence::Observed);
        assert_eq!(finding.example, observed);
    }

    #[test]
    fn a_pair_is_folded_into_each_pattern_whose_roles_have_both_its_sites() {
        assert!(covers([1, 2, 2], [2, 2]));
        assert!(covers([1, 2, 2], [1, 2]));
        assert!(!covers([1, 2, 1], [2, 2]));
        assert!(!covers([1, 2, 2], [1, 3]));

        let mut findings = Findings::default();
        let (r, w) = (access(1, 1, AccessKind::Read), access(2, 2, AccessKind::Write));
        let other = Location { address: 10, ..LOC };
        findings.record(FindingKey::pair(LOC, &w, &w), Evidence::Concurrent, 3, Role::Second, || {
            Some(Instance::pair(w, w))
        });
        findings.record(FindingKey::pair(LOC, &w, &r), Evidence::Concurrent, 3, Role::Second, || {
            Some(Instance::pair(w, r))
        });
        findings.record(FindingKey::pair(other, &w, &r), Evidence::Concurrent, 4, Role::Second, || {
            Some(Instance::pair(w, r))
        });
        findings.record(
            FindingKey::pattern(FindingClass::LostUpdate, LOC, 1, 2, 2),
            Evidence::Possible,
            4,
            Role::Second,
            || Some(Instance::pattern(r, w, w)),
        );
        let report = findings.report();
        let shown: Vec<_> =
            report.iter().map(|r| (r.finding.key.class, r.finding.key.location, r.related)).collect();
        assert_eq!(shown, vec![(FindingClass::ReadWrite, other, 0), (FindingClass::LostUpdate, LOC, 2)]);
    }

    #[test]
    fn the_fits_table_has_each_pattern_and_its_update_exceptions() {
        use AccessKind::{Read as R, Update as U, Write as W};
        use FindingClass::*;
        let fitting = |x, z, y| -> Vec<FindingClass> {
            FindingClass::PATTERNS.into_iter().filter(|c| c.fits(x, z, y)).collect()
        };
        assert_eq!(fitting(R, W, W), vec![LostUpdate]);
        assert_eq!(fitting(R, W, R), vec![InconsistentRead]);
        assert_eq!(fitting(W, R, W), vec![IntermediateRead]);
        assert_eq!(fitting(W, W, R), vec![OverwrittenWrite]);
        assert_eq!(fitting(R, U, U), vec![], "an update reads afresh");
        assert_eq!(fitting(U, W, W), vec![LostUpdate]);
        assert_eq!(fitting(W, U, U), vec![IntermediateRead]);
        assert_eq!(fitting(U, U, U), vec![], "an accumulator");
        assert_eq!(fitting(R, R, R), vec![]);
        assert!(!WriteWrite.fits(W, W, W) && !ReadWrite.fits(R, W, R));
    }

    #[test]
    fn pair_keys_name_the_read_site_first_and_order_write_sites() {
        let (r, w5, w3) = (
            access(1, 7, AccessKind::Read),
            access(2, 5, AccessKind::Write),
            access(3, 3, AccessKind::Update),
        );
        assert_eq!(FindingKey::pair(LOC, &w5, &r).sites, [7, 5, 0]);
        assert_eq!(FindingKey::pair(LOC, &r, &w5).class, FindingClass::ReadWrite);
        assert_eq!(FindingKey::pair(LOC, &w5, &w3), FindingKey::pair(LOC, &w3, &w5));
        assert_eq!(FindingKey::pair(LOC, &w5, &w3).sites, [3, 5, 0]);
    }
}
