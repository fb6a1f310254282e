//! The end-to-end tests, as one test binary: the CLI on real corpus apps, real runtimes and real
//! browsers. One binary (not one per file) so that the test threads go from one file's tests to
//! the next without waiting for the slowest test of each file, and so that the shared helpers
//! (`common`) are compiled and linked once. `cargo test --test suite runtimes::` runs one file.

mod common;

mod analyze_cli;
mod browser_cli;
mod caching;
mod corpus;
mod integrity;
mod loader_parts;
mod lock_cli;
mod pack_cli;
mod page;
mod page_cli;
mod report_html;
mod runtimes;
mod science;
mod size_regression;
mod tiers_cli;
mod trace_cli;
mod transfer_forms;
mod why_cli;
