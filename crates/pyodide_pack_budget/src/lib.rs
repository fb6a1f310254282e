//! Size budgets, the check after the pack: what `pack` ships (each output file, the eager
//! download, the lazy tier, the whole deployment, each package) measured in the compression the
//! budget names, against the limits of `[tool.pyodide-pack.budget]`, a recorded baseline
//! (`--baseline`, the change), and an allowed growth over that baseline (`--max-growth`).
//!
//! One [`BudgetReport`] carries it all; [`BudgetReport::render_text`] is the terminal's table,
//! [`BudgetReport::render_markdown`] a pull-request comment, and [`BudgetReport::breaches`] the
//! messages a failed check prints, the same for users and for the project's size bench.

#![warn(unreachable_pub)]

mod baseline;
mod check;
mod render;

pub use baseline::{Baseline, BASELINE_SCHEMA};
pub use check::{
    check_budget, BudgetReport, Counts, Item, ItemKind, Limit, MaxGrowth, SIZE_SCHEMA,
};

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a size baseline: {reason}")]
    BadBaseline {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("[tool.pyodide-pack.budget] files: {pattern:?} is not a valid glob: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("--max-growth {0:?}: write a percentage such as 1% or 0.5%")]
    BadGrowth(String),
}
