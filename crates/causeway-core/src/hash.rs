//! Maps for the core's integer keys: a fast, deterministic hasher, and a map for the few streams
//! of a trace.
//!
//! std's default SipHash is DoS-resistant but several times slower on the small integer keys the
//! core uses everywhere; keys here come from the runtime's own counters, not from attackers
//! choosing collisions, and a deterministic hash keeps the WebAssembly build reproducible.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::ids::StreamId;

/// Multiply-rotate hashing in the style of rustc's FxHasher.
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Per-stream state, looked up on every record: a trace has a handful of streams (one per
/// recorded process or thread) and ingests them a batch at a time, so the last stream asked for,
/// then a scan of the few keys, answers faster than hashing. O(streams) for a stream other than
/// the last one asked for.
#[derive(Clone, Debug)]
pub struct StreamMap<V> {
    keys: Vec<StreamId>,
    values: Vec<V>,
    /// Index of the last stream found.
    last: usize,
}

impl<V> Default for StreamMap<V> {
    fn default() -> StreamMap<V> {
        StreamMap { keys: Vec::new(), values: Vec::new(), last: 0 }
    }
}

impl<V> StreamMap<V> {
    #[inline]
    fn find(&self, stream: StreamId) -> Option<usize> {
        if self.keys.get(self.last) == Some(&stream) {
            return Some(self.last);
        }
        self.keys.iter().position(|&k| k == stream)
    }

    #[inline]
    pub fn get(&self, stream: StreamId) -> Option<&V> {
        self.find(stream).map(|at| &self.values[at])
    }

    #[inline]
    pub fn get_mut(&mut self, stream: StreamId) -> Option<&mut V> {
        let at = self.find(stream)?;
        self.last = at;
        Some(&mut self.values[at])
    }

    /// The stream's value, `V::default()` added first if the stream is new.
    #[inline]
    pub fn get_or_default(&mut self, stream: StreamId) -> &mut V
    where
        V: Default,
    {
        let at = match self.find(stream) {
            Some(at) => at,
            None => {
                self.keys.push(stream);
                self.values.push(V::default());
                self.keys.len() - 1
            }
        };
        self.last = at;
        &mut self.values[at]
    }

    /// Sets the stream's value; returns the one it replaces.
    #[inline]
    pub fn insert(&mut self, stream: StreamId, value: V) -> Option<V> {
        match self.find(stream) {
            Some(at) => {
                self.last = at;
                Some(std::mem::replace(&mut self.values[at], value))
            }
            None => {
                self.keys.push(stream);
                self.values.push(value);
                self.last = self.keys.len() - 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_map_keeps_each_streams_value_apart() {
        let mut map: StreamMap<u32> = StreamMap::default();
        assert_eq!(map.get(StreamId(1)), None);
        *map.get_or_default(StreamId(1)) += 5;
        assert_eq!(map.insert(StreamId(2), 7), None);
        *map.get_or_default(StreamId(1)) += 1;
        assert_eq!(map.get(StreamId(1)), Some(&6));
        assert_eq!(map.insert(StreamId(2), 8), Some(7));
        assert_eq!(map.get_mut(StreamId(2)).copied(), Some(8));
        assert_eq!(map.get(StreamId(3)), None);
    }
}
