//! Stage 4 of the pipeline: the dynamic fallback.
//!
//! Static analysis cannot see computed-name imports, plugins or data files read at run time.
//! [`runner`] runs the app under real Pyodide in Node (the harness this crate carries) and records
//! every import, file open and library load; [`record`] is the saved trace; [`merge`] turns what a
//! run touched into `runtime` edges of the dependency graph.
#![warn(unreachable_pub)]

mod error;
mod merge;
mod page;
mod record;
mod runner;

pub use error::TraceError;
pub use merge::{
    merge_traces, restrict_stdlib_to_touched, Observation, TraceFinding, TraceSummary,
};
pub use page::{run_page, ConsoleLine, PageRecord, PageRunRequest, PageTrace};
pub use record::{ImportEvent, ModuleOrigin, RunTimings, Trace, TraceRun, TRACE_SCHEMA};
pub use runner::{
    app_files, harness_digest, harness_error, install_harness, interrupt_runs, node_program,
    run_node_script, run_plan, run_traces, NodeOutcome, RunPlan, TraceProgress, TraceRequest,
    HARNESS_FILES,
};
