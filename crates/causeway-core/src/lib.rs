//! Causeway's causal core.
//!
//! Turns the binary event records written by the runtime (docs/event-format.md) into a causal
//! DAG of tasks with chain-indexed vector clocks, and answers happens-before queries over it.
//! Built natively for tests and benchmarks, and to `wasm32-unknown-unknown` for
//! `packages/core`, which loads it in Node and browsers. No dependencies.

pub mod clock;
pub mod ffi;
pub mod graph;
pub mod hash;
pub mod ids;
pub mod record;
pub mod trace;

#[cfg(test)]
mod testing;
