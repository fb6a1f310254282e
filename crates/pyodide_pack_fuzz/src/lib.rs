//! Fuzz targets, on stable Rust, for every reader of pyodide-pack that takes bytes from outside:
//! wheels (`wheel_zip`), wasm side modules (`wasm_facts`), Python sources (`python_facts`),
//! `pyproject.toml` (`pyproject`), saved traces (`trace_record`) and pack reports read back by
//! `why --report` (`pack_record`).
//!
//! Inputs are the seeds of [`seeds`] (real files from the cache, crafted hostile cases) and their
//! mutations by [`mutatis`]. Each input runs under bounds: a panic is caught, an input slower than
//! 2 s fails, an input that grows the live heap past [`harness::MEMORY_RULE`] fails (measured by
//! [`CountingAlloc`], which the binary or test must install), and an abort or a hang saves the
//! input before the process goes.
//!
//! `cargo run --release -p pyodide_pack_fuzz --bin fuzz -- --help` for the long run;
//! `tests/fuzz_short.rs` runs every target for a few seconds as part of `cargo test`.
#![warn(unreachable_pub)]

pub mod alloc;
pub mod crash;
pub mod harness;
pub mod seeds;
pub mod targets;

pub use alloc::CountingAlloc;
pub use harness::{check_input, fuzz, prepare, run_one, Config, Failure, Kind, Report};
pub use seeds::{seeds_for, Seed, SeedOptions};
pub use targets::{target, Target, TARGETS};
