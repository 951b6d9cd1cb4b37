//! Vector clocks indexed by chain.
//!
//! Component `c` of a task's clock is the position of the latest task of chain `c` that happens
//! before (or is) the task; positions start at 1, 0 means "nothing of that chain".

use crate::ids::ChainIx;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorClock {
    components: Vec<u32>,
}

impl VectorClock {
    pub fn new() -> VectorClock {
        VectorClock { components: Vec::new() }
    }

    /// The component for `chain`, 0 when the clock has never seen it.
    pub fn get(&self, chain: ChainIx) -> u32 {
        self.components.get(chain.index()).copied().unwrap_or(0)
    }

    pub fn set(&mut self, chain: ChainIx, position: u32) {
        if self.components.len() <= chain.index() {
            self.components.resize(chain.index() + 1, 0);
        }
        self.components[chain.index()] = position;
    }

    /// Raises every component to at least `other`'s.
    ///
    /// # Complexity
    /// O(width of `other`).
    pub fn join(&mut self, other: &VectorClock) {
        if self.components.len() < other.components.len() {
            self.components.resize(other.components.len(), 0);
        }
        for (mine, theirs) in self.components.iter_mut().zip(&other.components) {
            if *theirs > *mine {
                *mine = *theirs;
            }
        }
    }

    /// Number of chains this clock has a slot for (trailing zeros included).
    pub fn width(&self) -> usize {
        self.components.len()
    }

    /// The components, index = chain.
    pub fn components(&self) -> &[u32] {
        &self.components
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_takes_the_componentwise_maximum() {
        let mut a = VectorClock::new();
        a.set(ChainIx(0), 3);
        a.set(ChainIx(2), 1);
        let mut b = VectorClock::new();
        b.set(ChainIx(1), 5);
        b.set(ChainIx(2), 4);
        a.join(&b);
        assert_eq!(a.components(), &[3, 5, 4]);
    }

    #[test]
    fn an_unseen_chain_reads_as_zero() {
        let clock = VectorClock::new();
        assert_eq!(clock.get(ChainIx(9)), 0);
        assert_eq!(clock.width(), 0);
    }
}
