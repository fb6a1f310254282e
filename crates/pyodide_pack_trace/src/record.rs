//! A saved trace (schema `pyodide-pack/trace-1`): what each run of the app touched.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::TraceError;

pub const TRACE_SCHEMA: &str = "pyodide-pack/trace-1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub schema: String,
    pub tool_version: String,
    /// The entry script that was run.
    pub app: PathBuf,
    pub pyodide_version: Option<String>,
    pub runs: Vec<TraceRun>,
}

/// One run: the app alone, or the app followed by one input file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceRun {
    /// `app.py`, or `app.py + inputs/other.py`.
    pub label: String,
    pub input: Option<PathBuf>,
    /// Files opened for reading (directories left out), first open first.
    pub opened: Vec<String>,
    /// Dynamic libraries, in load order.
    pub dynlibs: Vec<String>,
    /// Every import the audit hook saw, in order, and whether the module was there at the end.
    pub imports: Vec<ImportEvent>,
    /// `sys.modules` at the end, with each module's origin (a path, `built-in`, `frozen`, or none).
    pub modules: Vec<ModuleOrigin>,
    pub stdout: String,
    pub timings: RunTimings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportEvent {
    pub module: String,
    pub found: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleOrigin {
    pub name: String,
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunTimings {
    pub load_pyodide_ms: f64,
    pub install_ms: f64,
    pub run_ms: f64,
    /// The whole Node process, start to exit.
    pub wall_ms: f64,
}

impl Trace {
    /// Reads a saved trace, refusing files that are not one.
    pub fn read(path: &Path) -> Result<Trace, TraceError> {
        let bad = |reason: String| TraceError::BadTraceFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON ({e})")))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(TRACE_SCHEMA) => {}
            Some(other) => return Err(bad(format!("schema {other:?}, expected {TRACE_SCHEMA:?}"))),
            None => return Err(bad(format!("no \"schema\": not a {TRACE_SCHEMA} file"))),
        }
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))
    }
}
