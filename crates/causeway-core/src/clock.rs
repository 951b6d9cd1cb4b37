//! Vector clocks indexed by chain.
//!
//! Component `c` of a task's clock is the position of the latest task of chain `c` that happens
//! before (or is) the task; positions start at 1, 0 means "nothing of that chain".
//!
//! Clocks are sparse: only the chains of a task's ancestors have components. A server starts a
//! new chain for every request (a callback with no recorded cause), so a dense clock would be as
//! wide as the number of requests so far, for every task; a sparse one is as wide as the task's
//! own history, usually one to three chains.

use crate::ids::ChainIx;

/// A clock being built (the graph's scratch clock, and tests'): sorted, non-zero components.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorClock {
    /// Non-zero components, sorted by chain.
    entries: Vec<(ChainIx, u32)>,
}

/// A stored clock: the graph keeps every task's components in one arena (graph.rs), and hands
/// out views of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock<'a> {
    /// Non-zero components, sorted by chain.
    entries: &'a [(ChainIx, u32)],
}

impl<'a> Clock<'a> {
    /// A view of components sorted by chain, none zero.
    pub fn of(entries: &'a [(ChainIx, u32)]) -> Clock<'a> {
        Clock { entries }
    }

    /// The component for `chain`, 0 when the clock has never seen it.
    ///
    /// # Complexity
    /// O(log width).
    #[inline]
    pub fn get(self, chain: ChainIx) -> u32 {
        // Most clocks have a handful of components, where a scan beats a binary search.
        if self.entries.len() <= 8 {
            return self.entries.iter().find(|&&(c, _)| c == chain).map_or(0, |&(_, p)| p);
        }
        match self.entries.binary_search_by_key(&chain, |&(c, _)| c) {
            Ok(at) => self.entries[at].1,
            Err(_) => 0,
        }
    }

    /// Number of chains with a non-zero component.
    pub fn width(self) -> usize {
        self.entries.len()
    }

    /// The non-zero components, by chain.
    pub fn entries(self) -> &'a [(ChainIx, u32)] {
        self.entries
    }

    /// The components of chains `0..chains`, index = chain.
    pub fn to_dense(self, chains: usize) -> Vec<u32> {
        let mut dense = vec![0; chains];
        for &(chain, position) in self.entries {
            if let Some(slot) = dense.get_mut(chain.index()) {
                *slot = position;
            }
        }
        dense
    }
}

impl VectorClock {
    pub fn new() -> VectorClock {
        VectorClock { entries: Vec::new() }
    }

    pub fn view(&self) -> Clock<'_> {
        Clock::of(&self.entries)
    }

    /// The component for `chain`, 0 when the clock has never seen it.
    pub fn get(&self, chain: ChainIx) -> u32 {
        self.view().get(chain)
    }

    /// Back to all zero, keeping the memory.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn set(&mut self, chain: ChainIx, position: u32) {
        match self.entries.binary_search_by_key(&chain, |&(c, _)| c) {
            Ok(at) => self.entries[at].1 = position,
            Err(at) => self.entries.insert(at, (chain, position)),
        }
    }

    /// Raises every component to at least `other`'s. Merges in place, from the back: no
    /// allocation once the clock has room for the union.
    ///
    /// # Complexity
    /// O(width of `self` + width of `other`).
    pub fn join(&mut self, other: Clock<'_>) {
        let theirs = other.entries;
        if self.entries.is_empty() {
            self.entries.extend_from_slice(theirs);
            return;
        }
        let mine = self.entries.len();
        let (mut i, mut j, mut union) = (0, 0, 0);
        while i < mine && j < theirs.len() {
            let (a, b) = (self.entries[i].0, theirs[j].0);
            i += usize::from(a <= b);
            j += usize::from(b <= a);
            union += 1;
        }
        union += (mine - i) + (theirs.len() - j);
        self.entries.resize(union, (ChainIx(0), 0));
        let (mut i, mut j, mut k) = (mine, theirs.len(), union);
        // Entries of `self` below the remaining ones of `other` are already in place (k == i).
        while j > 0 {
            k -= 1;
            let b = theirs[j - 1];
            if i > 0 && self.entries[i - 1].0 >= b.0 {
                let a = self.entries[i - 1];
                i -= 1;
                if a.0 == b.0 {
                    j -= 1;
                    self.entries[k] = (a.0, a.1.max(b.1));
                } else {
                    self.entries[k] = a;
                }
            } else {
                j -= 1;
                self.entries[k] = b;
            }
        }
    }

    /// Number of chains with a non-zero component.
    pub fn width(&self) -> usize {
        self.entries.len()
    }

    /// The non-zero components, by chain.
    pub fn entries(&self) -> &[(ChainIx, u32)] {
        &self.entries
    }

    /// The components of chains `0..chains`, index = chain.
    pub fn to_dense(&self, chains: usize) -> Vec<u32> {
        self.view().to_dense(chains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    #[test]
    fn join_takes_the_componentwise_maximum() {
        let mut a = VectorClock::new();
        a.set(ChainIx(0), 3);
        a.set(ChainIx(2), 1);
        let mut b = VectorClock::new();
        b.set(ChainIx(1), 5);
        b.set(ChainIx(2), 4);
        a.join(b.view());
        assert_eq!(a.to_dense(3), vec![3, 5, 4]);
        assert_eq!(a.width(), 3);
    }

    #[test]
    fn an_unseen_chain_reads_as_zero() {
        let clock = VectorClock::new();
        assert_eq!(clock.get(ChainIx(9)), 0);
        assert_eq!(clock.width(), 0);
    }

    #[test]
    fn a_clock_stores_only_the_chains_it_has_seen() {
        let mut clock = VectorClock::new();
        clock.set(ChainIx(100_000), 2);
        assert_eq!(clock.entries(), &[(ChainIx(100_000), 2)]);
        assert_eq!(clock.get(ChainIx(100_000)), 2);
        assert_eq!(clock.get(ChainIx(99_999)), 0);
    }

    #[test]
    fn sparse_join_agrees_with_dense_join() {
        let mut rng = Rng::new(0xc10c);
        for _ in 0..500 {
            let mut clocks = [VectorClock::new(), VectorClock::new()];
            let mut dense = [vec![0u32; 12], vec![0u32; 12]];
            for (clock, dense) in clocks.iter_mut().zip(dense.iter_mut()) {
                for _ in 0..rng.below(8) {
                    let (chain, position) = (rng.below(12) as usize, 1 + rng.below(9) as u32);
                    clock.set(ChainIx(chain as u32), position);
                    dense[chain] = position;
                }
            }
            let [mut a, b] = clocks;
            a.join(b.view());
            let expected: Vec<u32> = dense[0].iter().zip(&dense[1]).map(|(x, y)| *x.max(y)).collect();
            assert_eq!(a.to_dense(12), expected);
            assert!(a.entries().windows(2).all(|w| w[0].0 < w[1].0));
        }
    }
}
