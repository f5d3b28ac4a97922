//! Native proof-of-work core of the miner (AshMaize). The algorithm lives in pure-Rust modules
//! (tested by `cargo test` without Python); `python` is the thin PyO3 binding.

pub mod blake2b;
pub mod count;
pub mod error;
pub mod lanes;
pub mod multi;
pub mod rom;
pub mod search;
pub mod vm;
pub mod window;

#[cfg(feature = "python")]
mod python;
