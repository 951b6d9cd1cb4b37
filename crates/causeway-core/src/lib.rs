//! Causeway's causal core.
//!
//! Turns the binary event records written by the runtime (docs/event-format.md) into a causal
//! DAG of tasks with chain-indexed vector clocks, answers happens-before queries over it, and
//! detects races on the property accesses it records (docs/detectors.md) and the root causes of
//! failures that cascade through awaits (failures.rs).
//! Built natively for tests and benchmarks, and to `wasm32-unknown-unknown` for
//! `packages/core`, which loads it in Node and browsers. No dependencies.

pub mod access;
pub mod anomalies;
pub mod clock;
pub mod failures;
pub mod ffi;
pub mod findings;
pub mod graph;
pub mod hash;
pub mod ids;
pub mod liveness;
pub mod locks;
pub mod queries;
pub mod races;
pub mod record;
pub mod schedule;
pub mod settle;
pub mod shadow;
pub mod trace;

#[cfg(test)]
mod race_reference;
#[cfg(test)]
mod testing;
